"""Browser tests: a person uses the spectator app and the back-office screens in Chromium
(tests/support/browser.py: the system's Chromium, skipped without it unless TIXTRACE_REQUIRE_BROWSER=1;
screenshots in ``test-artifacts/``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.support.browser import operator_signs_in, shot
from tests.support.system import FEATURE, System
from tixtrace.backoffice.app import create_backoffice_app
from tixtrace.backoffice.services.users import create_user
from tixtrace.kernel.db import unit_of_work
from tixtrace.kernel.serving import BackgroundServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]  # a slow tier (browser)


@pytest.fixture
def backend() -> str:
    return "sqlite"  # the screens are the same on both databases; their queries are tested on both elsewhere




def _spectator_signs_in(chromium: Any, wallet_url: str, email: str) -> Any:
    page = chromium.new_context().new_page()
    page.goto(f"{wallet_url}/app/login")
    page.fill("#app-email", email)
    page.click("#app-signin")
    return page


def test_transfer_accepted_in_the_app_shows_in_the_distribution_history(system: System, chromium: Any) -> None:
    with unit_of_work(system.engine) as conn:
        create_user(conn, "operator", "correct horse battery", datetime.now(UTC), actor="test")
    ana = system.contact("ana@example.com", "Ana", "Lima")
    ticket = system.ticket(ana)
    interface = system.interface(FEATURE)
    assert system.run(system.schedule(interface, "TICKETS_INJECTION"))["status"] == "OK"
    feedback = system.schedule(interface, "RETRIEVE_TICKET_STATUS")

    with BackgroundServer(create_backoffice_app(system.engine, system.clock)) as backoffice_url:
        sender = _spectator_signs_in(chromium, system.base_url, "ana@example.com")
        form = sender.locator(f"form[data-transfer-ticket='{ticket['number']}']")
        form.locator("input[name=recipientEmail]").fill("bob@example.com")
        form.locator("button[type=submit]").click()
        sender.wait_for_selector("[data-cancel-transfer]")
        shot(sender, "01-sender-pending-transfer")

        recipient = _spectator_signs_in(chromium, system.base_url, "bob@example.com")
        recipient.goto(f"{system.base_url}/app/profile")
        recipient.fill("#profile-first-name", "Bob")
        recipient.fill("#profile-last-name", "Ross")
        recipient.click("#profile-save")
        recipient.locator("[data-accept-transfer]").first.click()
        recipient.wait_for_selector(f"form[data-transfer-ticket='{ticket['number']}']")
        shot(recipient, "02-recipient-accepted")

        operator = operator_signs_in(chromium, backoffice_url)
        operator.goto(f"{backoffice_url}/interfaces/{interface}")
        operator.click(f"button[data-run-schedule='{feedback}']")
        operator.wait_for_url("**/executions/**")
        operator.wait_for_selector("#execution-status[data-status='OK']", timeout=30_000)  # runs in the background
        shot(operator, "03-feedback-execution")

        operator.goto(f"{backoffice_url}/tickets/{ticket['id']}?tab=distribution")
        line = operator.locator("#distribution-history tr.line")
        assert line.count() == 1
        assert line.first.get_attribute("data-status") == "CONFIRMED"
        shot(operator, "04-distribution-history")
        operator.goto(f"{backoffice_url}/tickets/{ticket['id']}")
        assert "Bob" in operator.inner_text("#cultural-contact")
        assert "Ross" in operator.inner_text("#cultural-contact")


def test_custom_parameters_box_shows_the_inline_error(system: System, chromium: Any) -> None:
    with unit_of_work(system.engine) as conn:
        create_user(conn, "operator", "correct horse battery", datetime.now(UTC), actor="test")
    interface = system.interface(FEATURE)
    with BackgroundServer(create_backoffice_app(system.engine, system.clock)) as backoffice_url:
        operator = operator_signs_in(chromium, backoffice_url)
        operator.goto(f"{backoffice_url}/interfaces/{interface}")
        operator.fill("#custom-parameters", "TIXNGO_LIFECYCLE_MODE=lifecycle\n"
                                            "enableTicketDistributionToCulturalContact=yes")
        operator.click("#save-interface")
        errors = operator.locator("#parameter-errors li.parameter-error")
        errors.first.wait_for()
        text = errors.first.inner_text()
        assert "enableTicketDistributionToCulturalContact" in text and "yes" in text
        shot(operator, "05-custom-parameters-error")


def test_operator_edits_and_pauses_a_schedule_then_the_parameter_change_is_in_the_audit_log(
        system: System, chromium: Any) -> None:
    """O1 and O2 in the browser: the schedule page's form (every field), Pause, and the audit entry of a
    custom-parameter change on the interface page and in the audit list."""
    with unit_of_work(system.engine) as conn:
        create_user(conn, "operator", "correct horse battery", datetime.now(UTC), actor="test")
    interface = system.interface(FEATURE)
    feedback = system.schedule(interface, "RETRIEVE_TICKET_STATUS")
    with BackgroundServer(create_backoffice_app(system.engine, system.clock)) as backoffice_url:
        operator = operator_signs_in(chromium, backoffice_url)
        operator.goto(f"{backoffice_url}/interfaces/{interface}")
        operator.click(f"a[data-edit-schedule='{feedback}']")
        operator.wait_for_url(f"**/schedules/{feedback}")
        operator.select_option("#schedule-launch", "AUTOMATIC")
        operator.fill("#schedule-frequency", "10")
        operator.fill("#schedule-batch-size", "250")
        operator.fill("#schedule-starts-at", "2026-06-10T08:00")
        operator.fill("#schedule-skip", "T-1 T-2")
        operator.fill("#schedule-ends-at", "2026-06-01T00:00")  # before the start: the server refuses it
        operator.click("#save-schedule")
        error = operator.locator("#error-endsAt")
        error.wait_for()
        assert error.inner_text().startswith("Ends at (UTC):")
        assert operator.input_value("#schedule-frequency") == "10"  # what was typed is kept
        shot(operator, "06-schedule-refused-value")
        operator.fill("#schedule-ends-at", "")
        operator.click("#save-schedule")
        operator.wait_for_selector("#flash")
        assert "saved (active)" in operator.inner_text("#flash")
        assert operator.input_value("#schedule-frequency") == "10"
        assert operator.input_value("#schedule-starts-at") == "2026-06-10T08:00"
        operator.click("#pause-schedule")
        operator.wait_for_selector("#resume-schedule")
        assert operator.inner_text("#schedule-state") == "paused"
        actions = operator.locator("#audit-entries tr.audit-entry")
        assert actions.first.get_attribute("data-action") == "PAUSE"
        assert actions.nth(1).get_attribute("data-action") == "UPDATE"
        assert actions.first.get_attribute("data-actor") == "operator"
        shot(operator, "07-schedule-edited-and-paused")

        operator.goto(f"{backoffice_url}/interfaces/{interface}")
        assert operator.locator(f"tr[data-schedule-id='{feedback}']").inner_text().count("paused") == 1
        operator.fill("#custom-parameters", FEATURE + "\nticketIterationSize=300")
        operator.click("#save-interface")
        operator.wait_for_selector("#flash")
        entry = operator.locator("#audit-entries tr.audit-entry").first
        assert entry.get_attribute("data-action") == "UPDATE" and entry.get_attribute("data-actor") == "operator"
        change = entry.locator("dd[data-field='customParameters']")
        assert "ticketIterationSize=300" in change.locator(".after").inner_text()
        assert "ticketIterationSize=300" not in change.locator(".before").inner_text()
        shot(operator, "08-interface-parameter-change-audited")

        operator.click("nav.mainnav a[href='/audit']")
        operator.select_option("#audit-object-type", "interface")
        operator.click("#audit-filter")
        operator.wait_for_url("**/audit?objectType=interface**")
        assert operator.locator("#audit-entries tr.audit-entry").first.get_attribute("data-object-type") == "interface"
        shot(operator, "09-audit-log-filtered")
