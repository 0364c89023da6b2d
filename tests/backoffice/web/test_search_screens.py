"""The tickets and contacts lists: prefix and accent-free search, event filter, totals, sortable columns,
the holders download of an event and the distribution history's CSV link."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.support.backoffice import START
from tests.support.screens import World
from tixtrace.backoffice.services.contacts import NewContact, create_contact
from tixtrace.backoffice.services.events import NewEvent, create_event
from tixtrace.backoffice.services.tickets import NewTicket, create_ticket
from tixtrace.backoffice.web import contacts as contact_screens
from tixtrace.backoffice.web import tickets as ticket_screens
from tixtrace.kernel.db import unit_of_work


def _numbers(html: str) -> list[str]:
    return re.findall(r'<a href="/tickets/\d+">(\d+)</a>', html)


def _names(html: str) -> list[str]:
    return re.findall(r'<a href="/contacts/\d+">([^<]+)</a>', html)


def _total(html: str, kind: str) -> int:
    found = re.search(rf'id="{kind}-total">(\d+)<', html)
    assert found, "a total"
    return int(found.group(1))


@pytest.fixture
def chloe(engine: Engine, world: World) -> int:
    """Chloé Lima holds ticket 2000000000000001 of another event (FINAL)."""
    with unit_of_work(engine) as conn:
        create_event(conn, NewEvent("FINAL", "Final", START + timedelta(days=30), "Stade", "Paris", "75000", "FR"),
                     START)
        person = create_contact(conn, NewContact(kind="INDIVIDUAL", first_name="Chloé", last_name="Lima",
                                                 email="chloe@example.com"), START)
        create_ticket(conn, NewTicket("FINAL", person.id, number="2000000000000001", barcode="347049800010604"), START)
        return person.id


@pytest.mark.parametrize(("query", "expected"), [
    ("number=3470+4980", ["2000000000000001"]),  # the barcode's prefix, spaces ignored
    ("number=1000+0000+0000+0002", ["1000000000000002"]),
    ("number=10000000", ["1000000000000001", "1000000000000002", "1000000000000003"]),
    ("contact=chloe+lima", ["2000000000000001"]),
    ("contact=CHLO%C3%89+LIMA", ["2000000000000001"]),
    ("contact=lima", ["1000000000000003", "2000000000000001"]),
    ("contact=new.fan%40", ["1000000000000001"]),  # the recipient of the transfer pending on T1
    ("event=FINAL", ["2000000000000001"]),
    ("event=WC26-M01&contact=lima", ["1000000000000003"]),
])
def test_the_ticket_search(browser: TestClient, world: World, chloe: int, query: str, expected: list[str]) -> None:
    page = browser.get(f"/tickets?{query}")
    assert page.status_code == 200
    assert _numbers(page.text) == expected and _total(page.text, "ticket") == len(expected)


def test_the_ticket_list_sorts_by_its_columns_and_pages_in_that_order(browser: TestClient, world: World,
                                                                      chloe: int,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ticket_screens, "PAGE", 2)
    down = browser.get("/tickets?sort=-number")
    assert _numbers(down.text) == ["2000000000000001", "1000000000000003"] and _total(down.text, "ticket") == 4
    assert 'aria-sort="descending"' in down.text
    next_url = re.search(r'href="([^"]+)" rel="next"', down.text)
    assert next_url
    rest = browser.get(next_url.group(1).replace("&amp;", "&"))
    assert _numbers(rest.text) == ["1000000000000002", "1000000000000001"]
    by_event = browser.get("/tickets?sort=-event")
    assert _numbers(by_event.text) == ["1000000000000003", "1000000000000002"]  # WC26-M01 first, ids descending
    assert 'href="/tickets?sort=number"' in browser.get("/tickets").text
    assert 'href="/tickets?sort=-number"' in browser.get("/tickets?sort=number").text


def test_an_event_filter_offers_the_holders_file(browser: TestClient, world: World, chloe: int) -> None:
    page = browser.get("/tickets?event=FINAL")
    assert 'id="download-holders" href="/api/events/FINAL/holders.csv"' in page.text
    assert 'id="download-holders"' not in browser.get("/tickets").text
    download = browser.get("/api/events/FINAL/holders.csv")  # the screens' session may download it
    assert download.status_code == 200 and "2000000000000001" in download.text


def test_the_distribution_tab_offers_its_csv(browser: TestClient, world: World) -> None:
    page = browser.get(f"/tickets/{world.t1}?tab=distribution")
    assert f'href="/api/tickets/{world.t1}/distribution-history.csv"' in page.text
    download = browser.get(f"/api/tickets/{world.t1}/distribution-history.csv")
    assert download.status_code == 200 and download.text.count("\n") == 4  # the header and three lines


def test_the_contact_search_sorts_and_counts(browser: TestClient, world: World, chloe: int,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    found = browser.get("/contacts?q=CHLOE")
    assert _names(found.text) == ["Chloé Lima"] and _total(found.text, "contact") == 1
    assert _total(browser.get("/contacts?q=lima").text, "contact") == 2
    monkeypatch.setattr(contact_screens, "PAGE", 2)
    by_name = browser.get("/contacts?sort=name")  # by last name: Costa, CREATION (the pending fan), Lima, Lima
    assert _names(by_name.text) == ["Bruno Costa", "Pending CREATION"] and _total(by_name.text, "contact") == 4
    seen = _names(by_name.text)
    next_url = re.search(r'href="([^"]+)" rel="next"', by_name.text)
    assert next_url
    seen += _names(browser.get(next_url.group(1).replace("&amp;", "&")).text)
    assert seen[0] == "Bruno Costa" and sorted(seen[-2:]) == ["Ana Lima", "Chloé Lima"] and len(seen) == 4


@pytest.mark.parametrize("value", [["\u0000", 1], ["a", 2**64], [True, 1], "x", [1]])
def test_a_forged_sort_cursor_is_a_422_page(browser: TestClient, world: World, value: object) -> None:
    from tixtrace.kernel.cursors import encode_cursor
    assert browser.get("/tickets", params={"sort": "number", "cursor": encode_cursor(value)}).status_code == 422


def test_empty_lists_say_what_to_do_and_filtered_ones_how_to_go_back(browser: TestClient) -> None:
    """A new back office: the lists name the commands that fill them; a search that finds nothing offers
    the whole list again instead."""
    tickets = browser.get("/tickets").text
    assert "No tickets yet" in tickets and "tixtrace backoffice import --tickets FILE" in tickets
    assert "tixtrace demo" in tickets
    contacts = browser.get("/contacts").text
    assert "No contacts yet" in contacts and "tixtrace backoffice import --contacts FILE" in contacts
    searched = browser.get("/tickets", params={"number": "999"}).text
    assert "No ticket matches these filters" in searched and "No tickets yet" not in searched
    assert "No contact matches" in browser.get("/contacts", params={"q": "nobody"}).text
