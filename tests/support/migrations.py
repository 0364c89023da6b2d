"""Taking a test database back to an older migration, to test the upgrade from there.

The upgrade itself goes through ``kernel.db.migrate`` as in production; going down needs SQLite's
foreign keys off just as ``migrate`` turns them off (a rebuilt table is dropped, which would cascade).
"""

from __future__ import annotations

from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, MetaData, Table, select

from tixtrace.kernel.db import is_sqlite


def downgrade(engine: Engine, script_location: str, version_table: str, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", script_location)
    config.attributes["version_table"] = version_table
    with engine.connect() as conn:
        raw: Any = conn.connection.dbapi_connection
        if is_sqlite(engine):
            raw.execute("PRAGMA foreign_keys=OFF")
        try:
            config.attributes["connection"] = conn
            command.downgrade(config, revision)
            conn.commit()
        finally:
            if is_sqlite(engine):
                conn.rollback()
                raw.execute("PRAGMA foreign_keys=ON")


def reflected(conn: Connection, *names: str) -> list[Table]:
    """The tables as the database has them now (an old migration's columns, not today's)."""
    metadata = MetaData()
    return [Table(name, metadata, autoload_with=conn) for name in names]


def snapshot(conn: Connection, tables: list[Table]) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of these tables, in key order, with the columns the tables had when reflected."""
    return {table.name: [tuple(row) for row in conn.execute(select(table).order_by(*table.primary_key.columns))]
            for table in tables}
