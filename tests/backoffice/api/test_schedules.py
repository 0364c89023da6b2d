"""O1 through the API: a schedule is edited (every field), paused, deleted (refused while it runs, its
executions still readable) and its feed reset; the scheduler skips paused schedules and schedules
outside their window. Each change shows in ``GET /api/audit`` with the signed-in user (O2)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, update

from tests.support.backoffice import START, USER, created, interface_body, new_event
from tixtrace.backoffice.db.tables import schedules
from tixtrace.backoffice.interfaces.locks import run_locks
from tixtrace.backoffice.interfaces.scheduler import Scheduler
from tixtrace.kernel.clock import TestClock
from tixtrace.kernel.db import unit_of_work


def _schedule(api: TestClient, function: str = "PUSH_CANCELLED", **fields: Any) -> dict[str, Any]:
    interface = created(api, "/api/interfaces", interface_body())
    return created(api, f"/api/interfaces/{interface['id']}/schedules", {"function": function, "launch": "MANUAL",
                                                                          **fields})


def _audit(api: TestClient, schedule_id: int) -> list[dict[str, Any]]:
    response = api.get("/api/audit", params={"objectType": "schedule", "objectId": schedule_id})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_patch_changes_every_field_and_is_audited_with_before_and_after(api: TestClient) -> None:
    event = new_event(api)["code"]
    schedule = _schedule(api, "TICKETS_INJECTION")
    assert schedule["active"] is True
    patch = {"launch": "AUTOMATIC", "frequencyMinutes": 15, "startsAt": "2026-06-10T08:00:00Z",
             "endsAt": "2026-06-20T23:00:00Z", "batchSize": 250, "skipTicketNumbers": ["T-1", "T-2"],
             "eventCodes": [event], "active": False}
    response = api.patch(f"/api/schedules/{schedule['id']}", json=patch)
    assert response.status_code == 200, response.text
    edited = response.json()
    assert {name: edited[name] for name in patch} == {**patch, "startsAt": "2026-06-10T08:00:00.000Z",
                                                     "endsAt": "2026-06-20T23:00:00.000Z"}
    assert api.get(f"/api/schedules/{schedule['id']}").json() == edited
    [entry, creation] = _audit(api, schedule["id"])
    assert creation["action"] == "CREATE" and creation["actor"] == USER
    assert entry["action"] == "UPDATE" and entry["actor"] == USER and entry["objectId"] == schedule["id"]
    assert entry["changes"] == {
        "launch": ["MANUAL", "AUTOMATIC"], "frequencyMinutes": [5, 15],
        "startsAt": [None, "2026-06-10T08:00:00.000Z"], "endsAt": [None, "2026-06-20T23:00:00.000Z"],
        "batchSize": [1000, 250], "skipTicketNumbers": [[], ["T-1", "T-2"]], "eventCodes": [[], [event]],
        "active": [True, False]}


def test_patch_keeps_the_fields_left_out_and_clears_a_bound_sent_null(api: TestClient) -> None:
    schedule = _schedule(api, batchSize=10, startsAt="2026-06-10T08:00:00Z")
    edited = api.patch(f"/api/schedules/{schedule['id']}", json={"startsAt": None}).json()
    assert edited["startsAt"] is None and edited["batchSize"] == 10 and edited["launch"] == "MANUAL"
    edited = api.patch(f"/api/schedules/{schedule['id']}", json={"skipTicketNumbers": ["X"]}).json()
    assert edited["skipTicketNumbers"] == ["X"] and edited["batchSize"] == 10


def test_pause_and_resume_are_audited_as_such(api: TestClient) -> None:
    schedule = _schedule(api)
    assert api.patch(f"/api/schedules/{schedule['id']}", json={"active": False}).json()["active"] is False
    assert api.patch(f"/api/schedules/{schedule['id']}", json={"active": True}).json()["active"] is True
    assert api.patch(f"/api/schedules/{schedule['id']}", json={"active": True}).status_code == 200  # no change
    assert [e["action"] for e in _audit(api, schedule["id"])] == ["RESUME", "PAUSE", "CREATE"]


def test_refused_edits_name_each_field_and_change_nothing(api: TestClient) -> None:
    schedule = _schedule(api, "PUSH_CANCELLED", startsAt="2026-06-10T08:00:00Z")
    path = f"/api/schedules/{schedule['id']}"
    cases: list[tuple[dict[str, Any], str]] = [
        ({"frequencyMinutes": -1}, "frequencyMinutes"),
        ({"batchSize": 0}, "batchSize"),
        ({"launch": "SOMETIMES"}, "launch"),
        ({"endsAt": "2026-06-01T00:00:00Z"}, "endsAt"),  # before the stored startsAt
        ({"startsAt": "2026-06-10T08:00:00"}, "startsAt"),  # no time zone
        ({"eventCodes": ["WC26-M01"]}, "eventCodes"),  # not an injection
    ]
    for body, field in cases:
        response = api.patch(path, json=body)
        assert response.status_code == 422, (body, response.text)
        error = response.json()["error"]
        assert field in error["message"], (body, error)
        assert field in {problem["field"] for problem in error["details"]["errors"]}, (body, error)
    for body in ({"function": "TICKETS_INJECTION"}, {"active": "no"}, {"frequencyMinutes": "5"}):
        assert api.patch(path, json=body).status_code == 422, body
    assert api.get(path).json() == schedule
    assert [e["action"] for e in _audit(api, schedule["id"])] == ["CREATE"]


def test_unknown_event_codes_are_refused(api: TestClient) -> None:
    schedule = _schedule(api, "TICKETS_INJECTION")
    response = api.patch(f"/api/schedules/{schedule['id']}", json={"eventCodes": ["NOPE"]})
    assert response.status_code == 422 and response.json()["error"]["code"] == "UNKNOWN_REFERENCE"


def test_the_scheduler_skips_paused_schedules_and_schedules_outside_their_window(
        api: TestClient, engine: Engine) -> None:
    running = _schedule(api, "PUSH_CANCELLED", launch="AUTOMATIC")
    paused = _schedule(api, "PUSH_CONTROLLED", launch="AUTOMATIC")
    later = _schedule(api, "PUSH_CANCELLED", launch="AUTOMATIC")
    ended = _schedule(api, "PUSH_CONTROLLED", launch="AUTOMATIC")
    assert api.patch(f"/api/schedules/{paused['id']}", json={"active": False}).status_code == 200
    assert api.patch(f"/api/schedules/{later['id']}",
                     json={"startsAt": (START + timedelta(days=1)).isoformat()}).status_code == 200
    assert api.patch(f"/api/schedules/{ended['id']}",
                     json={"startsAt": (START - timedelta(days=2)).isoformat(),
                           "endsAt": (START - timedelta(days=1)).isoformat()}).status_code == 200
    scheduler = Scheduler(engine, TestClock(START))
    assert scheduler.due(START) == [running["id"]]
    assert api.patch(f"/api/schedules/{paused['id']}", json={"active": True}).status_code == 200
    assert sorted(scheduler.due(START)) == sorted([running["id"], paused["id"]])
    assert sorted(scheduler.due(START + timedelta(days=1))) == sorted([running["id"], paused["id"], later["id"]])


def test_delete_hides_the_schedule_keeps_its_executions_and_is_audited(api: TestClient, engine: Engine) -> None:
    schedule = _schedule(api, "PUSH_CANCELLED", launch="AUTOMATIC")
    run = api.post(f"/api/schedules/{schedule['id']}/run")  # no cancelled ticket: nothing to send
    assert run.status_code == 200, run.text
    execution = run.json()["id"]
    response = api.delete(f"/api/schedules/{schedule['id']}")
    assert response.status_code == 204 and response.content == b""
    assert api.get(f"/api/schedules/{schedule['id']}").status_code == 404
    assert api.get(f"/api/interfaces/{schedule['interfaceId']}/schedules").json()["items"] == []
    for again in (api.delete(f"/api/schedules/{schedule['id']}"),
                  api.patch(f"/api/schedules/{schedule['id']}", json={"active": True}),
                  api.post(f"/api/schedules/{schedule['id']}/run")):
        assert again.status_code == 404 and again.json()["error"]["code"] == "SCHEDULE_NOT_FOUND"
    kept = api.get(f"/api/executions/{execution}")
    assert kept.status_code == 200 and kept.json()["scheduleId"] == schedule["id"]
    assert Scheduler(engine, TestClock(START)).due(START) == []
    [deletion, launch, _] = _audit(api, schedule["id"])
    assert launch["action"] == "RUN" and launch["actor"] == USER and launch["changes"] == {
        "executionId": [None, execution]}
    assert deletion["action"] == "DELETE" and deletion["actor"] == USER
    assert deletion["changes"]["function"] == ["PUSH_CANCELLED", None]
    # a second feedback may be added once the first is deleted
    feedback = created(api, f"/api/interfaces/{schedule['interfaceId']}/schedules",
                       {"function": "RETRIEVE_TICKET_STATUS", "launch": "MANUAL"})
    assert api.delete(f"/api/schedules/{feedback['id']}").status_code == 204
    created(api, f"/api/interfaces/{schedule['interfaceId']}/schedules",
            {"function": "RETRIEVE_TICKET_STATUS", "launch": "MANUAL"})


def test_delete_is_refused_while_the_schedule_runs(api: TestClient, engine: Engine) -> None:
    schedule = _schedule(api)
    with run_locks(engine, [(f"schedule:{schedule['id']}", "a run")]):  # what a running execution holds
        response = api.delete(f"/api/schedules/{schedule['id']}")
    assert response.status_code == 409, response.text
    assert response.json()["error"]["code"] == "SCHEDULE_RUNNING"
    assert api.get(f"/api/schedules/{schedule['id']}").status_code == 200
    assert [e["action"] for e in _audit(api, schedule["id"])] == ["CREATE"]


def test_reset_feed_is_audited_with_the_position_it_cleared(api: TestClient, engine: Engine) -> None:
    schedule = _schedule(api, "RETRIEVE_TICKET_STATUS")
    with unit_of_work(engine) as conn:
        conn.execute(update(schedules).where(schedules.c.id == schedule["id"])
                     .values(pagination_key="k-42", last_record_id=42))
    assert api.post(f"/api/schedules/{schedule['id']}/reset-feed", json={"confirm": False}).status_code == 422
    response = api.post(f"/api/schedules/{schedule['id']}/reset-feed", json={"confirm": True})
    assert response.status_code == 200 and response.json()["paginationKey"] is None
    [entry, _] = _audit(api, schedule["id"])
    assert entry["action"] == "RESET_FEED" and entry["actor"] == USER
    assert entry["changes"] == {"paginationKey": ["k-42", None], "lastRecordId": [42, None]}
