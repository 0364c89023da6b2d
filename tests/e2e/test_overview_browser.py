"""Browser test of the home screen (issue 13 item 1): after sign-in the operator lands on the overview,
which shows a failing schedule (its wallet is down) and a schedule with a parked record, and goes from
there to the failed execution and to the parked record in one click each. Screenshots go to
``test-artifacts/`` like the other browser tests'."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.support.browser import operator_signs_in, shot
from tests.support.feedback import ANA, BOB, Rewriting, corrupt, new_ticket, record_of, send
from tests.support.system import FEATURE, System
from tixtrace.backoffice.app import create_backoffice_app
from tixtrace.backoffice.interfaces.runner import run_schedule
from tixtrace.backoffice.services.interfaces import NewInterface, create_interface
from tixtrace.backoffice.services.users import create_user
from tixtrace.kernel.db import unit_of_work
from tixtrace.kernel.serving import BackgroundServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]  # a slow tier (browser)


@pytest.fixture
def backend() -> str:
    return "sqlite"  # the screens are the same on both databases; the overview's queries are tested on both


def test_overview_shows_a_failing_and_a_parked_schedule(system: System, chromium: Any) -> None:
    with unit_of_work(system.engine) as conn:
        create_user(conn, "operator", "correct horse battery", datetime.now(UTC), actor="test")
        down = create_interface(conn, NewInterface("wallet down", "TIXNGO", "http://127.0.0.1:9/organizer/tickets",
                                                   "org@wc26.example", "no-key", [], FEATURE), datetime.now(UTC),
                                actor="test").id
    ticket = new_ticket(system, system.contact(ANA))
    parking = system.interface(f"{FEATURE}\ndoContinueInCaseOfSyncError=true", name="stadium wallet")
    assert system.run(system.schedule(parking, "TICKETS_INJECTION"))["status"] == "OK"
    feedback = system.schedule(parking, "RETRIEVE_TICKET_STATUS")
    send(system, ANA, ticket, BOB)
    spoiled = record_of(system, ticket, "PENDING_TRANSFER")["recordId"]
    warned = run_schedule(system.engine, feedback, clock=system.clock, client_options={"backoff_seconds": 0.01},
                          transport=Rewriting(corrupt(spoiled, status="TELEPORTED")))
    assert warned.status == "WARNING"
    failing = system.schedule(down, "RETRIEVE_TICKET_STATUS")
    failed = run_schedule(system.engine, failing, clock=system.clock, client_options={"backoff_seconds": 0.01})
    assert failed.status == "ERROR"

    with BackgroundServer(create_backoffice_app(system.engine, system.clock)) as backoffice_url:
        operator = operator_signs_in(chromium, backoffice_url)  # lands on the overview
        assert operator.inner_text("h1") == "Overview"
        failing_row = operator.locator(f"tr.overview-schedule[data-schedule-id='{failing}']")
        assert "FAILING" in (failing_row.get_attribute("data-alerts") or "")
        assert "ERROR" in failing_row.locator("td.last-execution").inner_text()
        parked_row = operator.locator(f"tr.overview-schedule[data-schedule-id='{feedback}']")
        assert parked_row.get_attribute("data-alerts") == "PARKED"
        assert parked_row.locator("td.parked").inner_text() == "1"
        assert operator.locator("[data-figure=errors]").inner_text() == "1"
        shot(operator, "06-overview-failing-and-parked")

        operator.locator(f"#executions-in-error a[href='/executions/{failed.id}']").click()  # one click: why
        operator.wait_for_url(f"**/executions/{failed.id}")
        assert operator.locator("#execution-status").get_attribute("data-status") == "ERROR"

        operator.goto(f"{backoffice_url}/")
        parked_row = operator.locator(f"tr.overview-schedule[data-schedule-id='{feedback}']")
        parked_row.locator("td.parked a").click()  # one click: which record, which ticket, why
        operator.wait_for_url(f"**/interfaces/{parking}#parked-records")
        record = operator.locator(f"#parked-records tr.parked[data-record-id='{spoiled}']")
        assert ticket["number"] in record.inner_text() and "TELEPORTED" in record.inner_text()
        shot(operator, "07-interface-parked-records")
