"""The ticket screen's action bar: only what the status allows, a confirmation page before anything moves,
CSRF, refusals as flash messages naming the problem, the reprint's new ticket, the two-step organizer
transfer, and the History tab (who did what, when)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from tests.support.backoffice import START, USER
from tests.support.screens import World, post_form
from tixtrace.backoffice.db.tables import ticket_actions, tickets
from tixtrace.backoffice.services.schedules import NewSchedule, create_schedule
from tixtrace.kernel.db import unit_of_work

ALL = ["cancel", "invalidate", "control", "reprint", "transfer"]


def _offered(html: str) -> list[str]:
    bar = re.search(r'<nav class="action-bar" id="ticket-actions".*?</nav>', html, re.S)
    assert bar, "no action bar"
    return re.findall(r'data-action="([a-z]+)"', bar.group(0))


def _flash(html: str) -> tuple[str, str] | None:
    found = re.search(r'<div class="flash flash-(\w+)" id="flash" role="status">(.*?)</div>', html, re.S)
    return (found.group(1), found.group(2)) if found else None


def _status(engine: Engine, ticket_id: int) -> str:
    with unit_of_work(engine) as conn:
        return str(conn.execute(select(tickets.c.status).where(tickets.c.id == ticket_id)).scalar_one())


def _moves(engine: Engine, ticket_id: int) -> int:
    with unit_of_work(engine) as conn:
        return int(conn.execute(select(func.count()).select_from(ticket_actions)
                                .where(ticket_actions.c.ticket_id == ticket_id)).scalar_one())


def test_the_bar_offers_only_what_the_status_allows(browser: TestClient, world: World) -> None:
    assert _offered(browser.get(f"/tickets/{world.t1}").text) == ALL  # PRINTED, in the wallet
    assert _offered(browser.get(f"/tickets/{world.t2}").text) == ["cancel", "invalidate"]  # NOT_PRINTED
    cancelled = browser.get(f"/tickets/{world.t3}").text
    assert _offered(cancelled) == [] and 'id="no-actions"' in cancelled and "is final" in cancelled


def test_cancel_asks_for_confirmation_then_moves_the_ticket_and_records_who(browser: TestClient, world: World,
                                                                             engine: Engine) -> None:
    confirm = browser.get(f"/tickets/{world.t1}/actions/cancel")
    assert confirm.status_code == 200 and 'id="confirm-cancel"' in confirm.text
    assert "Push cancelled" in confirm.text and f'action="/tickets/{world.t1}/actions/cancel"' in confirm.text
    assert _status(engine, world.t1) == "PRINTED"  # showing the confirmation changes nothing
    done = post_form(browser, f"/tickets/{world.t1}/actions/cancel", f"/tickets/{world.t1}/actions/cancel", {})
    assert done.status_code == 303 and done.headers["location"] == f"/tickets/{world.t1}"
    page = browser.get(done.headers["location"]).text
    assert _flash(page) == ("success", f"Ticket {world.t1_number} is CANCELLED (was PRINTED).")
    assert _status(engine, world.t1) == "CANCELLED" and _offered(page) == []
    history = browser.get(f"/tickets/{world.t1}?tab=history").text
    [row] = re.findall(r'<tr class="move" data-action="CANCEL">.*?</tr>', history, re.S)
    assert f'<td class="actor">{USER}</td>' in row and "PRINTED" in row and "CANCELLED" in row


def test_every_action_goes_through_the_bar(browser: TestClient, world: World, engine: Engine) -> None:
    for name, expected in (("invalidate", "INVALIDATED"), ("control", "CONTROLLED")):
        with unit_of_work(engine) as conn:
            conn.execute(tickets.update().where(tickets.c.id == world.t1).values(status="PRINTED"))
        response = post_form(browser, f"/tickets/{world.t1}/actions/{name}", f"/tickets/{world.t1}/actions/{name}", {})
        assert response.status_code == 303, response.text
        assert _status(engine, world.t1) == expected
    assert _moves(engine, world.t1) == 2


def test_a_refused_action_is_a_flash_naming_the_status_and_nothing_moves(browser: TestClient, world: World,
                                                                        engine: Engine) -> None:
    shown = browser.get(f"/tickets/{world.t3}/actions/control", follow_redirects=False)  # CANCELLED
    assert shown.status_code == 303 and shown.headers["location"] == f"/tickets/{world.t3}"
    kind, message = _flash(browser.get(shown.headers["location"]).text) or ("", "")
    assert kind == "error" and "is CANCELLED" in message and "control needs a ticket that is PRINTED" in message
    before = _moves(engine, world.t2)
    # a stale page: the bar of a NOT_PRINTED ticket never offered control, but the POST is refused anyway
    refused = post_form(browser, f"/tickets/{world.t2}", f"/tickets/{world.t2}/actions/control", {})
    assert refused.status_code == 303
    kind, message = _flash(browser.get(refused.headers["location"]).text) or ("", "")
    assert kind == "error" and "NOT_PRINTED" in message and "Nothing was changed" in message
    assert _status(engine, world.t2) == "NOT_PRINTED" and _moves(engine, world.t2) == before


def test_actions_need_the_csrf_token_and_a_known_name(browser: TestClient, world: World, engine: Engine) -> None:
    assert browser.post(f"/tickets/{world.t1}/actions/cancel", data={}).status_code == 403
    assert _status(engine, world.t1) == "PRINTED"
    for name in ("print", "delete", "CANCEL%00"):
        assert browser.get(f"/tickets/{world.t1}/actions/{name}").status_code == 404
    assert post_form(browser, f"/tickets/{world.t1}", f"/tickets/{world.t1}/actions/print", {}).status_code == 404
    assert browser.get("/tickets/999999/actions/cancel").status_code == 404
    assert _status(engine, world.t1) == "PRINTED"


def test_reprint_lands_on_the_new_ticket_and_both_histories_link(browser: TestClient, world: World,
                                                                 engine: Engine) -> None:
    assert "new ticket" in browser.get(f"/tickets/{world.t1}/actions/reprint").text
    done = post_form(browser, f"/tickets/{world.t1}/actions/reprint", f"/tickets/{world.t1}/actions/reprint", {})
    new_id = int(done.headers["location"].rsplit("/", 1)[1])
    assert new_id != world.t1
    page = browser.get(f"/tickets/{new_id}").text
    kind, message = _flash(page) or ("", "")
    assert kind == "success" and world.t1_number in message
    assert _offered(page) == ["cancel", "invalidate"]  # the new ticket is NOT_PRINTED
    history = browser.get(f"/tickets/{world.t1}?tab=history").text
    assert 'data-action="REPRINT"' in history and f'href="/tickets/{new_id}"' in history
    assert _status(engine, world.t1) == "INVALIDATED"


def test_the_history_tab_says_what_to_expect_when_empty_and_is_an_htmx_fragment(browser: TestClient,
                                                                               world: World) -> None:
    empty = browser.get(f"/tickets/{world.t2}?tab=history").text
    assert 'id="history-empty"' in empty and 'id="tab-history"' in empty
    fragment = browser.get(f"/tickets/{world.t3}/tabs/history", headers={"HX-Request": "true"}).text
    assert fragment.lstrip().startswith('<section id="ticket-tabs"') and 'data-action="CANCEL"' in fragment


def test_the_organizer_transfer_is_reviewed_before_the_wallet_is_asked(browser: TestClient, world: World,
                                                                       engine: Engine) -> None:
    form = browser.get(f"/tickets/{world.t1}/actions/transfer")
    assert form.status_code == 200 and 'id="transfer-form"' in form.text
    refused = browser.get(f"/tickets/{world.t3}/actions/transfer", follow_redirects=False)  # CANCELLED
    assert refused.status_code == 303
    assert "cannot be transferred" in browser.get(refused.headers["location"]).text
    page, action = f"/tickets/{world.t1}/actions/transfer", f"/tickets/{world.t1}/actions/transfer"
    data = {"recipient_email": "friend@example.com", "reason": "seat change"}
    bad = post_form(browser, page, action, {**data, "recipient_email": "nope"})
    assert bad.status_code == 422 and "recipientEmail" in bad.text and 'value="nope"' in bad.text
    review = post_form(browser, page, action, data)  # step 1: a review; the wallet is not asked yet
    assert review.status_code == 200 and 'id="review-recipient">friend@example.com<' in review.text
    assert 'name="confirmed" value="yes"' in review.text
    confirmed = {**data, "confirmed": "yes"}
    response = post_form(browser, page, action, confirmed)
    assert response.status_code == 303 and response.headers["location"] == f"/tickets/{world.t1}?tab=distribution"
    kind, message = _flash(browser.get(response.headers["location"]).text) or ("", "")
    assert kind == "error" and "no TIXNGO interface injects event" in message
    with unit_of_work(engine) as conn:  # the world's interface points at a closed port
        create_schedule(conn, world.interface, NewSchedule("TICKETS_INJECTION", "MANUAL"), START, actor="test")
    response = post_form(browser, page, action, confirmed)
    assert "could not be reached" in browser.get(response.headers["location"]).text
    assert browser.post(action, data=confirmed).status_code == 403  # no CSRF token
