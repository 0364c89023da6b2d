"""``/api/executions`` (every schedule's executions, filtered, newest first) and Run now without
waiting (``POST /api/schedules/{id}/run?wait=false``): the execution is recorded RUNNING, with who
launched it, before the 202, and a refused start is a 409 (issue 13: it answered 202 STARTED when
the start was then refused in the background). On SQLite and PostgreSQL.

The schedule's function is replaced by one that waits for the test (``runner.FUNCTIONS``), so the
execution can be seen RUNNING without a wallet and without timing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from tests.support.backoffice import START, USER, created, interface_body
from tixtrace.backoffice.db.tables import executions
from tixtrace.backoffice.domain.executions import ExecutionStatus, LogLevel
from tixtrace.backoffice.interfaces import runner
from tixtrace.backoffice.interfaces.tixngo.run import Run
from tixtrace.backoffice.services.executions import add_counts, finish_execution, start_execution
from tixtrace.kernel.db import unit_of_work


class Gate:
    """An interface function that holds its execution RUNNING until ``open`` (then logs a warning)."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def __call__(self, run: Run) -> None:
        self.entered.set()
        assert self.release.wait(30), "the test never opened the gate"
        run.count("records_read", 3)
        run.log(LogLevel.WARNING, "one record parked", "1000000000000001")


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> Iterator[Gate]:
    gate = Gate()
    for function in list(runner.FUNCTIONS):
        monkeypatch.setitem(runner.FUNCTIONS, function, gate)
    yield gate
    gate.release.set()


def _schedules(api: TestClient) -> dict[str, int]:
    interface = created(api, "/api/interfaces", interface_body())["id"]
    return {function: created(api, f"/api/interfaces/{interface}/schedules",
                              {"function": function, "launch": "MANUAL"})["id"]
            for function in ("RETRIEVE_TICKET_STATUS", "PUSH_CANCELLED", "PUSH_CONTROLLED")}


def _count(engine: Engine) -> int:
    with unit_of_work(engine, write=False) as conn:
        return int(conn.scalar(select(func.count()).select_from(executions)) or 0)


def _ended(api: TestClient, execution_id: int) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while (body := api.get(f"/api/executions/{execution_id}").json())["status"] == "RUNNING":
        assert time.monotonic() < deadline, "the execution never ended"
        time.sleep(0.02)
    return body


def test_run_without_waiting_records_the_execution_running_before_answering(api: TestClient, engine: Engine,
                                                                             gate: Gate) -> None:
    schedule = _schedules(api)["PUSH_CANCELLED"]
    response = api.post(f"/api/schedules/{schedule}/run?wait=false")
    assert response.status_code == 202, response.text
    body = response.json()
    assert body == {"executionId": body["executionId"], "scheduleId": schedule, "status": "STARTED"}
    assert response.headers["location"] == f"/api/executions/{body['executionId']}"
    running = api.get(f"/api/executions/{body['executionId']}").json()
    assert running["status"] == "RUNNING" and running["launchedBy"] == USER and running["endedAt"] is None
    gate.release.set()
    ended = _ended(api, body["executionId"])
    assert ended["status"] == "WARNING" and ended["counters"]["recordsRead"] == 3 and ended["launchedBy"] == USER


def test_a_refused_start_is_a_409_without_waiting_too_and_records_nothing(api: TestClient, engine: Engine,
                                                                          gate: Gate) -> None:
    """The same schedule, then another schedule of the same wallet organizer's group (the pushes
    share the organizer's outbound lock): both refused while the first runs, nothing recorded."""
    ids = _schedules(api)
    first = api.post(f"/api/schedules/{ids['PUSH_CANCELLED']}/run?wait=false")
    assert first.status_code == 202
    for schedule in (ids["PUSH_CANCELLED"], ids["PUSH_CONTROLLED"]):
        for wait in ("false", "true"):
            refused = api.post(f"/api/schedules/{schedule}/run?wait={wait}")
            assert refused.status_code == 409, refused.text
            assert refused.json()["error"]["code"] == "RUN_ALREADY_ACTIVE"
    assert _count(engine) == 1
    other = api.post(f"/api/schedules/{ids['RETRIEVE_TICKET_STATUS']}/run?wait=false")  # another lock group
    assert other.status_code == 202
    gate.release.set()
    _ended(api, first.json()["executionId"])
    _ended(api, other.json()["executionId"])
    again = api.post(f"/api/schedules/{ids['PUSH_CANCELLED']}/run?wait=false")  # the lock was released
    assert again.status_code == 202
    _ended(api, again.json()["executionId"])


def test_run_of_an_unknown_schedule_is_404(api: TestClient) -> None:
    response = api.post("/api/schedules/5150/run?wait=false")
    assert response.status_code == 404 and response.json()["error"]["code"] == "SCHEDULE_NOT_FOUND"


def _execution(engine: Engine, schedule: int, status: ExecutionStatus, minutes: int, launched_by: str) -> int:
    with unit_of_work(engine) as conn:
        execution = start_execution(conn, schedule, START + timedelta(minutes=minutes), launched_by=launched_by)
        add_counts(conn, execution.id, {"failed": minutes})
        if status is not ExecutionStatus.RUNNING:
            finish_execution(conn, execution.id, status, START + timedelta(minutes=minutes, seconds=5))
    return execution.id


def test_every_schedules_executions_newest_first_filtered_and_paged(api: TestClient, engine: Engine) -> None:
    ids = _schedules(api)
    feedback, push = ids["RETRIEVE_TICKET_STATUS"], ids["PUSH_CANCELLED"]
    made = [
        _execution(engine, feedback, ExecutionStatus.OK, 0, "scheduler"),
        _execution(engine, push, ExecutionStatus.ERROR, 10, USER),
        _execution(engine, feedback, ExecutionStatus.ERROR, 20, "scheduler"),
        _execution(engine, feedback, ExecutionStatus.WARNING, 30, "cli"),
        _execution(engine, push, ExecutionStatus.RUNNING, 40, USER),
    ]

    def ids_of(**params: Any) -> list[int]:
        response = api.get("/api/executions", params=params)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert ids_of() == made[::-1]
    assert ids_of(status="ERROR") == [made[2], made[1]]
    assert ids_of(function="PUSH_CANCELLED") == [made[4], made[1]]
    assert ids_of(scheduleId=feedback) == [made[3], made[2], made[0]]
    assert ids_of(scheduleId=feedback, status="ERROR") == [made[2]]
    assert ids_of(since="2026-06-01T09:10:00Z", until="2026-06-01T09:30:00Z") == [made[2], made[1]]
    assert ids_of(since="2026-06-01T11:10:00+02:00") == [made[4], made[3], made[2], made[1]]  # an offset
    assert ids_of(since="2026-06-01T09:35") == [made[4]]  # no offset: UTC (what the screen sends)
    assert ids_of(status="OK", function="PUSH_CANCELLED") == []
    assert ids_of(status="", function="", scheduleId="", since="", cursor="") == made[::-1]  # empty: any

    item = api.get("/api/executions", params={"status": "WARNING"}).json()["items"][0]
    assert item == {"id": made[3], "scheduleId": feedback, "function": "RETRIEVE_TICKET_STATUS", "launchedBy": "cli",
                    "status": "WARNING", "startedAt": "2026-06-01T09:30:00.000Z", "endedAt": "2026-06-01T09:30:05.000Z",
                    "counters": {**item["counters"], "failed": 30}}
    assert "log" not in item  # a list carries no log; GET one execution for it

    first = api.get("/api/executions", params={"limit": 2}).json()
    assert [i["id"] for i in first["items"]] == [made[4], made[3]] and first["nextCursor"]
    second = api.get("/api/executions", params={"limit": 2, "cursor": first["nextCursor"]}).json()
    assert [i["id"] for i in second["items"]] == [made[2], made[1]]
    third = api.get("/api/executions", params={"limit": 2, "cursor": second["nextCursor"]}).json()
    assert [i["id"] for i in third["items"]] == [made[0]] and third["nextCursor"] is None


@pytest.mark.parametrize("params", [
    {"status": "FINE"}, {"function": "FETCH"}, {"scheduleId": "x"}, {"scheduleId": "0"}, {"scheduleId": str(2**31)},
    {"since": "yesterday"}, {"until": "0001-01-01T00:00:00+14:00"}, {"cursor": "garbage"}, {"limit": "0"},
])
def test_bad_filters_are_422_with_the_envelope(api: TestClient, params: dict[str, str]) -> None:
    response = api.get("/api/executions", params=params)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == ("INVALID_CURSOR" if "cursor" in params else "INVALID_INPUT")
    if "parameter" in error["details"]:
        assert error["details"]["parameter"] in params


def test_the_list_needs_a_user(api: TestClient) -> None:
    api.auth = None  # type: ignore[assignment]
    assert api.get("/api/executions").status_code == 401
