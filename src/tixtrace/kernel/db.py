"""Engine factory, migrations and the unit of work, shared by both services' databases.

- SQLite (the default, a file per service) runs in WAL mode with foreign keys on; a writing unit
  of work starts with ``BEGIN IMMEDIATE`` so that two writers queue on the busy timeout instead of
  failing when a read transaction tries to upgrade to a write.
- A SQLite file is created readable by its owner only (`create_private_file`).
- PostgreSQL goes through psycopg 3; ``postgresql://`` URLs are accepted as they are.
- Every command that opens a database first brings it to the latest migration (``open_database``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
from alembic import command
from alembic.config import Config
from sqlalchemy import BigInteger, Connection, DateTime, Engine, Integer, MetaData, create_engine, event, text
from sqlalchemy.engine import make_url

from tixtrace.kernel.errors import BadInput, CommandCode

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


#: 64-bit ids; SQLite only makes an INTEGER PRIMARY KEY an alias of the rowid (auto-incrementing)
BigId = BigInteger().with_variant(Integer, "sqlite")
#: every time is timezone-aware UTC
Time = DateTime(timezone=True)


def new_metadata() -> MetaData:
    """A MetaData with stable constraint names, so migrations name them the same on both databases."""
    return MetaData(naming_convention=NAMING_CONVENTION)


def normalize_url(url: str) -> str:
    """Accept the URL forms people type and return the one SQLAlchemy needs (psycopg 3 for PostgreSQL)."""
    if not url or not url.strip():
        raise BadInput("a database URL is required (sqlite:///path/file.db or postgresql://...)",
                       code=CommandCode.INVALID_DATABASE_URL)
    url = url.strip()
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    try:
        parsed = make_url(url)
    except Exception as exc:  # sqlalchemy.exc.ArgumentError, ValueError
        raise BadInput(f"database URL {url!r} is not a URL; use sqlite:///path/file.db or postgresql://...",
                       code=CommandCode.INVALID_DATABASE_URL) from exc
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise BadInput(f"database URL {url!r}: only sqlite and postgresql are supported",
                       code=CommandCode.INVALID_DATABASE_URL)
    return url


def missing_sqlite_file(url: str) -> str | None:
    """The path of the SQLite file ``url`` names when it does not exist; None when it exists, is in
    memory, or ``url`` is PostgreSQL. Commands that may not create a database (DESIGN section 7) ask
    this before opening one: opening would create the file, and its directory, empty. BadInput
    INVALID_DATABASE_URL for a URL that is not one."""
    parsed = make_url(normalize_url(url))
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return None if Path(parsed.database).exists() else str(parsed.database)


def is_sqlite(engine_or_conn: Engine | Connection) -> bool:
    return engine_or_conn.dialect.name == "sqlite"


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def create_private_file(path: Path) -> None:
    """Create ``path`` (and its folder) readable and writable by its owner only (0600), unless it
    exists (an existing file keeps the mode its owner gave it). For a SQLite database this is the whole
    story: SQLite creates the ``-wal``, ``-shm`` and ``-journal`` files with the mode of the database
    file (DESIGN section 10: database files are readable by their owner only). An empty file is an
    empty SQLite database."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))


def make_engine(url: str, **kwargs: Any) -> Engine:
    url = normalize_url(url)
    kwargs = {"json_serializer": _json_dumps, "json_deserializer": orjson.loads, **kwargs}
    if url.startswith("sqlite"):
        database = make_url(url).database
        if database and database != ":memory:" and not database.startswith("file:"):
            create_private_file(Path(database))
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 60},
            pool_size=8,
            max_overflow=24,
            **kwargs,
        )

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (see _on_begin)
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=60000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
            conn.exec_driver_sql(f"BEGIN {mode}")

        return engine
    # No server-side prepared statements: a generic plan made while a table was small (a fresh database,
    # autovacuum off or behind a bulk load) would be kept and scan the whole table once it is large;
    # our page queries differ in their IN-list lengths anyway, so preparing them saves little.
    connect_args = {"prepare_threshold": None, **kwargs.pop("connect_args", {})}
    # pool_size 20: a connection beyond it (overflow) is closed when returned, so a server answering more
    # requests at once than the pool holds opened and closed a PostgreSQL connection (a server process)
    # per request at 50 clients (benchmarks/RESULTS.md, "CPU per request"); the total stays 30 a process.
    return create_engine(url, pool_size=20, max_overflow=10, pool_pre_ping=True, connect_args=connect_args, **kwargs)


@contextmanager
def unit_of_work(engine: Engine, *, write: bool = True) -> Iterator[Connection]:
    """One unit of work = one connection = one transaction, committed when the block ends normally
    and rolled back if it raises (house rule 2: nothing half-written)."""
    with engine.connect() as conn:
        if write and is_sqlite(engine):
            conn.execution_options(sqlite_begin="IMMEDIATE")
        with conn.begin():
            yield conn


def migrate(engine: Engine, script_location: str, version_table: str) -> None:
    """Bring the database to the latest migration of ``script_location`` ("package:folder").

    On PostgreSQL an advisory lock keeps two processes from migrating the same database at once. On
    SQLite foreign keys are off while migrations run: rebuilding a table (batch mode) drops the old one,
    which with foreign keys on would first delete its rows and cascade to their children (a migration
    that rebuilds tables checks the references itself, ``PRAGMA foreign_key_check``).
    """
    config = Config()
    config.set_main_option("script_location", script_location)
    config.attributes["version_table"] = version_table
    with engine.connect() as conn:
        if not is_sqlite(engine):
            conn.execute(text("SELECT pg_advisory_lock(hashtext(:name))"), {"name": version_table})
            conn.commit()
        else:
            _sqlite_foreign_keys(conn, on=False)
        try:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
            conn.commit()
        finally:
            if not is_sqlite(engine):
                conn.execute(text("SELECT pg_advisory_unlock(hashtext(:name))"), {"name": version_table})
                conn.commit()
            else:
                _sqlite_foreign_keys(conn, on=True)


def _sqlite_foreign_keys(conn: Connection, *, on: bool) -> None:
    """Switch SQLite's foreign keys on this connection; the pragma is ignored inside a transaction, so
    whatever is open is ended first (after a commit, a rollback does nothing)."""
    conn.rollback()
    conn.connection.dbapi_connection.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")  # type: ignore[union-attr]


def run_migrations_online(context: Any, target_metadata: MetaData) -> None:
    """The body of each service's Alembic ``env.py``: run on the connection ``migrate`` handed over."""
    connection = context.config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        version_table=context.config.attributes["version_table"],
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
