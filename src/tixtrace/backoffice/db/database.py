"""Opening the back office's database: engine + migrations to the latest revision (DESIGN section 7).

Every command that opens the database goes through `open_backoffice_database`, so a new SQLite file
just works and an old one is brought up to date before anything reads it.
"""

from __future__ import annotations

from sqlalchemy import Engine

from tixtrace.kernel.db import make_engine, migrate

SCRIPT_LOCATION = "tixtrace.backoffice.db:migrations"
VERSION_TABLE = "backoffice_alembic_version"


def open_backoffice_database(url: str) -> Engine:
    engine = make_engine(url)
    try:
        migrate(engine, SCRIPT_LOCATION, VERSION_TABLE)
    except BaseException:
        engine.dispose()
        raise
    return engine
