"""Browser test: Run now starts the execution in the background; the operator lands on its page at
once, sees it RUNNING (the button busy meanwhile), and the page follows it to OK without a reload by
hand (htmx polls its live part, then reloads the page with the full log). Then the global executions
list shows it, launched by the operator. Screenshots in ``test-artifacts/`` (see test_browser.py)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.support.browser import operator_signs_in, shot
from tests.support.system import FEATURE, System
from tixtrace.backoffice.app import create_backoffice_app
from tixtrace.backoffice.interfaces import runner
from tixtrace.backoffice.services.users import create_user
from tixtrace.kernel.db import unit_of_work
from tixtrace.kernel.serving import BackgroundServer


@pytest.fixture
def backend() -> str:
    return "sqlite"  # the screens are the same on both databases; their queries are tested on both elsewhere


pytestmark = [pytest.mark.browser, pytest.mark.slow]  # a slow tier (browser)


def test_run_now_runs_in_the_background_and_its_page_shows_running_then_ok(
        system: System, chromium: Any, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    with unit_of_work(system.engine) as conn:
        create_user(conn, "operator", "correct horse battery", datetime.now(UTC), actor="test")
    ana = system.contact("ana@example.com", "Ana", "Lima")
    system.ticket(ana)
    interface = system.interface(FEATURE)
    assert system.run(system.schedule(interface, "TICKETS_INJECTION"))["status"] == "OK"
    feedback = system.schedule(interface, "RETRIEVE_TICKET_STATUS")
    release = threading.Event()
    real = runner.FUNCTIONS["RETRIEVE_TICKET_STATUS"]

    def held_then_real(run: Any) -> None:  # the real feedback, once the test has seen it RUNNING
        assert release.wait(60), "the test never let the run go on"
        real(run)

    monkeypatch.setitem(runner.FUNCTIONS, "RETRIEVE_TICKET_STATUS", held_then_real)
    try:
        with BackgroundServer(create_backoffice_app(system.engine, system.clock)) as backoffice_url:
            operator = operator_signs_in(chromium, backoffice_url)
            operator.goto(f"{backoffice_url}/interfaces/{interface}")
            operator.click(f"button[data-run-schedule='{feedback}']")
            operator.wait_for_url("**/executions/**")
            status = operator.locator("#execution-status")
            assert status.get_attribute("data-status") == "RUNNING"
            assert " ".join(operator.inner_text("#launched-by").split()) == "launched by operator"
            assert "started" in operator.inner_text("#flash")
            shot(operator, "run-now-01-running")

            release.set()
            operator.wait_for_selector("#execution-status[data-status='OK']", timeout=30_000)
            assert operator.locator("#execution-live[hx-trigger]").count() == 0  # no more polling
            assert int(operator.inner_text("[data-counter='records_read']")) > 0
            shot(operator, "run-now-02-ok")

            operator.click("nav.mainnav a[href='/executions']")
            operator.wait_for_url("**/executions")
            row = operator.locator("#execution-list tr.execution").first
            assert row.get_attribute("data-status") == "OK"
            assert row.locator("td.launched-by").inner_text() == "operator"
            shot(operator, "run-now-03-executions-list")
    finally:
        release.set()
