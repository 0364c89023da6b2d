"""``GET /metrics`` of the back office (issue 7): back-office credentials (HTTP Basic or the screens'
session), and figures that match what a small end-to-end scenario produced (executions, records
applied, contacts created, lines by status, parked records, feedback lag), plus request timings by
route template.

The scenario runs over HTTP against a real wallet (the ``system`` fixture), on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert

from tests.support.backoffice import PASSWORD, START, USER
from tests.support.feedback import accept, act, functions, new_ticket, run_ok, send
from tests.support.metrics import Samples, parse, value
from tests.support.screens import sign_in
from tests.support.system import System
from tixtrace.backoffice.app import create_backoffice_app
from tixtrace.backoffice.db.tables import parked_records, users
from tixtrace.backoffice.interfaces.runner import run_schedule
from tixtrace.kernel.clock import TestClock
from tixtrace.kernel.db import unit_of_work

ANA, BOB, CARA, DORA = "ana@example.com", "bob@example.com", "cara@example.com", "dora@example.com"
LAG = 42.0  # seconds between the feedback run's start and the scrape, on the test clocks


@pytest.fixture
def scrape_clock() -> TestClock:
    return TestClock(START)


@pytest.fixture
def bo(system: System, operator_hash: str, scrape_clock: TestClock) -> Iterator[TestClient]:
    """The back-office app over the system's database (its clock: ``scrape_clock``), signed in."""
    with unit_of_work(system.engine) as conn:
        conn.execute(insert(users).values(name=USER, password_hash=operator_hash, created_at=START))
    with TestClient(create_backoffice_app(system.engine, scrape_clock)) as client:
        client.auth = (USER, PASSWORD)
        yield client


def scrape(bo: TestClient) -> Samples:
    response = bo.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    return parse(response.text)


def feedback_at(system: System, schedule_id: int, clock: TestClock) -> dict[str, object]:
    execution = asdict(run_schedule(system.engine, schedule_id, clock=clock, client_options={"backoff_seconds": 0.01}))
    assert execution["status"] == "OK", execution
    return execution


def test_metrics_refuse_requests_without_a_back_office_user(system: System, bo: TestClient) -> None:
    """No credentials or a wrong password: 401 and no figures; the screens' session is accepted."""
    anonymous = TestClient(bo.app)  # no HTTP Basic, no session
    refused = anonymous.get("/metrics")
    assert refused.status_code == 401 and "tixtrace_" not in refused.text
    wrong = anonymous.get("/metrics", auth=(USER, "wrong password"))
    assert wrong.status_code == 401 and "tixtrace_" not in wrong.text
    assert sign_in(anonymous).status_code in (302, 303)
    session = anonymous.get("/metrics")
    assert session.status_code == 200 and "tixtrace_backoffice_executions" in session.text


def test_figures_match_a_feedback_scenario(system: System, bo: TestClient, scrape_clock: TestClock) -> None:
    """After an injection and one feedback run over three transfers (accepted, rejected, pending): one
    OK execution of each function, records applied = the wallet's records, contacts created = the
    run's counter, one line per status, nothing parked, the last record id is the wallet's last, and
    the lag is the time since the run started. A second run adds its records to the total."""
    ana = system.contact(ANA)
    given, refused, offered = (new_ticket(system, ana) for _ in range(3))
    injection, feedback = functions(system)
    before = scrape(bo)
    assert value(before, "tixtrace_backoffice_feedback_lag_seconds", schedule=str(feedback)) is None  # never ran
    assert value(before, "tixtrace_backoffice_parked_records", schedule=str(feedback)) == 0
    run_ok(system, injection)
    accept(system, BOB, send(system, ANA, given, BOB))
    act(system, CARA, send(system, ANA, refused, CARA), "reject")
    to_dora = send(system, ANA, offered, DORA)
    wallet_records = system.wallet.all_records()

    execution = feedback_at(system, feedback, TestClock(START))
    scrape_clock.advance(LAG)
    samples = scrape(bo)

    runs = "tixtrace_backoffice_executions"
    assert value(samples, runs, function="TICKETS_INJECTION", status="OK") == 1
    assert value(samples, runs, function="RETRIEVE_TICKET_STATUS", status="OK") == 1
    label = str(feedback)
    assert value(samples, "tixtrace_backoffice_feedback_records_applied_total", schedule=label) \
        == len(wallet_records) == execution["records_read"]
    created = value(samples, "tixtrace_backoffice_contacts_created_total", schedule=label)
    assert created == execution["contacts_created"] and created is not None and created >= 2  # Bob, Dora
    lines = {status: value(samples, "tixtrace_backoffice_distribution_lines", status=status)
             for status in ("PENDING", "CONFIRMED", "CANCELLED")}
    assert lines == {"PENDING": 1, "CONFIRMED": 1, "CANCELLED": 1}
    assert value(samples, "tixtrace_backoffice_parked_records", schedule=label) == 0
    assert value(samples, "tixtrace_backoffice_feedback_last_record_id", schedule=label) \
        == wallet_records[-1]["recordId"]
    assert value(samples, "tixtrace_backoffice_feedback_lag_seconds", schedule=label) == LAG
    assert value(samples, "tixtrace_backoffice_feedback_lag_seconds", schedule=str(injection)) is None

    act(system, ANA, to_dora, "cancel")  # one more record: FAILURE_TRANSFER
    more = len(system.wallet.all_records())
    second = feedback_at(system, feedback, TestClock(START + timedelta(seconds=LAG)))
    samples = scrape(bo)
    assert value(samples, runs, function="RETRIEVE_TICKET_STATUS", status="OK") == 2
    assert value(samples, "tixtrace_backoffice_feedback_records_applied_total", schedule=label) \
        == execution["records_read"] + second["records_read"] == more
    assert value(samples, "tixtrace_backoffice_feedback_lag_seconds", schedule=label) == 0


def test_parked_records_are_counted_per_schedule(system: System, bo: TestClient) -> None:
    """A parked record (doContinueInCaseOfSyncError) shows on its feedback schedule's gauge."""
    _, feedback = functions(system)
    with unit_of_work(system.engine) as conn:
        conn.execute(insert(parked_records).values(schedule_id=feedback, record_id=7, ticket_number="T1",
                                                   record={"recordId": 7}, error="test", parked_at=START))
    assert value(scrape(bo), "tixtrace_backoffice_parked_records", schedule=str(feedback)) == 1


def test_request_histogram_counts_requests_by_route_template_and_status(system: System, bo: TestClient) -> None:
    """Two ticket reads are one series of ``/api/tickets/{ticket_id}``; a refused request counts with
    its 401; an unknown ticket with its 404 under the same template."""
    ana = system.contact(ANA)
    first, second = new_ticket(system, ana), new_ticket(system, ana)
    for ticket in (first, second):
        assert bo.get(f"/api/tickets/{ticket['id']}").status_code == 200
    assert bo.get("/api/tickets/999999").status_code == 404
    assert TestClient(bo.app).get(f"/api/tickets/{first['id']}").status_code == 401

    samples = scrape(bo)
    count = "tixtrace_backoffice_http_request_duration_seconds_count"
    route = {"route": "/api/tickets/{ticket_id}", "method": "GET"}
    assert value(samples, count, status="200", **route) == 2
    assert value(samples, count, status="404", **route) == 1
    assert value(samples, count, status="401", **route) == 1
