"""The home screen (issue 13 item 1): ``/`` after sign-in is the overview; its panel refreshes itself
(htmx polling of ``/overview/panel``); a failing, behind or parked schedule has its badges; pending
transfers and executions in error link to their pages; parked records show on their ticket's and
interface's pages."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert, update

from tests.support.backoffice import START
from tests.support.pages import text_of
from tests.support.screens import World, sign_in
from tixtrace.backoffice.db.tables import executions, parked_records, schedules
from tixtrace.kernel.db import unit_of_work


def _row(page: str, schedule_id: int) -> str:
    found = re.search(rf'<tr class="overview-schedule" data-schedule-id="{schedule_id}"[^>]*>.*?</tr>', page, re.S)
    assert found, f"no row for schedule {schedule_id}"
    return found.group(0)


def _failing_and_parked(engine: Engine, world: World) -> tuple[int, int]:
    """The feedback: an OK run two hours ago (caught up then), then an ERROR run an hour ago, and a parked
    record of T1. The push never ran. Returns the two execution ids."""
    zero = {name: 0 for name in ("records_read", "tickets_updated", "contacts_created", "contacts_completed",
                                 "contacts_removed", "lines_created", "lines_updated", "skipped", "failed", "parked")}
    run = {"schedule_id": world.feedback, "function": "RETRIEVE_TICKET_STATUS", **zero}
    with unit_of_work(engine) as conn:
        ok = conn.execute(insert(executions).values(**run, status="OK", started_at=START - timedelta(hours=2),
                                                    ended_at=START - timedelta(hours=2)).returning(executions.c.id))
        ok_id = ok.scalar_one()
        failed = conn.execute(insert(executions).values(**run, status="ERROR", started_at=START - timedelta(hours=1),
                                                        ended_at=START - timedelta(hours=1)).returning(executions.c.id))
        failed_id = failed.scalar_one()
        conn.execute(update(schedules).where(schedules.c.id == world.feedback)
                     .values(caught_up_at=START - timedelta(hours=2)))
        conn.execute(insert(parked_records).values(
            schedule_id=world.feedback, record_id=77, ticket_number=world.t1_number, record={"recordId": 77},
            error="unknown status 'TELEPORTED'", parked_at=START))
    return ok_id, failed_id


def test_the_first_screen_after_sign_in_is_the_overview(web: TestClient, world: World) -> None:
    response = sign_in(web)
    assert response.status_code == 303 and response.headers["location"] == "/"
    page = web.get("/")
    assert page.status_code == 200
    assert re.search(r'<a href="/" id="nav-overview" class="current" aria-current="page">Overview</a>', page.text)
    assert '<h1>Overview</h1>' in page.text
    assert 'hx-get="/overview/panel" hx-trigger="every 10s"' in page.text


def test_overview_shows_a_failing_behind_and_parked_schedule_with_links(browser: TestClient, engine: Engine,
                                                                         world: World) -> None:
    ok_id, failed_id = _failing_and_parked(engine, world)
    page = browser.get("/").text
    interface = re.search(rf'<div class="overview-interface" data-interface-id="{world.interface}">.*?</table>',
                          page, re.S)
    assert interface and "TIXNGO production" in interface.group(0) and 'data-value="ACTIVE"' in interface.group(0)
    feedback = _row(page, world.feedback)
    assert 'data-alerts="FAILING BEHIND PARKED"' in feedback
    assert f'<a href="/executions/{failed_id}">#{failed_id}</a>' in feedback and 'data-value="ERROR"' in feedback
    assert "2026-06-01 07:00:00" in text_of(feedback)  # last OK run (UTC)
    assert 'data-lag="7200"' in feedback and "2 h 00 min" in text_of(feedback)
    assert '<a href="/interfaces/' in feedback and ">1</a>" in feedback  # parked, a link to the list
    push = _row(page, world.push)
    assert 'data-alerts=""' in push and "never run" in text_of(push) and "never caught up" in text_of(push)
    # the figures, the pending transfer (to its ticket's distribution tab), the execution in error
    assert re.search(r'data-figure="failing">1<', page) and re.search(r'data-figure="parked">1<', page)
    assert re.search(r'data-figure="pending">1<', page) and re.search(r'data-figure="errors">1<', page)
    pending = re.search(r'<section class="card" id="pending-transfers">.*?</section>', page, re.S)
    assert pending and f'href="/tickets/{world.t1}?tab=distribution">{world.t1_number}</a>' in pending.group(0)
    assert "new.fan@example.com" in pending.group(0)
    errors = re.search(r'<section class="card" id="executions-in-error">.*?</section>', page, re.S)
    assert errors and f'href="/executions/{failed_id}"' in errors.group(0)
    assert f'href="/executions/{ok_id}"' not in errors.group(0)
    assert 'href="/executions?status=ERROR"' in errors.group(0)


def test_the_panel_alone_is_what_the_polling_swaps_in(browser: TestClient, engine: Engine, world: World) -> None:
    before = browser.get("/overview/panel", headers={"HX-Request": "true"})
    assert before.status_code == 200
    assert before.text.lstrip().startswith('<div id="overview-panel"') and "<html" not in before.text
    assert 'data-alerts=""' in _row(before.text, world.feedback)
    _failing_and_parked(engine, world)
    after = browser.get("/overview/panel", headers={"HX-Request": "true"}).text
    assert 'data-alerts="FAILING BEHIND PARKED"' in _row(after, world.feedback)


def test_parked_records_show_on_their_ticket_and_interface_pages(browser: TestClient, engine: Engine,
                                                                  world: World) -> None:
    assert 'id="ticket-parked-records"' not in browser.get(f"/tickets/{world.t1}").text
    _failing_and_parked(engine, world)
    ticket = browser.get(f"/tickets/{world.t1}").text
    section = re.search(r'<section class="card parked-records" id="ticket-parked-records">.*?</section>', ticket, re.S)
    assert section, "no parked records on the ticket page"
    assert '<tr class="parked" data-record-id="77">' in section.group(0)
    assert "unknown status &#39;TELEPORTED&#39;" in section.group(0)
    assert 'id="ticket-parked-records"' not in browser.get(f"/tickets/{world.t2}").text
    interface = browser.get(f"/interfaces/{world.interface}").text
    parked = re.search(r'<section class="card parked-records" id="parked-records">.*?</section>', interface, re.S)
    assert parked and f'<a href="/tickets/{world.t1}">{world.t1_number}</a>' in parked.group(0)
    assert "TELEPORTED" in parked.group(0)
    state = re.search(rf'<tr class="schedule" data-schedule-id="{world.feedback}">.*?</tr>', interface, re.S)
    assert state and 'data-lag="7200"' in state.group(0) and 'data-parked="1"' in state.group(0)


def test_a_paused_schedule_shows_paused_and_a_deleted_one_is_left_out(browser: TestClient, engine: Engine,
                                                                       world: World) -> None:
    assert 'data-value="PAUSED"' not in _row(browser.get("/").text, world.feedback)
    with unit_of_work(engine) as conn:
        conn.execute(update(schedules).where(schedules.c.id == world.feedback).values(active=False))
        conn.execute(update(schedules).where(schedules.c.id == world.push).values(deleted_at=START))
    page = browser.get("/").text
    assert 'data-value="PAUSED"' in _row(page, world.feedback)
    assert f'data-schedule-id="{world.push}"' not in page
