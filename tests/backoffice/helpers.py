"""Builders shared by the back-office tests (bodies the API accepts, and shortcuts through it)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, update

from tixtrace.backoffice.db.tables import tickets
from tixtrace.backoffice.domain.tickets import TicketAction
from tixtrace.backoffice.services.tickets import move_tickets
from tixtrace.kernel.db import unit_of_work

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
