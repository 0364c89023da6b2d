"""The holders export (DESIGN 7): ``GET /api/events/{code}/holders`` and ``.csv``, and a ticket's
distribution history as CSV: shape, pages, streaming in pages, cells a spreadsheet cannot run."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert, update

from tests.support.backoffice import START, new_contact, new_event, new_ticket
from tixtrace.backoffice.db.tables import distribution_lines, tickets
from tixtrace.backoffice.services import exports, holders
from tixtrace.kernel.db import unit_of_work

HOLDER_FIELDS = {"ticketNumber", "seat", "status", "mobileStatus", "culturalContact", "owner", "walletOwnerEmail",
                 "ticketHolder", "pendingTransfer", "lastSyncedAt"}


def pend(engine: Engine, ticket: dict, recipient_id: int, email: str, transfer: str = "T-1") -> None:  # type: ignore[type-arg]
    with unit_of_work(engine) as conn:
        conn.execute(insert(distribution_lines).values(
            ticket_id=ticket["id"], transfer_id=transfer, action="DISTRIBUTE",
            old_contact_id=ticket["culturalContact"]["id"], new_contact_id=recipient_id, recipient_email=email,
            status="PENDING", initiated_at=START, recorded_at=START, updated_at=START, opened_record_id=7,
            expires_at=START + timedelta(hours=1)))


def synced(engine: Engine, ticket: dict, owner_email: str, holder: dict) -> None:  # type: ignore[type-arg]
    with unit_of_work(engine) as conn:
        conn.execute(update(tickets).where(tickets.c.id == ticket["id"]).values(
            mobile_status="ASSIGNED", wallet_owner={"email": owner_email}, last_wallet_owner_email=owner_email,
            ticket_holder=holder, last_synced_at=START))


def rows_of(response_text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response_text)))


def test_holders_list_every_ticket_of_the_event_with_who_has_it(api: TestClient, engine: Engine) -> None:
    event, other = new_event(api), new_event(api)
    chloe = new_contact(api, firstName="Chloé", lastName="Lima", email="chloe@example.com")
    first = new_ticket(api, eventCode=event["code"], culturalContactId=chloe["id"], seat="A-1")
    second = new_ticket(api, eventCode=event["code"])
    new_ticket(api, eventCode=other["code"])
    recipient = new_contact(api, email="bea@example.com")
    pend(engine, second, recipient["id"], "bea@example.com")
    synced(engine, first, "chloe@example.com", {"firstName": "Léa", "lastName": "Lima"})
    body = api.get(f"/api/events/{event['code']}/holders").json()
    assert body["nextCursor"] is None and [h["ticketNumber"] for h in body["items"]] == [first["number"],
                                                                                        second["number"]]
    one, two = body["items"]
    assert HOLDER_FIELDS <= set(one)
    assert one["culturalContact"] == chloe and one["owner"] == chloe and one["seat"] == "A-1"
    assert (one["mobileStatus"], one["walletOwnerEmail"], one["ticketHolder"]) == (
        "ASSIGNED", "chloe@example.com", {"firstName": "Léa", "lastName": "Lima"})
    assert one["pendingTransfer"] is None and one["lastSyncedAt"] == "2026-06-01T09:00:00.000Z"
    assert two["pendingTransfer"] == {"recipientEmail": "bea@example.com", "expiresAt": "2026-06-01T10:00:00.000Z"}
    assert two["walletOwnerEmail"] is None and two["ticketHolder"] is None


def test_holders_pages_cover_each_ticket_once(api: TestClient) -> None:
    event = new_event(api)
    made = [new_ticket(api, eventCode=event["code"])["number"] for _ in range(5)]
    seen, cursor = [], None
    while True:
        body = api.get(f"/api/events/{event['code']}/holders", params={"limit": 2, "cursor": cursor}).json()
        seen += [h["ticketNumber"] for h in body["items"]]
        cursor = body["nextCursor"]
        if cursor is None:
            break
    assert seen == made


@pytest.mark.parametrize("path", ["holders", "holders.csv"])
def test_an_unknown_event_is_a_404_envelope(api: TestClient, path: str) -> None:
    response = api.get(f"/api/events/NOPE/{path}")
    assert response.status_code == 404 and response.json()["error"]["code"] == "EVENT_NOT_FOUND"


def test_the_csv_has_a_header_every_ticket_in_pages_and_no_runnable_cell(api: TestClient, engine: Engine,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(holders, "EXPORT_PAGE", 2)  # 5 tickets: three pages, streamed one after the other
    event = new_event(api)
    evil = new_contact(api, firstName="=HYPERLINK(\"http://x\")", email="evil@example.com", lastName="@Lima")
    dash = new_contact(api, firstName="-2+3", lastName="+33 1 23", email="dash@example.com")
    made = [new_ticket(api, eventCode=event["code"], culturalContactId=evil["id"]),
            new_ticket(api, eventCode=event["code"], culturalContactId=dash["id"]),
            *[new_ticket(api, eventCode=event["code"]) for _ in range(3)]]
    synced(engine, made[0], "x@example.com", {"firstName": "@SUM(A1)", "lastName": "ok", "email": "x@example.com"})
    response = api.get(f"/api/events/{event['code']}/holders.csv")
    assert response.status_code == 200 and response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == f'attachment; filename="holders-{event["code"]}.csv"'
    header, *rows = rows_of(response.content.decode("utf-8"))
    assert tuple(header) == exports.HOLDER_COLUMNS
    assert [row[0] for row in rows] == [t["number"] for t in made]
    record = dict(zip(header, rows[0], strict=True))
    assert (record["culturalContactFirstName"], record["culturalContactLastName"], record["culturalContactEmail"]) \
        == ("'=HYPERLINK(\"http://x\")", "'@Lima", "evil@example.com")
    assert record["ticketHolderFirstName"] == "'@SUM(A1)" and record["lastSyncedAt"] == "2026-06-01T09:00:00.000Z"
    record = dict(zip(header, rows[1], strict=True))
    assert (record["culturalContactFirstName"], record["culturalContactLastName"]) == ("'-2+3", "'+33 1 23")
    for row in rows:
        assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row)


def test_the_export_reads_one_page_at_a_time(engine: Engine, api: TestClient) -> None:
    """The stream is made of pages: the first page is out before the last one is read."""
    event = new_event(api)
    made = [new_ticket(api, eventCode=event["code"])["number"] for _ in range(5)]
    pages = holders.holder_pages(engine, holders_event_id(engine, event["code"]), page_size=2)
    first = next(pages)
    assert [v.ticket_number for v in first] == made[:2]
    assert [v.ticket_number for page in pages for v in page] == made[2:]


def holders_event_id(engine: Engine, code: str) -> int:
    with unit_of_work(engine, write=False) as conn:
        return holders.event_by_code(conn, code).id


def test_the_distribution_history_as_csv(api: TestClient, engine: Engine) -> None:
    ticket = new_ticket(api)
    recipient = new_contact(api, firstName="=cmd", lastName="Roux", email="bea@example.com")
    pend(engine, ticket, recipient["id"], "bea@example.com", "T-1")
    response = api.get(f"/api/tickets/{ticket['id']}/distribution-history.csv")
    assert response.status_code == 200 and response.headers["content-type"] == "text/csv; charset=utf-8"
    header, *rows = rows_of(response.text)
    assert tuple(header) == exports.HISTORY_COLUMNS and len(rows) == 1
    record = dict(zip(header, rows[0], strict=True))
    assert (record["ticketNumber"], record["status"], record["newContactFirstName"], record["recipientEmail"],
            record["transferId"]) == (ticket["number"], "PENDING", "'=cmd", "bea@example.com", "T-1")
    missing = api.get("/api/tickets/424242/distribution-history.csv")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "TICKET_NOT_FOUND"


@pytest.mark.parametrize("code", ["%00", "a%20b", "x" * 51])
def test_a_code_no_event_can_have_is_a_422(api: TestClient, code: str) -> None:
    response = api.get(f"/api/events/{code}/holders.csv")
    assert response.status_code == 422 and response.json()["error"]["code"] == "INVALID_INPUT"
