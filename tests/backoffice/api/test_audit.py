"""O2 through the API: ``GET /api/audit`` lists every change with who made it, newest first, in the
list envelope; interfaces (custom parameters, the password only as changed), ticket actions and
filters."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.support.backoffice import USER, created, interface_body, mark_printed, new_ticket
from tixtrace.backoffice.services.audit import SECRET

ENTRY_FIELDS = {"id", "at", "actor", "action", "objectType", "objectId", "changes"}


def test_an_interface_change_shows_the_custom_parameters_before_and_after_never_the_password(
        api: TestClient) -> None:
    body = interface_body(password="Old-Key-Never-Shown")
    interface = created(api, "/api/interfaces", body)
    changed = {**body, "customParameters": body["customParameters"] + "\nticketIterationSize=200",
               "password": "New-Key-Never-Shown"}
    assert api.put(f"/api/interfaces/{interface['id']}", json=changed).status_code == 200
    unchanged = {**changed, "password": None}
    assert api.put(f"/api/interfaces/{interface['id']}", json=unchanged).status_code == 200  # nothing changed
    response = api.get("/api/audit", params={"objectType": "interface", "objectId": interface["id"]})
    assert response.status_code == 200 and response.json()["nextCursor"] is None
    assert "Key-Never-Shown" not in response.text
    [update, creation] = response.json()["items"]
    assert set(update) == ENTRY_FIELDS and update["actor"] == USER and update["action"] == "UPDATE"
    assert update["objectType"] == "interface" and update["objectId"] == interface["id"]
    assert update["changes"] == {"customParameters": [body["customParameters"], changed["customParameters"]],
                                 "password": [SECRET, SECRET]}
    assert creation["action"] == "CREATE" and creation["changes"]["password"] == [None, SECRET]
    assert creation["changes"]["name"] == [None, body["name"]]


def test_a_move_to_another_wallet_records_the_feed_reset(api: TestClient) -> None:
    body = interface_body()
    interface = created(api, "/api/interfaces", body)
    moved = {**body, "login": "other@organizer.example", "password": None}
    assert api.put(f"/api/interfaces/{interface['id']}", json=moved).status_code == 200
    [update, _] = api.get("/api/audit", params={"objectType": "interface", "objectId": interface["id"]}).json()["items"]
    assert update["changes"] == {"login": [body["login"], "other@organizer.example"], "feedReset": [False, True]}


def test_ticket_actions_are_audited_with_their_actor(api: TestClient, engine) -> None:  # type: ignore[no-untyped-def]
    ticket = new_ticket(api)
    mark_printed(engine, ticket["id"])
    reprinted = api.post(f"/api/tickets/{ticket['id']}/reprint")
    assert reprinted.status_code == 201, reprinted.text
    other = new_ticket(api)
    assert api.post(f"/api/tickets/{other['id']}/cancel").status_code == 200
    assert api.post(f"/api/tickets/{other['id']}/cancel").status_code == 409  # refused: no entry
    [reprint] = api.get("/api/audit", params={"objectType": "ticket", "objectId": ticket["id"]}).json()["items"]
    assert reprint["action"] == "REPRINT" and reprint["actor"] == USER
    assert reprint["changes"] == {"status": ["PRINTED", "INVALIDATED"],
                                  "replacedByTicketId": [None, reprinted.json()["id"]]}
    [cancel] = api.get("/api/audit", params={"objectType": "ticket", "objectId": other["id"]}).json()["items"]
    assert cancel["action"] == "CANCEL" and cancel["changes"] == {"status": ["NOT_PRINTED", "CANCELLED"]}


def test_the_list_is_newest_first_page_by_page_and_filtered(api: TestClient) -> None:
    ids = [created(api, "/api/interfaces", interface_body())["id"] for _ in range(5)]
    schedule = created(api, f"/api/interfaces/{ids[0]}/schedules", {"function": "PUSH_CANCELLED", "launch": "MANUAL"})
    seen: list[dict[str, object]] = []
    cursor = None
    while True:
        page = api.get("/api/audit", params={"limit": 2, **({"cursor": cursor} if cursor else {})}).json()
        seen += page["items"]
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert [(e["objectType"], e["objectId"]) for e in seen] == \
        [("schedule", schedule["id"])] + [("interface", i) for i in reversed(ids)]
    assert [e["id"] for e in seen] == sorted((e["id"] for e in seen), reverse=True)
    only = api.get("/api/audit", params={"objectType": "schedule"}).json()["items"]
    assert [e["objectId"] for e in only] == [schedule["id"]]


def test_bad_filters_are_422_naming_the_parameter(api: TestClient) -> None:
    for params, name in (({"objectType": "contact"}, "objectType"), ({"objectId": 3}, "objectId"),
                         ({"objectType": "ticket", "objectId": "x"}, "objectId"),
                         ({"cursor": "not-ours"}, "cursor")):
        response = api.get("/api/audit", params=params)
        assert response.status_code == 422, (params, response.text)
        assert name in response.text, (params, response.text)
