"""/api/contacts and /api/events: shapes, validation naming field and value, lists and cursors."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.support.backoffice import contact_body, event_body, new_contact, new_event
from tixtrace.kernel.cursors import encode_cursor

CONTACT_FIELDS = {"id", "kind", "title", "firstName", "lastName", "email", "phone", "birthDate", "nationality",
                  "idNumber", "country", "language", "allowPromoEmail", "allowThirdPartyEmail",
                  "hasInternetAccount", "isTemporary", "createdAt"}


def test_contact_has_every_field_of_the_contract_null_when_unknown(api: TestClient) -> None:
    body = contact_body(email="  Ana.Lima@Example.com ", title="Ms", phone="+33 1 23 45 67 89")
    contact = new_contact(api, **{k: v for k, v in body.items() if k not in ("kind",)}, kind="individual")
    assert CONTACT_FIELDS <= set(contact)
    assert contact["kind"] == "INDIVIDUAL"
    assert contact["email"] == "Ana.Lima@Example.com"
    assert contact["birthDate"] is None and contact["country"] is None and contact["allowPromoEmail"] is None
    assert contact["isTemporary"] is False and contact["hasInternetAccount"] is False
    assert contact["createdAt"] == "2026-06-01T09:00:00.000Z"
    assert api.get(f"/api/contacts/{contact['id']}").json() == contact


def test_contact_optional_fields_round_trip(api: TestClient) -> None:
    contact = new_contact(api, birthDate="1990-04-02", nationality="fra", idNumber="X123", country="fr",
                          language="fr-CH", allowPromoEmail=True, allowThirdPartyEmail=False,
                          hasInternetAccount=True, reference="CRM-1", mobilePhone="0612345678")
    assert (contact["birthDate"], contact["nationality"], contact["country"], contact["language"]) == \
        ("1990-04-02", "FRA", "FR", "fr-CH")
    assert (contact["allowPromoEmail"], contact["allowThirdPartyEmail"], contact["hasInternetAccount"]) == \
        (True, False, True)
    assert contact["reference"] == "CRM-1" and contact["mobilePhone"] == "0612345678"
    again = api.post("/api/contacts", json=contact_body(reference="CRM-1"))
    assert again.status_code == 409 and again.json()["error"]["code"] == "CONTACT_REFERENCE_TAKEN"


def test_bad_contact_fields_are_named_with_their_values(api: TestClient) -> None:
    response = api.post("/api/contacts", json=contact_body(kind="ALIEN", email="ana@", country="FRA",
                                                           lastName="  ", phone="call me"))
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "INVALID_INPUT"
    by_field = {e["field"]: e for e in error["details"]["errors"]}
    assert set(by_field) == {"kind", "email", "country", "lastName", "phone"}
    assert by_field["email"]["value"] == "ana@" and "ana@" in by_field["email"]["message"]
    assert by_field["country"]["value"] == "FRA"
    assert "'ALIEN'" in error["message"]
    assert api.get("/api/contacts").json()["items"] == []  # nothing written


def test_a_structure_needs_no_first_name_but_a_person_does(api: TestClient) -> None:
    assert new_contact(api, kind="STRUCTURE", firstName=None, lastName="Acme")["firstName"] is None
    response = api.post("/api/contacts", json=contact_body(firstName=None))
    assert response.status_code == 422
    assert response.json()["error"]["details"]["errors"][0]["field"] == "firstName"


def test_contacts_by_email_share_the_matching_key_and_pages_chain(api: TestClient) -> None:
    ids = [new_contact(api, email=e)["id"] for e in ("x@example.com", "X@EXAMPLE.COM ", "y@example.com")]
    found = api.get("/api/contacts", params={"email": " x@Example.com"}).json()
    assert [c["id"] for c in found["items"]] == ids[:2] and found["nextCursor"] is None
    first = api.get("/api/contacts", params={"limit": 2}).json()
    assert [c["id"] for c in first["items"]] == ids[:2] and first["nextCursor"]
    second = api.get("/api/contacts", params={"limit": 2, "cursor": first["nextCursor"]}).json()
    assert [c["id"] for c in second["items"]] == ids[2:] and second["nextCursor"] is None


def test_unknown_ids_and_cursors(api: TestClient) -> None:
    for path in ("/api/contacts/999", "/api/events/WC26-M99"):
        response = api.get(path)
        assert response.status_code == 404 and response.json()["error"]["code"].endswith("_NOT_FOUND")
    for cursor in ("garbage", encode_cursor(10**30), encode_cursor("xx"), encode_cursor(-1)):
        response = api.get("/api/contacts", params={"cursor": cursor})
        assert response.status_code == 422 and response.json()["error"]["code"] == "INVALID_CURSOR", cursor


def test_event_shape_and_utc_times(api: TestClient) -> None:
    event = new_event(api, startTime="2026-06-11T21:00:00+02:00", endTime="2026-06-11T23:00:00+02:00")
    assert event["startTime"] == "2026-06-11T19:00:00.000Z" and event["endTime"] == "2026-06-11T21:00:00.000Z"
    assert event["venue"] == {"site": "Estadio Azteca", "city": "Mexico City", "zip": "04650", "countryCode": "MX"}
    assert set(event) == {"id", "code", "name", "startTime", "endTime", "venue", "maxTransfers", "createdAt"}
    assert event["maxTransfers"] is None  # I3: no limit unless set
    assert api.get(f"/api/events/{event['code']}").json() == event
    assert api.get("/api/events", params={"code": event["code"]}).json()["items"] == [event]
    again = api.post("/api/events", json=event_body(code=event["code"]))
    assert again.status_code == 409 and again.json()["error"]["code"] == "EVENT_CODE_TAKEN"


def test_bad_event_fields(api: TestClient) -> None:
    body = event_body(code="has space", startTime="2026-06-11T19:00:00", endTime="2026-06-10T19:00:00Z")
    body["venue"]["countryCode"] = "MEX"
    response = api.post("/api/events", json=body)
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["error"]["details"]["errors"]}
    assert fields == {"code", "startTime", "venue.countryCode"}
    body = event_body(startTime="2026-06-11T19:00:00Z", endTime="2026-06-10T19:00:00Z")
    response = api.post("/api/events", json=body)
    assert [e["field"] for e in response.json()["error"]["details"]["errors"]] == ["endTime"]


def test_i3_an_event_may_set_max_transfers(api: TestClient) -> None:
    for value in (0, 1, 1000, None):
        event = new_event(api, maxTransfers=value)
        assert event["maxTransfers"] == value
        assert api.get(f"/api/events/{event['code']}").json()["maxTransfers"] == value


def test_i3_max_transfers_out_of_range_is_a_clear_422(api: TestClient) -> None:
    for value in (-1, 1001, 10**6):
        response = api.post("/api/events", json=event_body(maxTransfers=value))
        assert response.status_code == 422, response.text
        [error] = response.json()["error"]["details"]["errors"]
        assert error["field"] == "maxTransfers" and error["value"] == value
        assert "0 to 1000" in error["message"] and str(value) in error["message"]
    for value in ("3", 2.5, True):
        response = api.post("/api/events", json=event_body(maxTransfers=value))
        assert response.status_code == 422, response.text
        assert "maxTransfers" in response.text


def test_events_are_read_by_code_and_unknown_or_impossible_codes_are_404(api: TestClient) -> None:
    event = new_event(api, code="2026")  # a code may be all digits: it is never taken for an id
    other = new_event(api, code="WC26-M02")
    assert api.get("/api/events/2026").json() == event
    assert api.get("/api/events/WC26-M02").json() == other
    for code in (str(event["id"]), "WC26-M99", "-1", "has space", "%00"):
        response = api.get(f"/api/events/{code}")
        assert response.status_code == 404, (code, response.text)
        assert response.json()["error"]["code"] == "EVENT_NOT_FOUND"
    assert api.get("/api/events/" + "x" * 51).status_code == 422
    listed = api.get("/api/events").json()
    assert [e["code"] for e in listed["items"]] == ["2026", "WC26-M02"] and listed["nextCursor"] is None


def test_patch_changes_only_the_fields_given(api: TestClient) -> None:
    event = new_event(api, endTime="2026-06-11T21:00:00Z", maxTransfers=3)
    response = api.patch(f"/api/events/{event['code']}", json={"name": "Opening match, moved", "maxTransfers": 1})
    assert response.status_code == 200, response.text
    assert response.json() == {**event, "name": "Opening match, moved", "maxTransfers": 1}
    assert api.get(f"/api/events/{event['code']}").json() == response.json()
    cleared = api.patch(f"/api/events/{event['code']}", json={"maxTransfers": None, "endTime": None}).json()
    assert cleared["maxTransfers"] is None and cleared["endTime"] is None and cleared["name"] == "Opening match, moved"
    venue = {"site": "Estadio BBVA", "city": "Monterrey", "zip": "67170", "countryCode": "mx"}
    moved = api.patch(f"/api/events/{event['code']}",
                      json={"venue": venue, "startTime": "2026-06-12T20:00:00+02:00"}).json()
    assert moved["venue"] == {**venue, "countryCode": "MX"} and moved["startTime"] == "2026-06-12T18:00:00.000Z"
    assert api.patch(f"/api/events/{event['code']}", json={}).json() == moved  # nothing given, nothing changed


def test_patch_refusals_name_the_field_and_change_nothing(api: TestClient) -> None:
    event = new_event(api, startTime="2026-06-11T19:00:00Z", endTime="2026-06-11T21:00:00Z")
    cases = [
        ({"maxTransfers": 1001}, "maxTransfers", 422),
        ({"maxTransfers": "2"}, "maxTransfers", 422),
        ({"startTime": "2026-06-11T22:00:00Z"}, "endTime", 422),  # now after the stored end
        ({"startTime": "2026-06-11T19:00:00"}, "startTime", 422),  # no time zone
        ({"name": None}, "name", 422),
        ({"venue": None}, "venue.site", 422),
        ({"code": "OTHER"}, "code", 422),  # the code is the event's key
    ]
    for body, field, status in cases:
        response = api.patch(f"/api/events/{event['code']}", json=body)
        assert response.status_code == status, (body, response.text)
        assert field in response.text, (body, response.text)
    assert api.get(f"/api/events/{event['code']}").json() == event
    missing = api.patch("/api/events/NOPE", json={"name": "x"})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "EVENT_NOT_FOUND"
