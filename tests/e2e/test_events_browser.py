"""Browser tests of the events screens: the operator opens Events from the nav, creates an event with its
maxTransfers, reads an event's figures and edits it. Screenshots go to ``test-artifacts/``."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine

from tests.support.browser import operator_signs_in, shot
from tests.support.screens import World
from tixtrace.backoffice.app import create_backoffice_app
from tixtrace.kernel.clock import TestClock
from tixtrace.kernel.serving import BackgroundServer


@pytest.fixture
def backend() -> str:
    return "sqlite"  # the screens are the same on both databases; their queries are tested on both elsewhere


pytestmark = [pytest.mark.browser, pytest.mark.slow]  # a slow tier (browser)


def test_create_read_and_edit_an_event(chromium: Any, world: World, engine: Engine,  # noqa: F811
                                       clock: TestClock) -> None:
    with BackgroundServer(create_backoffice_app(engine, clock)) as url:
        operator = operator_signs_in(chromium, url)
        operator.click("nav.mainnav >> text=Events")
        operator.wait_for_url(f"{url}/events")
        row = operator.locator("tr.event[data-event-code='WC26-M01']")
        assert row.locator("td.tickets").inner_text() == "3" and row.locator("td.pending").inner_text() == "1"
        shot(operator, "events-01-list")

        operator.click("#new-event summary")
        operator.fill("#event-code", "WC26-M02")
        operator.fill("#event-name", "Second match")
        operator.fill("#event-start", "2026-06-12T19:00:00")
        operator.fill("#event-site", "Estadio BBVA")
        operator.fill("#event-city", "Monterrey")
        operator.fill("#event-zip", "67170")
        operator.fill("#event-country", "MX")
        operator.fill("#event-max-transfers", "2")
        operator.click("#create-event")
        operator.wait_for_url(f"{url}/events/WC26-M02")
        assert "Event WC26-M02 created." in operator.inner_text("#flash")
        assert operator.inner_text("#event-max-transfers") == "2"
        assert operator.locator("#no-tickets").is_visible()

        operator.goto(f"{url}/events/WC26-M01")
        figures = operator.locator("#by-status tr[data-status='PRINTED'] td.num")
        assert figures.inner_text() == "1"
        assert operator.locator("#transfers tr[data-transfer-status='PENDING'] td.num").inner_text() == "1"
        shot(operator, "events-02-event")

        operator.click("#edit-event")
        operator.wait_for_url(f"{url}/events/WC26-M01/edit")
        operator.fill("#event-max-transfers", "5000")
        operator.click("#save-event")
        operator.wait_for_selector("#error-maxTransfers")
        shot(operator, "events-03-edit-refused")
        operator.fill("#event-max-transfers", "3")
        operator.click("#save-event")
        operator.wait_for_url(f"{url}/events/WC26-M01")
        assert operator.inner_text("#event-max-transfers") == "3"
