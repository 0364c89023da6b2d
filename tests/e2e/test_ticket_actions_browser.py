"""Browser tests of the ticket screen's action bar: an operator cancels a ticket through its confirmation
page, and backs out of another; the History tab (an htmx swap) shows who did it. Screenshots go to
``test-artifacts/`` like the other browser tests'."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, select

from tests.support.browser import operator_signs_in, shot
from tests.support.screens import World
from tixtrace.backoffice.app import create_backoffice_app
from tixtrace.backoffice.db.tables import tickets
from tixtrace.kernel.clock import TestClock
from tixtrace.kernel.db import unit_of_work
from tixtrace.kernel.serving import BackgroundServer


@pytest.fixture
def backend() -> str:
    return "sqlite"  # the screens are the same on both databases; their queries are tested on both elsewhere


pytestmark = [pytest.mark.browser, pytest.mark.slow]  # a slow tier (browser)


def _status(engine: Engine, ticket_id: int) -> str:
    with unit_of_work(engine) as conn:
        return str(conn.execute(select(tickets.c.status).where(tickets.c.id == ticket_id)).scalar_one())


def test_cancel_with_confirmation_and_the_history_tab(chromium: Any, world: World, engine: Engine,  # noqa: F811
                                                      clock: TestClock) -> None:
    with BackgroundServer(create_backoffice_app(engine, clock)) as url:
        operator = operator_signs_in(chromium, url)
        operator.goto(f"{url}/tickets/{world.t1}")
        bar = operator.locator("#ticket-actions a")
        assert bar.evaluate_all("links => links.map(a => a.dataset.action)") == [
            "cancel", "invalidate", "control", "reprint", "transfer"]
        shot(operator, "ticket-actions-01-bar")

        operator.click("#action-cancel")
        operator.wait_for_selector("#confirm-cancel")
        assert "Push cancelled" in operator.inner_text("#confirm-cancel")
        assert _status(engine, world.t1) == "PRINTED"  # the confirmation page changes nothing
        shot(operator, "ticket-actions-02-cancel-confirmation")
        operator.click("#confirm-submit")
        operator.wait_for_url(f"{url}/tickets/{world.t1}")
        assert "is CANCELLED (was PRINTED)" in operator.inner_text("#flash")
        assert operator.locator("#no-actions").is_visible()
        assert _status(engine, world.t1) == "CANCELLED"

        operator.click("#tab-history")  # htmx swaps the panel and pushes ?tab=history
        operator.wait_for_selector("#action-history tr.move[data-action='CANCEL']")
        assert operator.inner_text("#action-history td.actor") == "operator"
        assert operator.url.endswith("?tab=history")
        shot(operator, "ticket-actions-03-history")


def test_backing_out_of_a_confirmation_changes_nothing(chromium: Any, world: World, engine: Engine,  # noqa: F811
                                                       clock: TestClock) -> None:
    with BackgroundServer(create_backoffice_app(engine, clock)) as url:
        operator = operator_signs_in(chromium, url)
        operator.goto(f"{url}/tickets/{world.t2}")
        operator.click("#action-invalidate")
        operator.wait_for_selector("#confirm-invalidate")
        operator.click("#confirm-back")
        operator.wait_for_url(f"{url}/tickets/{world.t2}")
        assert _status(engine, world.t2) == "NOT_PRINTED"
        operator.goto(f"{url}/tickets/{world.t1}/actions/transfer")
        operator.fill("#transfer-recipient", "friend@example.com")
        operator.fill("#transfer-reason", "seat change")
        operator.click("#transfer-review")
        operator.wait_for_selector("#transfer-summary")
        assert operator.inner_text("#review-recipient") == "friend@example.com"
        shot(operator, "ticket-actions-04-transfer-review")
