"""``GET /api/tickets?q=`` and ``GET /api/contacts?q=`` (DESIGN 7): prefixes of numbers and barcodes with
spaces ignored, names and e-mails without case or accents on both databases, through indexed columns."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert, select, text

from tests.support.backoffice import START, new_contact, new_event, new_ticket
from tixtrace.backoffice.db.tables import contacts, distribution_lines
from tixtrace.kernel.db import unit_of_work


def numbers(response_json: dict) -> list[str]:  # type: ignore[type-arg]
    return sorted(item["number"] for item in response_json["items"])


def test_a_prefix_of_the_number_or_barcode_finds_the_ticket_spaces_ignored(api: TestClient) -> None:
    event = new_event(api)
    one = new_ticket(api, eventCode=event["code"], number="3470498000106041", barcode="990011223344")
    two = new_ticket(api, eventCode=event["code"], number="3470498000106042", barcode="880011223344")
    other = new_ticket(api, eventCode=event["code"], number="5550000000000001", barcode="550011223344")
    for q in ("347049800010604", "3470 4980", " 34 70 49 80 00 10 60 4 "):
        found = api.get("/api/tickets", params={"q": q}).json()
        assert numbers(found) == [one["number"], two["number"]] and found["total"] == 2, q
    assert numbers(api.get("/api/tickets", params={"q": "9900 1122"}).json()) == [one["number"]]
    assert numbers(api.get("/api/tickets", params={"q": "3470498000106041"}).json()) == [one["number"]]
    assert api.get("/api/tickets", params={"q": "470498"}).json()["items"] == []  # a prefix, not "contains"
    assert other["number"] not in numbers(api.get("/api/tickets", params={"q": "3"}).json())


def test_names_are_found_without_case_or_accents_and_in_either_order(api: TestClient) -> None:
    chloe = new_contact(api, firstName="Chloé", lastName="Lima", email="Chloe.Lima@Example.com")
    new_contact(api, firstName="Chloe", lastName="Martin", email="cm@example.com")
    new_contact(api, firstName="Zoë", lastName="Ørsted", email="zoe@example.com")
    for q in ("chloe lima", "CHLOÉ LIMA", "Chloé  Lima", "lima", "LIMA chloe", "chloe l", "chloe.lima@",
              "CHLOE.LIMA@EXAMPLE.COM"):
        found = api.get("/api/contacts", params={"q": q}).json()
        assert [c["id"] for c in found["items"]] == [chloe["id"]] and found["total"] == 1, q
    assert api.get("/api/contacts", params={"q": "chloe"}).json()["total"] == 2
    assert api.get("/api/contacts", params={"q": "zoe orsted"}).json()["total"] == 1
    assert api.get("/api/contacts", params={"q": "ima"}).json()["total"] == 0  # a prefix, not "contains"
    assert api.get("/api/contacts", params={"q": "100%"}).json()["total"] == 0  # LIKE's wildcards are text


def test_tickets_by_contact_event_status_and_pending_recipient(api: TestClient, engine: Engine) -> None:
    paris, lyon = new_event(api), new_event(api)
    chloe = new_contact(api, firstName="Chloé", lastName="Lima")
    owned = new_ticket(api, eventCode=paris["code"], culturalContactId=chloe["id"])
    elsewhere = new_ticket(api, eventCode=lyon["code"], culturalContactId=chloe["id"])
    sent = new_ticket(api, eventCode=paris["code"])
    recipient = new_contact(api, firstName="Pending", lastName="CREATION", email="Élodie.Roux@example.com")
    with unit_of_work(engine) as conn:
        conn.execute(insert(distribution_lines).values(
            ticket_id=sent["id"], transfer_id="T-1", action="DISTRIBUTE", old_contact_id=sent["culturalContact"]["id"],
            new_contact_id=recipient["id"], recipient_email="Élodie.Roux@example.com", status="PENDING",
            initiated_at=START, recorded_at=START, updated_at=START, opened_record_id=1))
    assert numbers(api.get("/api/tickets", params={"q": "CHLOE LIMA"}).json()) == sorted(
        [owned["number"], elsewhere["number"]])
    by_event = api.get("/api/tickets", params={"q": "chloe lima", "eventCode": paris["code"]}).json()
    assert numbers(by_event) == [owned["number"]] and by_event["total"] == 1
    assert api.get("/api/tickets", params={"eventCode": paris["code"]}).json()["total"] == 2
    assert api.get("/api/tickets", params={"q": "chloe", "status": "PRINTED"}).json()["total"] == 0
    assert numbers(api.get("/api/tickets", params={"q": "élodie.roux@example.com"}).json()) == [sent["number"]]
    with unit_of_work(engine) as conn:  # a confirmed transfer's recipient is found as owner, not by the line
        conn.execute(distribution_lines.update().values(status="CONFIRMED"))
    assert api.get("/api/tickets", params={"q": "élodie.roux@example.com"}).json()["items"] == []


def test_total_and_pages_of_a_search(api: TestClient) -> None:
    event = new_event(api)
    made = [new_ticket(api, eventCode=event["code"], number=f"77001{n:03d}") for n in range(5)]
    first = api.get("/api/tickets", params={"q": "7700 1", "limit": 2}).json()
    assert first["total"] == 5 and len(first["items"]) == 2 and first["nextCursor"]
    seen = [item["number"] for item in first["items"]]
    cursor = first["nextCursor"]
    while cursor:
        page = api.get("/api/tickets", params={"q": "7700 1", "limit": 2, "cursor": cursor}).json()
        seen += [item["number"] for item in page["items"]]
        cursor = page["nextCursor"]
    assert seen == [t["number"] for t in made]


def test_a_too_long_query_is_a_422(api: TestClient) -> None:
    response = api.get("/api/contacts", params={"q": "x" * 321})
    assert response.status_code == 422 and "error" in response.json()


def test_the_search_keys_are_backfilled_and_kept_on_write(api: TestClient, engine: Engine) -> None:
    """Every contact's stored keys equal the folding of its name (the migration wrote them for old rows)."""
    new_contact(api, firstName="Ève", lastName="D'Argent")
    with unit_of_work(engine, write=False) as conn:
        rows = conn.execute(select(contacts.c.search_name, contacts.c.search_name_reversed)).all()
    assert ("eve d'argent", "d'argent eve") in rows


def test_the_searches_use_indexes(api: TestClient, engine: Engine) -> None:
    """The plan of a name search reads an index, never the whole table (the point of the stored keys)."""
    from tixtrace.backoffice.services.search import matching_contacts
    with unit_of_work(engine, write=False) as conn:
        query = select(contacts.c.id).where(matching_contacts(conn, "chloe lima"))
        compiled = query.compile(conn, compile_kwargs={"literal_binds": True})
        if conn.dialect.name == "sqlite":
            plan = " ".join(str(row[-1]) for row in conn.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))
            assert "ix_contacts_search_name" in plan and "SCAN contacts" not in plan.replace("USING", ""), plan
        else:
            conn.execute(text("SET LOCAL enable_seqscan = off"))
            plan = " ".join(row[0] for row in conn.execute(text(f"EXPLAIN {compiled}")))
            assert "ix_contacts_search_name" in plan, plan


@pytest.mark.parametrize(("path", "params"), [("/api/tickets", {"q": "a\x00b"}), ("/api/contacts", {"q": "\x00"}),
                                              ("/api/tickets", {"eventCode": "\x00"})])
def test_unstorable_text_is_a_422(api: TestClient, path: str, params: dict[str, str]) -> None:
    response = api.get(path, params=params)
    assert response.status_code == 422 and response.json()["error"]["code"] == "INVALID_INPUT"


def test_a_name_that_folding_lengthens_is_stored_and_found(api: TestClient) -> None:
    long = new_contact(api, firstName="ß" * 100, lastName="Æ" * 100)  # folded: 401 characters, cut to 201
    for q in ("ß" * 100, "AE" * 100):  # a prefix of either order
        assert [c["id"] for c in api.get("/api/contacts", params={"q": q}).json()["items"]] == [long["id"]], q
