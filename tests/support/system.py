"""Both services together: a real wallet served over HTTP (uvicorn on loopback, sandbox clock) and a
back office whose TIXNGO interface points at it. The interface functions only ever talk HTTP.
(A pytest plugin: fixture ``system``.)"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from tests.support.wallet import START, Wallet
from tixtrace.backoffice.db.database import open_backoffice_database
from tixtrace.backoffice.db.tables import contacts, distribution_lines, tickets
from tixtrace.backoffice.interfaces.runner import run_schedule
from tixtrace.backoffice.services.contacts import NewContact, create_contact
from tixtrace.backoffice.services.events import NewEvent, create_event
from tixtrace.backoffice.services.interfaces import NewInterface, create_interface
from tixtrace.backoffice.services.schedules import NewSchedule, create_schedule
from tixtrace.backoffice.services.tickets import NewTicket, create_ticket
from tixtrace.kernel.clock import SystemClock, TestClock
from tixtrace.kernel.db import unit_of_work
from tixtrace.kernel.emails import normalize_email
from tixtrace.kernel.serving import BackgroundServer
from tixtrace.wallet.app import create_wallet_app
from tixtrace.wallet.db.database import open_wallet_database
from tixtrace.wallet.services.organizers import create_organizer

FEATURE = "TIXNGO_LIFECYCLE_MODE=lifecycle\nenableTicketDistributionToCulturalContact=true\n" \
          "overlaySpectatorDetailsWithLastOwner=true"


class System:
    """The back office and the wallet, with shortcuts to set up and inspect a scenario."""

    def __init__(self, backoffice: Engine, wallet: Wallet, base_url: str) -> None:
        self.engine = backoffice
        self.wallet = wallet
        self.base_url = base_url
        self.clock = SystemClock()
        now = datetime.now(UTC)
        with unit_of_work(backoffice) as conn:
            self.event = create_event(conn, NewEvent("WC26-M01", "Opening match", START, "Estadio Azteca",
                                                     "Mexico City", "04650", "MX"), now)
        self._interfaces: dict[str, int] = {}

    def contact(self, email: str, first: str = "Ana", last: str = "Lima", **extra: Any) -> int:
        with unit_of_work(self.engine) as conn:
            row = create_contact(conn, NewContact(kind=extra.pop("kind", "INDIVIDUAL"), last_name=last,
                                                  first_name=first, email=email, **extra), datetime.now(UTC))
        return int(row.id)

    def ticket(self, contact_id: int, **extra: Any) -> dict[str, Any]:
        with unit_of_work(self.engine) as conn:
            row = create_ticket(conn, NewTicket("WC26-M01", contact_id, **extra), datetime.now(UTC))
        return asdict(row)

    def interface(self, parameters: str = FEATURE, name: str = "tixngo") -> int:
        auth = self.wallet.auth
        with unit_of_work(self.engine) as conn:
            row = create_interface(conn, NewInterface(name, "TIXNGO", f"{self.base_url}/organizer/tickets", auth[0],
                                                      auth[1], [], parameters), datetime.now(UTC), actor="test")
        return int(row.id)

    def schedule(self, interface_id: int, function: str, **extra: Any) -> int:
        with unit_of_work(self.engine) as conn:
            row = create_schedule(conn, interface_id, NewSchedule(function, "MANUAL", **extra), datetime.now(UTC),
                                  actor="test")
        return int(row.id)

    def run(self, schedule_id: int) -> dict[str, Any]:
        return asdict(run_schedule(self.engine, schedule_id, clock=self.clock,
                                   client_options={"backoff_seconds": 0.01}))

    # inspection
    def ticket_row(self, number: str) -> dict[str, Any]:
        with unit_of_work(self.engine, write=False) as conn:
            return dict(conn.execute(select(tickets).where(tickets.c.number == number)).mappings().one())

    def lines(self, number: str) -> list[dict[str, Any]]:
        with unit_of_work(self.engine, write=False) as conn:
            ticket_id = conn.scalar(select(tickets.c.id).where(tickets.c.number == number))
            return [dict(r) for r in conn.execute(select(distribution_lines).where(
                distribution_lines.c.ticket_id == ticket_id).order_by(distribution_lines.c.id)).mappings()]

    def contacts_of(self, email: str) -> list[dict[str, Any]]:
        with unit_of_work(self.engine, write=False) as conn:
            return [dict(r) for r in conn.execute(select(contacts).where(
                contacts.c.email_key == normalize_email(email)).order_by(contacts.c.id)).mappings()]


@pytest.fixture
def system(database_url: Any) -> Iterator[System]:
    wallet_engine = open_wallet_database(database_url("wallet"))
    backoffice_engine = open_backoffice_database(database_url("backoffice"))
    clock = TestClock(START)
    with unit_of_work(wallet_engine) as conn:
        organizer, api_key = create_organizer(conn, clock, "org@wc26.example")
    app = create_wallet_app(wallet_engine, clock=clock, sandbox=True)
    with BackgroundServer(app) as base_url, TestClient(app) as client:
        yield System(backoffice_engine, Wallet(client, clock, (organizer.email, api_key)), base_url)
    backoffice_engine.dispose()
    wallet_engine.dispose()
