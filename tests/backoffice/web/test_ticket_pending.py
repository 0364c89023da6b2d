"""F10 on the ticket screen: a distribution line shows who started the transfer, the organizer's reason, the
sender and, while pending, its expiry with the time left; the Mobile tab shows the pending transfer (its
recipient and deadline). Times left are read against the app's test clock (START)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, update

from tests.support.backoffice import START
from tests.support.screens import World
from tixtrace.backoffice.db.tables import distribution_lines
from tixtrace.kernel.db import unit_of_work


def _pending(engine: Engine, expires_in: timedelta | None, **values: object) -> None:
    with unit_of_work(engine) as conn:
        conn.execute(update(distribution_lines).where(distribution_lines.c.transfer_id == "tr-3").values(
            expires_at=START + expires_in if expires_in is not None else None, **values))


def test_a_pending_line_shows_who_why_the_sender_and_the_time_left(browser: TestClient, world: World,
                                                                    engine: Engine) -> None:
    _pending(engine, timedelta(minutes=42, seconds=5), initiated_by="ORGANIZER", transfer_reason="seat change",
             sender_email="bruno@example.com")

    html = browser.get(f"/tickets/{world.t1}?tab=distribution").text

    [pending] = re.findall(r'<tr class="line" data-status="PENDING".*?</tr>', html, re.S)
    assert 'data-initiated-by="ORGANIZER"' in pending and '<td class="initiated-by">organizer</td>' in pending
    assert "seat change" in pending and '<td class="sender-email">bruno@example.com</td>' in pending
    assert "2026-06-01 09:42:05" in pending and '<span class="time-left muted">42 min 05 s left</span>' in pending
    [confirmed] = re.findall(r'<tr class="line" data-status="CONFIRMED".*?</tr>', html, re.S)
    assert "time-left" not in confirmed  # only while pending


@pytest.mark.parametrize(("expires_in", "shown"), [
    (timedelta(hours=1), "1 h 00 min left"),
    (timedelta(days=2, hours=3, minutes=4), "2 d 3 h left"),
    (timedelta(seconds=9), "9 s left"),
    (timedelta(seconds=-1), "expired: the next Retrieve ticket status run cancels it"),
    (None, "no expiry"),
])
def test_the_mobile_tab_shows_the_pending_transfer_and_its_deadline(browser: TestClient, world: World,
                                                                   engine: Engine, expires_in: timedelta | None,
                                                                   shown: str) -> None:
    _pending(engine, expires_in)

    html = browser.get(f"/tickets/{world.t1}?tab=mobile").text

    pending = html.split('id="pending-transfer">')[1].split("</dd>")[0]
    assert '<span class="recipient-email">new.fan@example.com</span>' in pending
    assert f"({shown})" in pending
    if expires_in is not None:
        assert (START + expires_in).strftime("%Y-%m-%d %H:%M:%S UTC") in pending
    assert f'href="/tickets/{world.t1}?tab=distribution"' in pending
    fragment = browser.get(f"/tickets/{world.t1}/tabs/mobile", headers={"HX-Request": "true"}).text
    assert "new.fan@example.com" in fragment  # the htmx tab too


def test_no_pending_transfer_says_none(browser: TestClient, world: World, engine: Engine) -> None:
    with unit_of_work(engine) as conn:
        conn.execute(update(distribution_lines).where(distribution_lines.c.transfer_id == "tr-3")
                     .values(status="CONFIRMED", resolved_at=START))
    html = browser.get(f"/tickets/{world.t1}?tab=mobile").text
    assert 'id="pending-transfer">none</dd>' in html
