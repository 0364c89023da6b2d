"""/api/tickets: creation, shape, the operator's actions (reprint above all) and distribution history."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert, select

from tests.support.backoffice import START, mark_printed, new_contact, new_event, new_ticket
from tixtrace.backoffice.db.tables import distribution_lines, ticket_actions
from tixtrace.kernel.db import unit_of_work

TICKET_FIELDS = {"id", "number", "eventCode", "status", "mobileStatus", "culturalContact", "owner", "buyer",
                 "walletOwner", "ticketHolder", "replacesTicketId", "lastSyncedAt"}


def test_ticket_shape_with_full_contacts(api: TestClient) -> None:
    event = new_event(api)
    ana, bob = new_contact(api), new_contact(api, firstName="Bob")
    ticket = new_ticket(api, eventCode=event["code"], culturalContactId=ana["id"], buyerContactId=bob["id"],
                        number="WC26-000001", seat="A-12", price=120.5)
    assert TICKET_FIELDS <= set(ticket)
    assert (ticket["number"], ticket["eventCode"], ticket["status"], ticket["seat"], ticket["price"],
            ticket["currency"]) == ("WC26-000001", event["code"], "NOT_PRINTED", "A-12", 120.5, "EUR")
    assert ticket["culturalContact"] == ana and ticket["owner"] == ana and ticket["buyer"] == bob
    assert ticket["mobileStatus"] is None and ticket["walletOwner"] is None and ticket["ticketHolder"] is None
    assert ticket["replacesTicketId"] is None and ticket["lastSyncedAt"] is None
    assert api.get(f"/api/tickets/{ticket['id']}").json() == ticket
    assert api.get("/api/tickets", params={"number": "WC26-000001"}).json() == {"items": [ticket], "total": 1,
                                                                               "nextCursor": None}
    assert api.get("/api/tickets", params={"number": "nope"}).json()["items"] == []


def test_generated_numbers_are_unique_and_a_taken_number_is_a_conflict(api: TestClient) -> None:
    a, b = new_ticket(api), new_ticket(api)
    assert a["number"] != b["number"] and a["number"].isdigit() and a["barcode"] != b["barcode"]
    response = api.post("/api/tickets", json={"eventCode": a["eventCode"], "culturalContactId":
                                              a["culturalContact"]["id"], "number": a["number"]})
    assert response.status_code == 409 and response.json()["error"]["code"] == "TICKET_NUMBER_TAKEN"


def test_unknown_event_and_contacts_are_named_in_one_422(api: TestClient) -> None:
    response = api.post("/api/tickets", json={"eventCode": "NOPE", "culturalContactId": 424242,
                                              "buyerContactId": 434343})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "UNKNOWN_REFERENCE"
    assert {(e["field"], e["value"]) for e in error["details"]["errors"]} == {
        ("eventCode", "NOPE"), ("culturalContactId", 424242), ("buyerContactId", 434343)}
    assert api.get("/api/tickets").json()["items"] == []


def test_a_structure_cannot_be_the_cultural_contact(api: TestClient) -> None:
    acme = new_contact(api, kind="STRUCTURE", firstName=None, lastName="Acme")
    response = api.post("/api/tickets", json={"eventCode": new_event(api)["code"], "culturalContactId": acme["id"]})
    assert response.status_code == 422 and "STRUCTURE" in response.json()["error"]["message"]


def test_bad_price(api: TestClient) -> None:
    event, ana = new_event(api), new_contact(api)
    for price in (-1, 12.345, "twelve", "NaN"):
        response = api.post("/api/tickets", json={"eventCode": event["code"], "culturalContactId": ana["id"],
                                                  "price": price})
        assert response.status_code == 422, price
        assert response.json()["error"]["details"]["errors"][0]["field"] == "price"


def test_reprint_replaces_a_printed_ticket_with_a_new_not_printed_one(api: TestClient, engine: Engine) -> None:
    old = new_ticket(api, seat="B-7", price=80, buyerContactId=new_contact(api)["id"])
    refused = api.post(f"/api/tickets/{old['id']}/reprint")
    assert refused.status_code == 409 and refused.json()["error"]["details"]["status"] == "NOT_PRINTED"
    mark_printed(engine, old["id"])
    response = api.post(f"/api/tickets/{old['id']}/reprint")
    assert response.status_code == 201, response.text
    new = response.json()
    assert new["id"] != old["id"] and new["number"] != old["number"] and new["barcode"] != old["barcode"]
    assert new["status"] == "NOT_PRINTED" and new["replacesTicketId"] == old["id"]
    for same in ("eventCode", "seat", "price", "currency", "culturalContact", "owner", "buyer"):
        assert new[same] == old[same], same
    assert api.get(f"/api/tickets/{old['id']}").json()["status"] == "INVALIDATED"
    again = api.post(f"/api/tickets/{old['id']}/reprint")
    assert again.status_code == 409 and again.json()["error"]["code"] == "INVALID_TICKET_TRANSITION"
    with unit_of_work(engine, write=False) as conn:
        actions = conn.execute(select(ticket_actions)).mappings().all()
    assert [(a["ticket_id"], a["action"], a["from_status"], a["to_status"], a["related_ticket_id"], a["actor"])
            for a in actions] == [(old["id"], "PRINT", "NOT_PRINTED", "PRINTED", None, "injection"),
                                  (old["id"], "REPRINT", "PRINTED", "INVALIDATED", new["id"], "operator")]


def test_status_machine(api: TestClient, engine: Engine) -> None:
    cases = [  # (printed first?, action, expected status or None for 409)
        (False, "cancel", "CANCELLED"), (True, "cancel", "CANCELLED"),
        (False, "invalidate", "INVALIDATED"), (True, "invalidate", "INVALIDATED"),
        (False, "control", None), (True, "control", "CONTROLLED"),
    ]
    event, ana = new_event(api), new_contact(api)
    for printed, action, expected in cases:
        ticket = new_ticket(api, eventCode=event["code"], culturalContactId=ana["id"])
        if printed:
            mark_printed(engine, ticket["id"])
        response = api.post(f"/api/tickets/{ticket['id']}/{action}")
        if expected is None:
            assert response.status_code == 409, (printed, action)
            continue
        assert response.status_code == 200 and response.json()["status"] == expected, (printed, action)
        for then in ("cancel", "invalidate", "control", "reprint"):  # every final status stays final
            after = api.post(f"/api/tickets/{ticket['id']}/{then}")
            assert after.status_code == 409, (expected, then)
            details = after.json()["error"]["details"]
            assert details["status"] == expected and details["action"] == then.upper()
    assert api.post("/api/tickets/987654/cancel").status_code == 404


def test_tickets_filter_by_status(api: TestClient, engine: Engine) -> None:
    a, b = new_ticket(api), new_ticket(api)
    mark_printed(engine, b["id"])
    assert [t["id"] for t in api.get("/api/tickets", params={"status": "PRINTED"}).json()["items"]] == [b["id"]]
    assert [t["id"] for t in api.get("/api/tickets").json()["items"]] == [a["id"], b["id"]]
    assert api.get("/api/tickets", params={"status": "LOST"}).status_code == 422


def test_distribution_history_oldest_first_with_contacts_and_cursor(api: TestClient, engine: Engine) -> None:
    ticket = new_ticket(api)
    ana, bea = ticket["culturalContact"], new_contact(api, firstName="Bea")
    rows = [  # inserted out of order on purpose; T-1's clock is later than T-2's (a clock moved back):
        # the wallet's order (the recordId that opened each) wins (F10)
        ("T-2", "TAKE_BACK", bea["id"], ana["id"], "CONFIRMED", None, START + timedelta(hours=2), 20),
        ("T-1", "DISTRIBUTE", ana["id"], bea["id"], "CONFIRMED", None, START + timedelta(hours=1), 10),
        ("T-3", "DISTRIBUTE", ana["id"], None, "CANCELLED", "TIMEOUT", START + timedelta(minutes=30), 30),
    ]
    with unit_of_work(engine) as conn:
        for transfer, action, old, new, status, reason, at, opened in rows:
            conn.execute(insert(distribution_lines).values(
                ticket_id=ticket["id"], transfer_id=transfer, action=action, old_contact_id=old,
                new_contact_id=new, recipient_email="bea@example.com", status=status, reason=reason,
                contact_match="EXISTING", initiated_at=at, resolved_at=at + timedelta(minutes=5),
                recorded_at=at, updated_at=at, opened_record_id=opened))
    body = api.get(f"/api/tickets/{ticket['id']}/distribution-history").json()
    assert [line["transferId"] for line in body["items"]] == ["T-1", "T-2", "T-3"] and body["nextCursor"] is None
    first = body["items"][0]
    assert set(first) >= {"id", "action", "oldContact", "newContact", "senderEmail", "recipientEmail", "status",
                          "reason", "contactMatch", "transferId", "initiatedBy", "expiresAt", "initiatedAt",
                          "resolvedAt", "recordedAt"}
    assert first["initiatedBy"] == "SPECTATOR"
    assert first["oldContact"] == ana and first["newContact"] == bea
    assert first["initiatedAt"] == "2026-06-01T10:00:00.000Z" and first["resolvedAt"] == "2026-06-01T10:05:00.000Z"
    assert body["items"][2]["newContact"] is None and body["items"][2]["reason"] == "TIMEOUT"
    page1 = api.get(f"/api/tickets/{ticket['id']}/distribution-history", params={"limit": 2}).json()
    page2 = api.get(f"/api/tickets/{ticket['id']}/distribution-history",
                    params={"limit": 2, "cursor": page1["nextCursor"]}).json()
    assert [x["transferId"] for x in page1["items"] + page2["items"]] == ["T-1", "T-2", "T-3"]
    assert page2["nextCursor"] is None
    bad = api.get(f"/api/tickets/{ticket['id']}/distribution-history", params={"cursor": page1["nextCursor"][:-3]})
    assert bad.status_code == 422
    assert api.get("/api/tickets/999999/distribution-history").status_code == 404
