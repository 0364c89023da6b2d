"""Every screen, in Chromium: no axe-core violation (WCAG 2.1 A and AA, and axe's best practices), and
nothing wider than a 390-pixel phone. One scenario fills every kind of screen (a ticket with a pending
and a confirmed transfer, contacts, an interface with its schedules and executions); each page is
checked at desktop width for axe and at phone width for overflow, and every failure is listed at once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.support.browser import PHONE_WIDTH, axe_violations, overflow, shot
from tests.support.system import FEATURE, System
from tixtrace.backoffice.app import create_backoffice_app
from tixtrace.backoffice.services.users import create_user
from tixtrace.kernel.db import unit_of_work
from tixtrace.kernel.serving import BackgroundServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]  # a slow tier (browser)


@pytest.fixture
def backend() -> str:
    return "sqlite"  # the screens are the same on both databases


def _scenario(system: System) -> dict[str, Any]:
    """A back office with something on every screen; returns the ids the addresses need."""
    with unit_of_work(system.engine) as conn:
        create_user(conn, "operator", "correct horse battery", datetime.now(UTC), actor="test")
    ana = system.contact("ana@example.com", "Ana", "Lima", phone="+33 6 12 34 56 78")
    first, second = system.ticket(ana), system.ticket(ana)
    interface = system.interface(FEATURE)
    injection = system.schedule(interface, "TICKETS_INJECTION")
    assert system.run(injection)["status"] == "OK"
    feedback = system.schedule(interface, "RETRIEVE_TICKET_STATUS")
    system.wallet.transfer("ana@example.com", first["number"], "bob@example.com")
    accepted = system.wallet.transfer("ana@example.com", second["number"], "cid@example.com").json()["transferId"]
    system.wallet.profile("cid@example.com", "Cid", "Moreau")
    system.wallet.act("cid@example.com", accepted, "accept")
    execution = system.run(feedback)
    assert execution["status"] == "OK", execution
    return {"ticket": first["id"], "other": second["id"], "contact": ana, "interface": interface,
            "schedule": feedback, "execution": execution["id"]}


def _backoffice_pages(ids: dict[str, Any]) -> list[str]:
    ticket, schedule = ids["ticket"], ids["schedule"]
    return ["/", "/tickets", "/tickets?event=WC26-M01", f"/tickets/{ticket}",
            f"/tickets/{ticket}?tab=distribution", f"/tickets/{ticket}?tab=mobile", f"/tickets/{ticket}?tab=history",
            f"/tickets/{ids['other']}?tab=distribution", f"/tickets/{ticket}/actions/cancel",
            f"/tickets/{ticket}/actions/transfer", "/events", "/events/WC26-M01",
            "/events/WC26-M01/edit", "/contacts", f"/contacts/{ids['contact']}", "/interfaces", "/interfaces/new",
            f"/interfaces/{ids['interface']}", f"/schedules/{schedule}", f"/schedules/{schedule}/executions",
            "/executions", f"/executions/{ids['execution']}", "/audit", "/users/1"]


def _check(page: Any, url: str, name: str, failures: list[str]) -> None:
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(url)
    failures += [f"{url}: axe {line}" for line in axe_violations(page)]
    page.set_viewport_size({"width": PHONE_WIDTH, "height": 844})
    page.wait_for_timeout(50)  # one layout after the resize
    failures += [f"{url} at {PHONE_WIDTH}px: {line}" for line in overflow(page)]
    shot(page, f"phone-{name}")


def test_every_backoffice_screen_passes_axe_and_fits_a_phone(system: System, chromium: Any) -> None:
    ids = _scenario(system)
    failures: list[str] = []
    with BackgroundServer(create_backoffice_app(system.engine, system.clock)) as base:
        page = chromium.new_context(bypass_csp=True).new_page()  # axe is injected as a script
        _check(page, f"{base}/login", "backoffice-login", failures)
        page.fill("#login-user", "operator")
        page.fill("#login-password", "correct horse battery")
        page.click("#login-submit")
        page.wait_for_load_state()
        for path in _backoffice_pages(ids):
            name = "backoffice" + path.replace("/", "-").replace("?tab=", "-").replace("?", "-")
            _check(page, f"{base}{path}", name, failures)
    assert failures == [], "\n".join(failures)


def test_every_wallet_screen_passes_axe_and_fits_a_phone(system: System, chromium: Any) -> None:
    _scenario(system)
    failures: list[str] = []
    page = chromium.new_context(bypass_csp=True).new_page()  # axe is injected as a script
    _check(page, f"{system.base_url}/app/login", "wallet-login", failures)
    page.fill("#app-email", "bob@example.com")  # he has a transfer waiting
    page.click("#app-signin")
    page.wait_for_load_state()
    for path in ("/app", "/app/profile"):
        _check(page, f"{system.base_url}{path}", "wallet" + path.replace("/", "-"), failures)
    assert failures == [], "\n".join(failures)
