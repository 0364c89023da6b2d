"""The back office for tests (a pytest plugin): an empty migrated database per test (SQLite and PostgreSQL)
with one user, the API app around it with a test clock, and builders (bodies the API accepts, shortcuts
through it).

The user's password hash is computed once per session (scrypt is slow on purpose) and inserted as is.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert, update

from tixtrace.backoffice.app import create_backoffice_app
from tixtrace.backoffice.db.tables import tickets, users
from tixtrace.backoffice.domain.tickets import TicketAction
from tixtrace.backoffice.services.tickets import move_tickets
from tixtrace.backoffice.services.users import hash_password
from tixtrace.kernel.clock import TestClock
from tixtrace.kernel.db import make_engine, unit_of_work

START = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
USER = "operator"
PASSWORD = "correct horse battery"

_serial = itertools.count(1)


def contact_body(**overrides: Any) -> dict[str, Any]:
    n = next(_serial)
    body: dict[str, Any] = {"kind": "INDIVIDUAL", "firstName": "Ana", "lastName": f"Lima{n}",
                            "email": f"ana{n}@example.com", "hasInternetAccount": False}
    body.update(overrides)
    return body


def event_body(**overrides: Any) -> dict[str, Any]:
    n = next(_serial)
    body: dict[str, Any] = {
        "code": f"WC26-M{n:03d}", "name": "Opening match", "startTime": "2026-06-11T19:00:00Z",
        "venue": {"site": "Estadio Azteca", "city": "Mexico City", "zip": "04650", "countryCode": "MX"},
    }
    body.update(overrides)
    return body


def interface_body(**overrides: Any) -> dict[str, Any]:
    n = next(_serial)
    body: dict[str, Any] = {
        "name": f"TIXNGO {n}", "type": "TIXNGO", "url": "http://127.0.0.1:8001/organizer/tickets",
        "login": "admin@organizer.example", "password": f"s3cret-api-key-{n}",
        "notificationEmails": ["ops@organizer.example"],
        "customParameters": "TIXNGO_LIFECYCLE_MODE=lifecycle\nenableTicketDistributionToCulturalContact=true\n"
                            "overlaySpectatorDetailsWithLastOwner=true",
    }
    body.update(overrides)
    return body


def created(client: TestClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(path, json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def new_contact(client: TestClient, **overrides: Any) -> dict[str, Any]:
    return created(client, "/api/contacts", contact_body(**overrides))


def new_event(client: TestClient, **overrides: Any) -> dict[str, Any]:
    return created(client, "/api/events", event_body(**overrides))


def new_ticket(client: TestClient, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = dict(overrides)
    if "eventCode" not in body:
        body["eventCode"] = new_event(client)["code"]
    if "culturalContactId" not in body:
        body["culturalContactId"] = new_contact(client)["id"]
    return created(client, "/api/tickets", body)


def mark_printed(engine: Engine, ticket_id: int) -> None:
    """What the injection does to an accepted ticket (there is no API for it)."""
    with unit_of_work(engine) as conn:
        move_tickets(conn, [ticket_id], TicketAction.PRINT, START, actor="injection")
        conn.execute(update(tickets).where(tickets.c.id == ticket_id).values(injected_at=START))


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
