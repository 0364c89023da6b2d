"""Browser tests: a person uses the spectator app and the back-office screens in Chromium.

Playwright drives the system's Chromium (Debian package; ``scripts/install-chromium.sh``), never a
downloaded browser. Without Chromium these tests skip with the reason, unless
``TIXTRACE_REQUIRE_BROWSER=1`` (CI), where they fail. Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.support.system import FEATURE, System
from tixtrace.backoffice.app import create_backoffice_app
from tixtrace.backoffice.services.users import create_user
from tixtrace.kernel.db import unit_of_work
from tixtrace.kernel.serving import BackgroundServer

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM = os.environ.get("TIXTRACE_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [pytest.mark.browser, pytest.mark.slow]  # a slow tier (browser)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if CHROMIUM is None:
        reason = "no Chromium found (install it with scripts/install-chromium.sh)"
        if os.environ.get("TIXTRACE_REQUIRE_BROWSER") == "1":
            pytest.fail(f"TIXTRACE_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        yield browser
        browser.close()


@pytest.fixture
def backend() -> str:
    return "sqlite"  # the screens are the same on both databases; their queries are tested on both elsewhere


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _spectator_signs_in(browser: Any, wallet_url: str, email: str) -> Any:
    page = browser.new_context().new_page()
    page.goto(f"{wallet_url}/app/login")
    page.fill("#app-email", email)
    page.click("#app-signin")
    return page


def _operator_logs_in(browser: Any, backoffice_url: str) -> Any:
    page = browser.new_context().new_page()
    page.goto(f"{backoffice_url}/login")
    page.fill("#login-user", "operator")
    page.fill("#login-password", "correct horse battery")
    page.click("#login-submit")
    page.wait_for_url(f"{backoffice_url}/tickets**")
    return page


def test_transfer_accepted_in_the_app_shows_in_the_distribution_history(system: System, browser: Any) -> None:
    with unit_of_work(system.engine) as conn:
        create_user(conn, "operator", "correct horse battery", datetime.now(UTC), actor="test")
    ana = system.contact("ana@example.com", "Ana", "Lima")
    ticket = system.ticket(ana)
    interface = system.interface(FEATURE)
    assert system.run(system.schedule(interface, "TICKETS_INJECTION"))["status"] == "OK"
    feedback = system.schedule(interface, "RETRIEVE_TICKET_STATUS")

    with BackgroundServer(create_backoffice_app(system.engine, system.clock)) as backoffice_url:
        sender = _spectator_signs_in(browser, system.base_url, "ana@example.com")
        form = sender.locator(f"form[data-transfer-ticket='{ticket['number']}']")
        form.locator("input[name=recipientEmail]").fill("bob@example.com")
        form.locator("button[type=submit]").click()
        sender.wait_for_selector("[data-cancel-transfer]")
        _shot(sender, "01-sender-pending-transfer")

        recipient = _spectator_signs_in(browser, system.base_url, "bob@example.com")
        recipient.goto(f"{system.base_url}/app/profile")
        recipient.fill("#profile-first-name", "Bob")
        recipient.fill("#profile-last-name", "Ross")
        recipient.click("#profile-save")
        recipient.locator("[data-accept-transfer]").first.click()
        recipient.wait_for_selector(f"form[data-transfer-ticket='{ticket['number']}']")
        _shot(recipient, "02-recipient-accepted")

        operator = _operator_logs_in(browser, backoffice_url)
        operator.goto(f"{backoffice_url}/interfaces/{interface}")
        operator.click(f"button[data-run-schedule='{feedback}']")
        operator.wait_for_url("**/executions/**")
        _shot(operator, "03-feedback-execution")

        operator.goto(f"{backoffice_url}/tickets/{ticket['id']}?tab=distribution")
        line = operator.locator("#distribution-history tr.line")
        assert line.count() == 1
        assert line.first.get_attribute("data-status") == "CONFIRMED"
        _shot(operator, "04-distribution-history")
        operator.goto(f"{backoffice_url}/tickets/{ticket['id']}")
        assert "Bob" in operator.inner_text("#cultural-contact")
        assert "Ross" in operator.inner_text("#cultural-contact")


def test_custom_parameters_box_shows_the_inline_error(system: System, browser: Any) -> None:
    with unit_of_work(system.engine) as conn:
        create_user(conn, "operator", "correct horse battery", datetime.now(UTC), actor="test")
    interface = system.interface(FEATURE)
    with BackgroundServer(create_backoffice_app(system.engine, system.clock)) as backoffice_url:
        operator = _operator_logs_in(browser, backoffice_url)
        operator.goto(f"{backoffice_url}/interfaces/{interface}")
        operator.fill("#custom-parameters", "TIXNGO_LIFECYCLE_MODE=lifecycle\n"
                                            "enableTicketDistributionToCulturalContact=yes")
        operator.click("#save-interface")
        errors = operator.locator("#parameter-errors li.parameter-error")
        errors.first.wait_for()
        text = errors.first.inner_text()
        assert "enableTicketDistributionToCulturalContact" in text and "yes" in text
        _shot(operator, "05-custom-parameters-error")
