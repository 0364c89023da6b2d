"""Ticket screens: search, keyset paging, the ticket page's tabs, and 404 pages for bad ids."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, update

from tests.support.screens import World
from tixtrace.backoffice.db.tables import distribution_lines, tickets
from tixtrace.backoffice.web import tickets as ticket_screens
from tixtrace.kernel.cursors import encode_cursor
from tixtrace.kernel.db import unit_of_work


def _numbers(html: str) -> list[str]:
    return re.findall(r'<a href="/tickets/\d+">(\d+)</a>', html)


def test_the_ticket_list_shows_every_ticket_with_event_status_and_contact(browser: TestClient, world: World) -> None:
    page = browser.get("/tickets")
    assert page.status_code == 200
    assert _numbers(page.text) == ["1000000000000001", "1000000000000002", "1000000000000003"]
    assert "WC26-M01" in page.text and "Bruno Costa" in page.text
    assert 'data-value="PENDING_TRANSFER"' in page.text and 'data-value="CANCELLED"' in page.text


@pytest.mark.parametrize(("query", "expected"), [
    ("number=1000000000000002", ["1000000000000002"]),
    ("number=+1000000000000002+", ["1000000000000002"]),
    ("number=999", []),
    ("contact=ana%40example.com", ["1000000000000003"]),  # T1 moved to Bruno: Ana is no longer on it
    ("contact=BRUNO%40Example.com", ["1000000000000001", "1000000000000002"]),
    ("contact=lima", ["1000000000000003"]),
    ("contact=bruno+costa", ["1000000000000001", "1000000000000002"]),
    ("contact=100%25", []),  # LIKE wildcards are matched literally
    ("status=CANCELLED", ["1000000000000003"]),
    ("status=PRINTED&contact=costa", ["1000000000000001"]),
    ("mobile_status=PENDING_TRANSFER", ["1000000000000001"]),
    ("mobile_status=NONE", ["1000000000000002", "1000000000000003"]),
    ("status=NOT_A_STATUS", ["1000000000000001", "1000000000000002", "1000000000000003"]),  # ignored
])
def test_the_search_filters_tickets(browser: TestClient, world: World, query: str, expected: list[str]) -> None:
    page = browser.get(f"/tickets?{query}")
    assert page.status_code == 200
    assert _numbers(page.text) == expected
    if not expected:
        assert 'id="no-results"' in page.text


def test_the_list_pages_by_keyset_with_a_next_link(browser: TestClient, world: World,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ticket_screens, "PAGE", 2)
    first = browser.get("/tickets?contact=")
    assert _numbers(first.text) == ["1000000000000001", "1000000000000002"]
    next_url = re.search(r'href="([^"]+)" rel="next"', first.text)
    assert next_url, "a next page link"
    second = browser.get(next_url.group(1).replace("&amp;", "&"))
    assert _numbers(second.text) == ["1000000000000003"]
    assert 'rel="next"' not in second.text and 'rel="first"' in second.text
    assert browser.get("/tickets?cursor=not-a-cursor").status_code == 422  # a page, never a 500


def test_the_general_tab_shows_the_ticket_and_its_contacts(browser: TestClient, world: World) -> None:
    page = browser.get(f"/tickets/{world.t1}")
    assert page.status_code == 200
    html = page.text
    assert 'id="ticket-number">1000000000000001<' in html
    cultural = re.search(r'<span id="cultural-contact"[^>]*>(.*?)</span>\s*</span>', html, re.S)
    assert cultural and f'href="/contacts/{world.bruno}"' in cultural.group(1) and "Bruno Costa" in cultural.group(1)
    assert 'data-tab="general"' in html
    for text in ("Opening match", "A-12", "120.50 EUR", f'href="/contacts/{world.ana}"'):  # buyer: Ana
        assert text in html
    assert 'aria-selected="true">General<' in html.replace("\n", "")


def test_the_mobile_tab_shows_what_the_wallet_said(browser: TestClient, world: World) -> None:
    html = browser.get(f"/tickets/{world.t1}?tab=mobile").text
    assert 'data-tab="mobile"' in html
    assert 'id="mobile-status"><span class="badge tone-amber" data-value="PENDING_TRANSFER"' in html
    assert "BRA" in html and "Carla Dias" in html and "2026-06-01 11:00:00 UTC" in html
    never = browser.get(f"/tickets/{world.t2}?tab=mobile").text
    assert "has not reported on this ticket yet" in never


def test_the_distribution_tab_lists_lines_with_status_and_contacts(browser: TestClient, world: World) -> None:
    html = browser.get(f"/tickets/{world.t1}?tab=distribution").text
    assert 'id="distribution-history"' in html
    rows = re.findall(r'<tr class="line" data-status="(\w+)".*?</tr>', html, re.S)
    assert rows == ["CONFIRMED", "CANCELLED", "PENDING"]  # oldest first
    bodies = re.findall(r'<tr class="line".*?</tr>', html, re.S)
    assert f'href="/contacts/{world.ana}"' in bodies[0] and f'href="/contacts/{world.bruno}"' in bodies[0]
    assert 'class="removed">removed</span>' in bodies[1] and "gone@example.com" in bodies[1]
    assert "EXPIRED" in bodies[1] and 'tone-red' in bodies[1]
    assert "Pending CREATION" in bodies[2] and "temporary" in bodies[2] and "tone-amber" in bodies[2]
    assert "CREATED TEMPORARY" in bodies[2] and "EXISTING" in bodies[0]
    empty = browser.get(f"/tickets/{world.t2}?tab=distribution").text
    assert 'id="distribution-history"' in empty and 'id="distribution-empty"' in empty


def test_tabs_are_htmx_fragments_too(browser: TestClient, world: World) -> None:
    fragment = browser.get(f"/tickets/{world.t1}/tabs/distribution", headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert fragment.text.lstrip().startswith('<section id="ticket-tabs"')
    assert "<html" not in fragment.text and 'tr class="line"' in fragment.text
    assert browser.get(f"/tickets/{world.t1}/tabs/secrets").status_code == 404
    links = browser.get(f"/tickets/{world.t1}").text
    assert f'href="/tickets/{world.t1}?tab=mobile"' in links  # works without JavaScript
    assert f'hx-get="/tickets/{world.t1}/tabs/mobile"' in links


def test_the_history_pages_when_long(browser: TestClient, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ticket_screens, "HISTORY_PAGE", 2)
    first = browser.get(f"/tickets/{world.t1}?tab=distribution").text
    assert re.findall(r'data-status="(\w+)" data-line', first) == ["CONFIRMED", "CANCELLED"]
    later = re.search(r'href="([^"]+)" rel="next">Later lines', first)
    assert later
    second = browser.get(later.group(1).replace("&amp;", "&")).text
    assert re.findall(r'data-status="(\w+)" data-line', second) == ["PENDING"]


FORGED_HISTORY_CURSORS = [
    encode_cursor([1, 2**70]),  # an id no database column can hold
    encode_cursor([1, 2**63]),
    encode_cursor([2**63, 1]),  # a position no database column can hold
    encode_cursor(["2026-06-01T12:00:00+00:00", 1]),  # the shape before positions were wallet order
    encode_cursor([1.5, 1]),
    encode_cursor([1, True]),
    encode_cursor([1, 0]),
    encode_cursor({"at": 1, "id": 2}),
    encode_cursor([1, 2, 3]),
    "not-a-cursor",
]


@pytest.mark.parametrize("forged", FORGED_HISTORY_CURSORS)
def test_a_forged_history_cursor_is_a_422_page_like_the_api(browser: TestClient, world: World, forged: str) -> None:
    """The screen and the API decode the history's cursor the same way: a 4xx, never a 500."""
    for path in (f"/tickets/{world.t1}?tab=distribution&cursor={forged}",
                 f"/tickets/{world.t1}/tabs/distribution?cursor={forged}"):
        response = browser.get(path)
        assert response.status_code == 422, path
        assert "text/html" in response.headers["content-type"]
        assert 'id="error" data-status="422"' in response.text
    api = browser.get(f"/api/tickets/{world.t1}/distribution-history?cursor={forged}")
    assert api.status_code == 422 and api.json()["error"]["code"] == "INVALID_CURSOR"


@pytest.mark.parametrize("bad", ["999999", "0", "-1", "abc", "1.5", "99999999999999999999", "٣"])
def test_unknown_or_malformed_ticket_ids_are_404_pages(browser: TestClient, world: World, bad: str) -> None:
    for path in (f"/tickets/{bad}", f"/tickets/{bad}?tab=distribution", f"/tickets/{bad}/tabs/general"):
        response = browser.get(path)
        assert response.status_code == 404, path
        assert "text/html" in response.headers["content-type"]
        assert 'id="error" data-status="404"' in response.text


def test_unknown_screen_paths_are_404_pages(browser: TestClient) -> None:
    response = browser.get("/no-such-screen")
    assert response.status_code == 404 and 'data-status="404"' in response.text
    assert browser.get("/tickets?number=" + "9" * 600).status_code == 422
    assert browser.get("/tickets?contact=%00x").status_code == 422


def test_the_mobile_tab_shows_the_back_office_status_beside_what_the_wallet_says(
        browser: TestClient, world: World, engine: Engine) -> None:
    """F12: a CANCELLED ticket the wallet still moved (push cancelled not run yet) says so."""
    page = browser.get(f"/tickets/{world.t1}?tab=mobile").text
    assert re.search(r'id="backoffice-status">.*PRINTED', page) and 'id="backoffice-status-notice"' not in page
    with unit_of_work(engine) as conn:
        conn.execute(update(tickets).where(tickets.c.id == world.t3).values(mobile_status="TRANSFERRED"))
    page = browser.get(f"/tickets/{world.t3}?tab=mobile").text
    assert re.search(r'id="backoffice-status">.*CANCELLED', page) and 'id="backoffice-status-notice"' in page


def test_the_history_says_who_started_each_transfer_and_the_sender(browser: TestClient, world: World,
                                                                   engine: Engine) -> None:
    with unit_of_work(engine) as conn:
        conn.execute(update(distribution_lines).where(distribution_lines.c.transfer_id == "tr-1").values(
            initiated_by="ORGANIZER", transfer_reason="seat change", sender_email="ana@example.com"))
    page = browser.get(f"/tickets/{world.t1}?tab=distribution").text
    assert 'data-initiated-by="ORGANIZER"' in page and "seat change" in page and "ana@example.com" in page
    assert 'data-initiated-by="SPECTATOR"' in page
