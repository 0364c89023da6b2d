"""Schemathesis against the back office's OpenAPI document, on SQLite and PostgreSQL.

The back office holds a user (HTTP Basic, sent with every request), an event, contacts, tickets, a
TIXNGO interface pointing at a live wallet served over HTTP, one schedule per function and an
execution with its log, so many positive cases on id routes name resources that exist
(generated small ids hit them too). Nothing is excluded; two operations are pinned, and why:
- ``POST /api/schedules/{id}/run`` and ``/upload`` only run the seeded schedules: a generated id
  would reach a schedule the fuzzer created on an interface whose URL it also generated, i.e. send
  HTTP to an arbitrary host from CI (invalid ids are still generated in negative mode).
- ``PUT /api/interfaces/{id}`` only replaces a decoy interface, for the same reason: rewriting the
  seeded interface's URL would point the seeded schedules at an arbitrary host.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine

from tests.support.backoffice import PASSWORD, USER
from tests.support.fuzzing import fuzz
from tests.support.wallet import START
from tixtrace.backoffice.app import create_backoffice_app
from tixtrace.backoffice.interfaces.runner import run_schedule
from tixtrace.backoffice.services.contacts import NewContact, create_contact
from tixtrace.backoffice.services.events import NewEvent, create_event
from tixtrace.backoffice.services.interfaces import NewInterface, create_interface
from tixtrace.backoffice.services.schedules import NewSchedule, create_schedule
from tixtrace.backoffice.services.tickets import NewTicket, create_ticket
from tixtrace.kernel.clock import TestClock
from tixtrace.kernel.cursors import encode_cursor
from tixtrace.kernel.db import unit_of_work
from tixtrace.kernel.serving import BackgroundServer
from tixtrace.wallet.app import create_wallet_app
from tixtrace.wallet.db.database import open_wallet_database
from tixtrace.wallet.services.organizers import create_organizer

pytestmark = pytest.mark.slow  # a slow tier (schemathesis): `make test-fast` leaves it out

EXAMPLES = 30  # per operation and generation mode (some operations have fewer distinct inputs)
FEATURE = "TIXNGO_LIFECYCLE_MODE=lifecycle\nenableTicketDistributionToCulturalContact=true\n" \
          "overlaySpectatorDetailsWithLastOwner=true"
FUNCTIONS = ("TICKETS_INJECTION", "RETRIEVE_TICKET_STATUS", "PUSH_CANCELLED", "PUSH_CONTROLLED")


@pytest.fixture
def wallet_url(database_url: Any) -> Iterator[tuple[str, tuple[str, str]]]:
    """A live sandbox wallet over HTTP: its organizer URL and credentials."""
    engine = open_wallet_database(database_url("wallet"))
    with unit_of_work(engine) as conn:
        organizer, api_key = create_organizer(conn, TestClock(START), "org@wc26.example")
    with BackgroundServer(create_wallet_app(engine, sandbox=True)) as base_url:
        yield f"{base_url}/organizer/tickets", (organizer.email, api_key)
    engine.dispose()


def _seed(engine: Engine, url: str, auth: tuple[str, str], clock: TestClock) -> dict[str, list[int]]:
    now = datetime.now(UTC)
    with unit_of_work(engine) as conn:
        create_event(conn, NewEvent("WC26-M01", "Opening match", START, "Estadio Azteca", "Mexico City", "04650",
                                    "MX"), now)
        contact_ids = [int(create_contact(conn, NewContact(kind="INDIVIDUAL", first_name="Ana", last_name=f"Lima{n}",
                                                            email=f"ana{n}@example.com"), now).id)
                       for n in (1, 2)]
        ticket_ids = [int(create_ticket(conn, NewTicket("WC26-M01", contact_ids[n % 2]), now).id)
                      for n in range(4)]
        interface_id = int(create_interface(conn, NewInterface("tixngo", "TIXNGO", url, auth[0], auth[1], [],
                                                               FEATURE), now, actor="test").id)
        decoy_id = int(create_interface(conn, NewInterface("decoy", "TIXNGO", "http://127.0.0.1:9/organizer/tickets",
                                                           "a@b.example", "pw", [], ""), now, actor="test").id)
        schedule_ids = [int(create_schedule(conn, interface_id, NewSchedule(function, "MANUAL"), now, actor="test").id)
                        for function in FUNCTIONS]
    execution = run_schedule(engine, schedule_ids[0], clock=clock)  # injects the tickets: an execution with a log
    assert execution.status == "OK", execution
    return {"contact": contact_ids, "ticket": ticket_ids, "interface": [interface_id, decoy_id],
            "decoy": [decoy_id], "schedule": schedule_ids, "execution": [int(execution.id)]}


@pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")  # a run-now thread crashing
def test_every_backoffice_operation_answers_as_documented(engine: Engine, clock: TestClock,
                                                          wallet_url: tuple[str, tuple[str, str]]) -> None:
    """At least 1,000 generated requests (valid and invalid input, with a valid user) over every
    operation of the back office's document: no 5xx, every status declared, every body of the
    declared content type and schema, invalid input refused with a 4xx, and every ``/api`` operation
    refusing a request without (or with wrong) credentials with a 401."""
    ids = _seed(engine, *wallet_url, clock)
    app = create_backoffice_app(engine, clock)
    basic = {"Authorization": "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()}

    def headers(path: str) -> dict[str, str]:
        return basic if path.startswith(("/api/", "/metrics")) else {}

    fixed: dict[str, list[dict[str, Any]]] = {}
    pinned: dict[str, list[dict[str, Any]]] = {}
    for label, name, values in [
        ("GET /api/contacts/{contact_id}", "contact_id", ids["contact"]),
        ("GET /api/tickets/{ticket_id}", "ticket_id", ids["ticket"]),
        ("GET /api/tickets/{ticket_id}/distribution-history", "ticket_id", ids["ticket"]),
        ("POST /api/tickets/{ticket_id}/cancel", "ticket_id", ids["ticket"]),
        ("POST /api/tickets/{ticket_id}/invalidate", "ticket_id", ids["ticket"]),
        ("POST /api/tickets/{ticket_id}/control", "ticket_id", ids["ticket"]),
        ("POST /api/tickets/{ticket_id}/reprint", "ticket_id", ids["ticket"]),
        ("GET /api/interfaces/{interface_id}", "interface_id", ids["interface"]),
        ("POST /api/interfaces/{interface_id}/schedules", "interface_id", ids["interface"]),
        ("GET /api/interfaces/{interface_id}/schedules", "interface_id", ids["interface"]),
        ("GET /api/schedules/{schedule_id}", "schedule_id", ids["schedule"]),
        ("GET /api/executions/{execution_id}", "execution_id", ids["execution"]),
        ("GET /api/executions/{execution_id}/log", "execution_id", ids["execution"]),
    ]:
        fixed[label] = [{name: value} for value in values]
    for label in ("GET /api/events/{code}", "PATCH /api/events/{code}"):  # events are addressed by code
        fixed[label] = [{"code": "WC26-M01"}]
    pinned["PUT /api/interfaces/{interface_id}"] = [{"interface_id": value} for value in ids["decoy"]]
    for label in ("POST /api/schedules/{schedule_id}/run", "POST /api/schedules/{schedule_id}/upload"):
        pinned[label] = [{"schedule_id": value} for value in ids["schedule"]]

    try:
        sent = fuzz(app, headers, examples=EXAMPLES, fixed_paths=fixed, pinned=pinned)
    finally:  # runs started with wait=false end before the databases go
        for thread in threading.enumerate():
            if thread.name.startswith("run-now-"):
                thread.join(timeout=60)

    print(f"back office: {sum(sent.values())} requests over {len(sent)} operations")
    assert sum(sent.values()) >= 1000, sent


@pytest.mark.parametrize("path", ["/api/interfaces/{id}", "/api/schedules/{id}",
                                  "/api/interfaces/{id}/schedules", "/api/events?cursor={cursor}",
                                  "/api/interfaces?cursor={cursor}", "/api/interfaces/1/schedules?cursor={cursor}"])
def test_ids_beyond_32_bits_are_refused_where_tables_have_32_bit_ids(api: Any, path: str) -> None:
    """Found by the fuzzer on PostgreSQL: events, interfaces and schedules have 32-bit ids, so an id
    (or a list cursor) above 2**31 - 1 is a 422 with the envelope, not a 500 "integer out of range"."""
    big = 2**31
    response = api.get(path.format(id=big, cursor=encode_cursor(big)))
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] in {"INVALID_INPUT", "INVALID_CURSOR"}, response.text
    assert api.get(path.format(id=big - 1, cursor=encode_cursor(big - 1))).status_code in {200, 404}
