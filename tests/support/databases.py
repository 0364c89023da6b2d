"""The databases of the tests (a pytest plugin: fixtures ``databases``, ``backend``, ``database_url``).

Database tests take the ``backend`` fixture and run twice: on SQLite and on PostgreSQL. PostgreSQL
is the server on 127.0.0.1:5432 (``TIXTRACE_TEST_POSTGRES_URL`` overrides the admin URL); each test
session creates its own databases (random names, so parallel sessions never meet) and drops them at
the end. When the server cannot be reached the PostgreSQL half is skipped with the reason, unless
``TIXTRACE_REQUIRE_POSTGRES=1`` (CI), where it fails instead.

Each test gets an empty, migrated database: SQLite copies a file migrated once per session;
PostgreSQL truncates the session's database.
"""

from __future__ import annotations

import importlib
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from tixtrace.kernel.db import make_engine, migrate

PG_ADMIN_URL = os.environ.get("TIXTRACE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REQUIRE_POSTGRES = os.environ.get("TIXTRACE_REQUIRE_POSTGRES") == "1"


def pg_url(database: str) -> str:
    base, _, _ = PG_ADMIN_URL.rpartition("/")
    return f"{base}/{database}"


def admin_engine() -> Engine:
    return create_engine(PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://", 1),
                         isolation_level="AUTOCOMMIT", pool_size=1)


class Databases:
    """Hands out empty migrated databases per service ("wallet", "backoffice") and backend."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.run_id = uuid.uuid4().hex[:8]
        self._sqlite_templates: dict[str, Path] = {}
        self._pg_databases: dict[str, tuple[str, Engine]] = {}
        self._pg_error: str | None = None
        self._pg_checked = False

    @staticmethod
    def _service(name: str):  # type: ignore[no-untyped-def]
        database = importlib.import_module(f"tixtrace.{name}.db.database")
        tables = importlib.import_module(f"tixtrace.{name}.db.tables")
        return database.SCRIPT_LOCATION, database.VERSION_TABLE, tables.metadata

    def postgres_problem(self) -> str | None:
        if not self._pg_checked:
            self._pg_checked = True
            try:
                engine = admin_engine()
                with engine.connect() as conn:
                    conn.execute(text("SELECT 1"))
                engine.dispose()
            except Exception as exc:  # any connection failure means "not here"
                self._pg_error = f"PostgreSQL not reachable at {PG_ADMIN_URL}: {type(exc).__name__}: {exc}"
        return self._pg_error

    def sqlite_url(self, service: str, directory: Path) -> str:
        template = self._sqlite_templates.get(service)
        if template is None:
            template = self.workdir / f"template-{service}.db"
            script_location, version_table, _ = self._service(service)
            engine = make_engine(f"sqlite:///{template}")
            migrate(engine, script_location, version_table)
            with engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            engine.dispose()
            self._sqlite_templates[service] = template
        target = directory / f"{service}.db"
        shutil.copyfile(template, target)
        return f"sqlite:///{target}"

    def postgres_url(self, service: str, second: bool = False) -> str:
        """``second``: another database of the service (two wallets in one test)."""
        script_location, version_table, metadata = self._service(service)
        slot = f"{service}-2" if second else service
        if slot not in self._pg_databases:
            name = f"tixtrace_test_{self.run_id}_{service}{'_2' if second else ''}"
            admin = admin_engine()
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            admin.dispose()
            engine = make_engine(pg_url(name))
            migrate(engine, script_location, version_table)
            self._pg_databases[slot] = (name, engine)
        name, engine = self._pg_databases[slot]
        tables = ", ".join(f'"{table.name}"' for table in metadata.sorted_tables)
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        return pg_url(name)

    def close(self) -> None:
        if not self._pg_databases:
            return
        admin = admin_engine()
        with admin.connect() as conn:
            for name, engine in self._pg_databases.values():
                engine.dispose()
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Databases]:
    dbs = Databases(tmp_path_factory.mktemp("databases"))
    yield dbs
    dbs.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest, databases: Databases) -> str:
    if request.param == "postgresql":
        problem = databases.postgres_problem()
        if problem:
            if REQUIRE_POSTGRES:
                pytest.fail(f"TIXTRACE_REQUIRE_POSTGRES=1 but {problem}")
            pytest.skip(problem)
    return str(request.param)


@pytest.fixture
def database_url(databases: Databases, backend: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    """``database_url("wallet")`` → the URL of an empty migrated database of that service;
    ``database_url("wallet", second=True)``: another one."""

    def make(service: str, second: bool = False) -> str:
        if backend == "sqlite":
            directory = tmp_path / "second" if second else tmp_path
            directory.mkdir(exist_ok=True)
            return databases.sqlite_url(service, directory)
        return databases.postgres_url(service, second)

    return make
