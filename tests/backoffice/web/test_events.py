"""The events screens: the list with each event's totals, the New event form, an event's page (tickets by
status and mobile status, transfers by status, all by GROUP BY), the edit form (maxTransfers included),
refusals shown beside their fields, empty states that say what to do, and the nav link."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, insert

from tests.support.backoffice import START
from tests.support.screens import World, post_form
from tixtrace.backoffice.db.tables import distribution_lines
from tixtrace.backoffice.services.contacts import NewContact, create_contact
from tixtrace.backoffice.services.event_stats import event_breakdown, event_totals
from tixtrace.backoffice.services.events import NewEvent, create_event
from tixtrace.backoffice.services.tickets import NewTicket, create_ticket
from tixtrace.kernel.db import unit_of_work

FORM = {"code": "WC26-M02", "name": "Second match", "start_time": "2026-06-12T19:00", "end_time": "",
        "venue_site": "Estadio BBVA", "venue_city": "Monterrey", "venue_zip": "67170", "venue_country_code": "mx",
        "max_transfers": "2"}


def _row(html: str, attribute: str, value: str) -> int:
    found = re.search(rf'<tr {attribute}="{re.escape(value)}">.*?<td class="num">(\d+)</td>', html, re.S)
    assert found, f"no row {attribute}={value}"
    return int(found.group(1))


def _list_row(html: str, code: str) -> str:
    found = re.search(rf'<tr class="event" data-event-code="{re.escape(code)}">.*?</tr>', html, re.S)
    assert found, f"no event {code} in the list"
    return found.group(0)


def test_the_nav_links_to_events_and_the_empty_list_says_what_to_do(browser: TestClient) -> None:
    page = browser.get("/events")
    assert page.status_code == 200
    assert '<a href="/events" class="current" aria-current="page">Events</a>' in page.text
    assert 'id="no-events"' in page.text
    assert "tixtrace backoffice import --events FILE" in page.text and "tixtrace demo" in page.text
    assert '<a href="/events">Events</a>' in browser.get("/tickets").text


def test_the_list_shows_each_event_with_its_tickets_and_pending_transfers(browser: TestClient, world: World,
                                                                           engine: Engine) -> None:
    with unit_of_work(engine) as conn:
        create_event(conn, NewEvent("WC26-M02", "Second match", START + timedelta(days=11), "Estadio BBVA",
                                    "Monterrey", "67170", "MX", max_transfers=1), START)
    page = browser.get("/events").text
    first, second = _list_row(page, "WC26-M01"), _list_row(page, "WC26-M02")
    assert '<td class="num tickets">3</td>' in first and '<td class="num pending">1</td>' in first
    assert "no limit" in first and 'href="/events/WC26-M01"' in first
    assert '<td class="num tickets">0</td>' in second and '<td class="num pending">0</td>' in second
    assert '<td class="num">1</td>' in second  # maxTransfers


def test_an_event_page_counts_tickets_by_status_and_mobile_status_and_transfers(browser: TestClient,
                                                                               world: World) -> None:
    page = browser.get("/events/WC26-M01")
    assert page.status_code == 200, page.text
    html = page.text
    assert 'id="event-tickets">3<' in html
    assert [_row(html, "data-status", s) for s in ("NOT_PRINTED", "PRINTED", "CANCELLED", "INVALIDATED",
                                                   "CONTROLLED")] == [1, 1, 1, 0, 0]
    assert _row(html, "data-mobile-status", "PENDING_TRANSFER") == 1
    assert _row(html, "data-mobile-status", "NONE") == 2 and _row(html, "data-mobile-status", "DELETED") == 0
    assert [_row(html, "data-transfer-status", s) for s in ("PENDING", "CONFIRMED", "CANCELLED")] == [1, 1, 1]
    assert 'id="event-downloads"' in html and 'href="/events/WC26-M01/edit"' in html
    assert 'href="/api/events/WC26-M01/holders.csv" download' in html  # the stewards' list, one click away
    assert 'href="/events/WC26-M01"' in browser.get(f"/tickets/{world.t1}").text  # the ticket links its event


def test_an_event_without_tickets_says_how_to_add_them_and_unknown_codes_are_404(browser: TestClient,
                                                                                 engine: Engine) -> None:
    with unit_of_work(engine) as conn:
        create_event(conn, NewEvent("new", "Named like a path", START, "Site", "City", "1000", "CH"), START)
    page = browser.get("/events/new").text  # "new" is a code like any other: no fixed path shadows it
    assert 'id="no-tickets"' in page and "tixtrace backoffice import --tickets FILE" in page
    for code in ("NOPE", "has%20space", "%00"):
        assert browser.get(f"/events/{code}").status_code == 404
        assert browser.get(f"/events/{code}/edit").status_code == 404


def test_the_new_event_form_creates_the_event(browser: TestClient) -> None:
    response = post_form(browser, "/events", "/events", FORM)
    assert response.status_code == 303 and response.headers["location"] == "/events/WC26-M02"
    page = browser.get("/events/WC26-M02").text
    assert "Event WC26-M02 created." in page and "2026-06-12 19:00:00 UTC" in page
    assert 'id="event-max-transfers">2<' in page and "Monterrey (MX)" in page


def test_a_refused_new_event_is_shown_again_with_each_problem_beside_its_field(browser: TestClient,
                                                                               world: World) -> None:
    bad = {**FORM, "code": "has space", "start_time": "tomorrow", "venue_country_code": "MEX", "max_transfers": "-1"}
    response = post_form(browser, "/events", "/events", bad)
    assert response.status_code == 422
    html = response.text
    assert 'id="error-startTime"' in html and "got &#39;tomorrow&#39;" in html
    assert 'id="error-code"' in html and 'id="error-venue-countryCode"' in html and 'id="error-maxTransfers"' in html
    assert "Max transfers: " in html and "maxTransfers must" not in html  # labels, not the API's names
    assert "Start (UTC): " in html and "Country code: " in html
    assert 'value="has space"' in html and "<details class=\"card\" id=\"new-event\" open>" in html
    taken = post_form(browser, "/events", "/events", {**FORM, "code": "WC26-M01"})
    assert taken.status_code == 422 and 'id="error-code"' in taken.text and "already exists" in taken.text
    assert 'data-event-code="WC26-M02"' not in browser.get("/events").text  # nothing written


def test_the_edit_form_changes_max_transfers_and_keeps_the_code(browser: TestClient, world: World,
                                                                api: TestClient) -> None:
    form = browser.get("/events/WC26-M01/edit")
    assert form.status_code == 200 and 'value="Opening match"' in form.text
    assert 'value="2026-06-11T09:00:00"' in form.text  # stored UTC, to the second
    values = {**FORM, "code": "OTHER", "name": "Opening match", "start_time": "2026-06-11T09:00:00",
              "venue_site": "Estadio Azteca", "venue_city": "Mexico City", "venue_zip": "04650",
              "venue_country_code": "MX", "max_transfers": "3"}
    saved = post_form(browser, "/events/WC26-M01/edit", "/events/WC26-M01/edit", values)
    assert saved.status_code == 303 and saved.headers["location"] == "/events/WC26-M01"
    assert "Event WC26-M01 saved." in browser.get("/events/WC26-M01").text
    event = api.get("/api/events/WC26-M01").json()
    assert event["maxTransfers"] == 3 and event["code"] == "WC26-M01"  # the code never changes
    refused = post_form(browser, "/events/WC26-M01/edit", "/events/WC26-M01/edit", {**values, "max_transfers": "1001"})
    assert refused.status_code == 422 and "0 to 1000" in refused.text and 'value="1001"' in refused.text
    assert api.get("/api/events/WC26-M01").json()["maxTransfers"] == 3
    post_form(browser, "/events/WC26-M01/edit", "/events/WC26-M01/edit", {**values, "max_transfers": ""})
    assert api.get("/api/events/WC26-M01").json()["maxTransfers"] is None
    assert browser.post("/events/WC26-M01/edit", data=values).status_code == 403  # no CSRF token


@contextmanager
def _statements(engine: Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(*args: object) -> None:
        seen.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_the_figures_cost_a_fixed_number_of_queries_whatever_the_tickets(engine: Engine) -> None:
    with unit_of_work(engine) as conn:
        ana = create_contact(conn, NewContact(kind="INDIVIDUAL", first_name="Ana", last_name="Lima",
                                              email="ana@example.com"), START).id
        ids = [create_event(conn, NewEvent(f"E{n}", f"Event {n}", START, "Site", "City", "1000", "CH"), START).id
               for n in range(3)]
        made = [create_ticket(conn, NewTicket(f"E{n % 3}", ana), START).id for n in range(30)]
        conn.execute(insert(distribution_lines), [
            {"ticket_id": tid, "transfer_id": f"tr-{tid}", "action": "DISTRIBUTE", "recipient_email": "b@example.com",
             "status": "PENDING", "initiated_at": START, "opened_record_id": tid, "recorded_at": START,
             "updated_at": START} for tid in made[:10]])
    with unit_of_work(engine) as conn, _statements(engine) as seen:
        totals = event_totals(conn, ids)
        assert len(seen) == 2
        breakdown = event_breakdown(conn, ids[0])
        assert len(seen) == 4
    assert [totals[i].tickets for i in ids] == [10, 10, 10]
    assert sum(t.pending_transfers for t in totals.values()) == 10
    assert breakdown.by_status["NOT_PRINTED"] == 10 and breakdown.by_mobile_status == {None: 10}
    assert breakdown.transfers == {"PENDING": 4, "CONFIRMED": 0, "CANCELLED": 0}
