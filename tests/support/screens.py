"""Screen fixtures (a pytest plugin): the back-office app with its screens, a browser-like client
(cookies, no HTTP Basic), signed in or not, and a small seeded world made through the services
(distribution lines written directly, as the feedback would have).

Seeded story: ticket T1 was Ana's; she gave it to Bruno (CONFIRMED, Bruno is now its cultural contact
and owner); Bruno offered it to new.fan@example.com (PENDING, a temporary contact); an earlier offer
to gone@example.com failed (CANCELLED, its temporary contact removed). T2 is Bruno's, never synced;
T3 is Ana's and CANCELLED.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Engine, insert, update

from tests.support.backoffice import PASSWORD, START, USER
from tixtrace.backoffice.app import create_backoffice_app
from tixtrace.backoffice.db.tables import contact_emails, contacts, distribution_lines, tickets
from tixtrace.backoffice.domain.contacts import temporary_contact_fields
from tixtrace.backoffice.domain.search import name_keys
from tixtrace.backoffice.domain.tickets import TicketAction
from tixtrace.backoffice.services.contacts import NewContact, create_contact
from tixtrace.backoffice.services.events import NewEvent, create_event
from tixtrace.backoffice.services.interfaces import NewInterface, create_interface
from tixtrace.backoffice.services.schedules import NewSchedule, create_schedule
from tixtrace.backoffice.services.tickets import NewTicket, apply_action, create_ticket
from tixtrace.kernel.clock import TestClock
from tixtrace.kernel.db import unit_of_work

FEATURE = ("TIXNGO_LIFECYCLE_MODE=lifecycle\nenableTicketDistributionToCulturalContact=true\n"
           "overlaySpectatorDetailsWithLastOwner=true")
INTERFACE_PASSWORD = "Sup3r-Secret-Wallet-Key-42"
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def token_in(html: str) -> str:
    """The CSRF token of the first form of a page."""
    found = _TOKEN.search(html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def sign_in(client: TestClient, user: str = USER, password: str = PASSWORD, next_path: str | None = None) -> Response:
    page = client.get("/login" + (f"?next={next_path}" if next_path else ""))
    assert page.status_code == 200, page.text
    form = {"csrf_token": token_in(page.text), "user": user, "password": password, "next": next_path or ""}
    return client.post("/login", data=form, follow_redirects=False)


def post_form(client: TestClient, page_path: str, action: str, data: dict[str, str]) -> Response:
    """Post `data` to `action` with the CSRF token read from `page_path`, as a browser would."""
    token = token_in(client.get(page_path).text)
    return client.post(action, data={"csrf_token": token, **data}, follow_redirects=False)


@pytest.fixture
def app(engine: Engine, clock: TestClock) -> FastAPI:
    return create_backoffice_app(engine, clock)


@pytest.fixture
def web(app: FastAPI) -> Iterator[TestClient]:
    """A browser with no session; server errors come back as 500 pages (so tests can assert none)."""
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def browser(web: TestClient) -> TestClient:
    """A browser signed in as the operator."""
    response = sign_in(web)
    assert response.status_code == 303, response.text
    return web


@dataclass(frozen=True)
class World:
    ana: int
    bruno: int
    fan: int  # temporary contact of new.fan@example.com
    t1: int
    t2: int
    t3: int
    t1_number: str
    t2_number: str
    interface: int
    feedback: int  # RETRIEVE_TICKET_STATUS schedule
    push: int  # PUSH_CANCELLED schedule


@pytest.fixture
def world(engine: Engine) -> World:
    now = START
    with unit_of_work(engine) as conn:
        ana = create_contact(conn, NewContact(kind="INDIVIDUAL", first_name="Ana", last_name="Lima",
                                              email="ana@example.com", phone="+33 1 23 45 67 89"), now).id
        bruno = create_contact(conn, NewContact(kind="INDIVIDUAL", first_name="Bruno", last_name="Costa",
                                                email="bruno@example.com", has_internet_account=True), now).id
        fan_values = temporary_contact_fields("new.fan@example.com")  # what the feedback makes for a pending recipient
        fan = conn.execute(insert(contacts).values({**fan_values, "kind": fan_values["kind"].value,
                                                    **name_keys(fan_values["first_name"], fan_values["last_name"]),
                                                    "email_key": "new.fan@example.com", "created_at": now,
                                                    "updated_at": now}).returning(contacts.c.id)).scalar_one()
        conn.execute(insert(contact_emails).values(email_key="new.fan@example.com", contact_id=fan, created_at=now))
        create_event(conn, NewEvent("WC26-M01", "Opening match", START + timedelta(days=10), "Estadio Azteca",
                                    "Mexico City", "04650", "MX"), now)
        t1 = create_ticket(conn, NewTicket("WC26-M01", ana, buyer_contact_id=ana, number="1000000000000001",
                                           seat="A-12", price="120.50"), now)
        t2 = create_ticket(conn, NewTicket("WC26-M01", bruno, number="1000000000000002", seat="B-3"), now)
        t3 = create_ticket(conn, NewTicket("WC26-M01", ana, number="1000000000000003"), now)
        apply_action(conn, t3.id, TicketAction.CANCEL, now, actor="test")
        bruno_profile = {"firstName": "Bruno", "lastName": "Costa", "email": "bruno@example.com",
                         "nationality": "BRA"}
        conn.execute(update(tickets).where(tickets.c.id == t1.id).values(
            status="PRINTED", injected_at=now, cultural_contact_id=bruno, owner_contact_id=bruno,
            mobile_status="PENDING_TRANSFER", wallet_owner=bruno_profile,
            ticket_holder={"firstName": "Carla", "lastName": "Dias"}, last_synced_at=now + timedelta(hours=2)))
        line = {"ticket_id": t1.id, "recorded_at": now + timedelta(hours=2), "updated_at": now + timedelta(hours=2)}
        conn.execute(insert(distribution_lines), [
            {**line, "transfer_id": "tr-1", "action": "DISTRIBUTE", "old_contact_id": ana, "new_contact_id": bruno,
             "recipient_email": "bruno@example.com", "status": "CONFIRMED", "reason": None,
             "contact_match": "EXISTING", "initiated_at": now + timedelta(minutes=10),
             "resolved_at": now + timedelta(minutes=20), "opened_record_id": 10},
            {**line, "transfer_id": "tr-2", "action": "DISTRIBUTE", "old_contact_id": bruno, "new_contact_id": None,
             "recipient_email": "gone@example.com", "status": "CANCELLED", "reason": "EXPIRED",
             "contact_match": "CREATED_TEMPORARY", "initiated_at": now + timedelta(minutes=30),
             "resolved_at": now + timedelta(minutes=90), "opened_record_id": 20},
            {**line, "transfer_id": "tr-3", "action": "DISTRIBUTE", "old_contact_id": bruno, "new_contact_id": fan,
             "recipient_email": "new.fan@example.com", "status": "PENDING", "reason": None,
             "contact_match": "CREATED_TEMPORARY", "initiated_at": now + timedelta(minutes=100),
             "resolved_at": None, "opened_record_id": 30},
        ])
        interface = create_interface(conn, NewInterface(
            name="TIXNGO production", type="TIXNGO", url="http://127.0.0.1:9/organizer/tickets",
            login="admin@organizer.example", password=INTERFACE_PASSWORD,
            notification_emails=["ops@organizer.example"], custom_parameters=FEATURE), now, actor="test").id
        feedback = create_schedule(conn, interface, NewSchedule("RETRIEVE_TICKET_STATUS", "MANUAL"), now,
                                   actor="test").id
        push = create_schedule(conn, interface, NewSchedule("PUSH_CANCELLED", "MANUAL"), now, actor="test").id
    return World(ana=ana, bruno=bruno, fan=fan, t1=t1.id, t2=t2.id, t3=t3.id, t1_number=t1.number,
                 t2_number=t2.number, interface=interface, feedback=feedback, push=push)
