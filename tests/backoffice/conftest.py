"""Back-office fixtures: an empty migrated database per test (SQLite and PostgreSQL), with one user,
and the API app around it with a test clock.

The user's password hash is computed once per session (scrypt is slow on purpose) and inserted as is.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert

from tests.backoffice.helpers import PASSWORD, START, USER
from tixtrace.backoffice.app import create_backoffice_app
from tixtrace.backoffice.db.tables import users
from tixtrace.backoffice.services.users import hash_password
from tixtrace.kernel.clock import TestClock
from tixtrace.kernel.db import make_engine, unit_of_work


@pytest.fixture(scope="session")
def operator_hash() -> str:
    return hash_password(PASSWORD)


@pytest.fixture
def backoffice_url(database_url) -> str:  # type: ignore[no-untyped-def]
    return str(database_url("backoffice"))


@pytest.fixture
def engine(backoffice_url: str, operator_hash: str) -> Iterator[Engine]:
    engine = make_engine(backoffice_url)
    with unit_of_work(engine) as conn:
        conn.execute(insert(users).values(name=USER, password_hash=operator_hash, created_at=START))
    yield engine
    engine.dispose()


@pytest.fixture
def clock() -> TestClock:
    return TestClock(START)


@pytest.fixture
def api(engine: Engine, clock: TestClock) -> Iterator[TestClient]:
    """The back-office API signed in as the operator; server errors come back as 500 responses."""
    with TestClient(create_backoffice_app(engine, clock), raise_server_exceptions=False) as client:
        client.auth = (USER, PASSWORD)
        yield client
