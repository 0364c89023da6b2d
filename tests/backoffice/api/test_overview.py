"""O4 and ``GET /api/overview`` (issue 13 item 1): each schedule's state (latest execution, last OK run,
lag, parked records) after OK, ERROR and WARNING-with-parked runs, and the overview's lists.

Through both services over HTTP (the ``system`` fixture), on SQLite and PostgreSQL. The runs and the
API have test clocks, so the lag is exact: the API's now minus the start of the latest run that read
the feed to its end.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert

from tests.support.backoffice import PASSWORD, START, USER
from tests.support.feedback import ANA, BOB, Rewriting, corrupt, functions, new_ticket, record_of, send
from tests.support.system import FEATURE, System
from tixtrace.backoffice.api.documents import OverviewOut
from tixtrace.backoffice.app import create_backoffice_app
from tixtrace.backoffice.db.tables import users
from tixtrace.backoffice.interfaces.runner import run_schedule
from tixtrace.kernel.clock import TestClock
from tixtrace.kernel.db import unit_of_work

CONTINUE = f"{FEATURE}\ndoContinueInCaseOfSyncError=true"
NEVER = {"lastExecution": None, "lastOkAt": None, "lagSeconds": None, "parkedRecords": 0}


@pytest.fixture
def api_clock() -> TestClock:
    return TestClock(START)


@pytest.fixture
def bo(system: System, operator_hash: str, api_clock: TestClock) -> Iterator[TestClient]:
    with unit_of_work(system.engine) as conn:
        conn.execute(insert(users).values(name=USER, password_hash=operator_hash, created_at=START))
    with TestClient(create_backoffice_app(system.engine, api_clock)) as client:
        client.auth = (USER, PASSWORD)
        yield client


def run_at(system: System, schedule_id: int, seconds: int, status: str,
           transport: httpx.BaseTransport | None = None) -> dict[str, Any]:
    """Run the schedule on a clock ``seconds`` after START (its start and end time)."""
    execution = asdict(run_schedule(system.engine, schedule_id, clock=TestClock(START + timedelta(seconds=seconds)),
                                    transport=transport, client_options={"backoff_seconds": 0.01}))
    assert execution["status"] == status, execution
    return execution


def state(bo: TestClient, schedule_id: int) -> dict[str, Any]:
    response = bo.get(f"/api/schedules/{schedule_id}")
    assert response.status_code == 200, response.text
    return response.json()["state"]  # type: ignore[no-any-return]


def at(seconds: int) -> str:
    return (START + timedelta(seconds=seconds)).isoformat().replace("+00:00", ".000Z")


def test_state_after_ok_then_error_runs(system: System, bo: TestClient, api_clock: TestClock) -> None:
    """Before any run: no lag (null), nothing. An OK run that read the feed: its lag counts from its
    start. An ERROR run (stopped before a bad record) is the latest execution, but the last OK run and
    the lag stay those of the OK run: it did not read the feed to its end."""
    ana = system.contact(ANA)
    ticket = new_ticket(system, ana)
    injection, feedback = functions(system)
    assert state(bo, feedback) == NEVER
    listed = bo.get(f"/api/interfaces/{system.interface(FEATURE, name='other')}/schedules").json()
    assert listed == {"items": [], "nextCursor": None}

    run_at(system, injection, 0, "OK")
    send(system, ANA, ticket, BOB)
    ok = run_at(system, feedback, 10, "OK")
    api_clock.advance(52)  # the API reads at START + 52 s
    after_ok = state(bo, feedback)
    assert after_ok == {"lastExecution": {"id": ok["id"], "status": "OK", "startedAt": at(10), "endedAt": at(10)},
                        "lastOkAt": at(10), "lagSeconds": 42, "parkedRecords": 0}
    # the interface's list of schedules carries the same states, computed together
    interface = bo.get(f"/api/schedules/{feedback}").json()["interfaceId"]
    items = {s["id"]: s["state"] for s in bo.get(f"/api/interfaces/{interface}/schedules").json()["items"]}
    assert items[feedback] == after_ok and items[injection]["lastExecution"]["status"] == "OK"

    more = new_ticket(system, ana)
    run_at(system, injection, 20, "OK")
    send(system, ANA, more, BOB)
    spoiled = record_of(system, more, "PENDING_TRANSFER")["recordId"]
    failed = run_at(system, feedback, 30, "ERROR", Rewriting(corrupt(spoiled, status="TELEPORTED")))
    api_clock.advance(8)  # START + 60 s
    after_error = state(bo, feedback)
    assert after_error["lastExecution"] == {"id": failed["id"], "status": "ERROR", "startedAt": at(30),
                                            "endedAt": at(30)}
    assert after_error["lastOkAt"] == at(10) and after_error["lagSeconds"] == 50
    # the record the run stopped on is kept to be fixed (a parked row ahead of the feed)
    assert after_error["parkedRecords"] == 1

    overview = bo.get("/api/overview").json()
    assert overview["executionsInError24h"]["count"] == 1
    assert [e["id"] for e in overview["executionsInError24h"]["items"]] == [failed["id"]]
    assert overview["executionsInError24h"]["items"][0]["scheduleId"] == feedback


def test_state_after_a_warning_run_that_parked_a_record(system: System, bo: TestClient,
                                                        api_clock: TestClock) -> None:
    """doContinueInCaseOfSyncError=true: the bad record is parked, the run reads on to the end of the
    feed (WARNING). Its start is the lag's origin; there is no OK run; one record is parked."""
    ana = system.contact(ANA)
    ticket = new_ticket(system, ana)
    injection, feedback = functions(system, CONTINUE)
    run_at(system, injection, 0, "OK")
    send(system, ANA, ticket, BOB)
    spoiled = record_of(system, ticket, "PENDING_TRANSFER")["recordId"]
    warned = run_at(system, feedback, 5, "WARNING", Rewriting(corrupt(spoiled, status="TELEPORTED")))
    api_clock.advance(65)
    assert state(bo, feedback) == {
        "lastExecution": {"id": warned["id"], "status": "WARNING", "startedAt": at(5), "endedAt": at(5)},
        "lastOkAt": None, "lagSeconds": 60, "parkedRecords": 1}
    overview = bo.get("/api/overview").json()
    assert overview["parkedRecords"] == 1
    assert overview["executionsInError24h"] == {"since": at(65 - 24 * 3600), "count": 0, "items": []}


def test_overview_lists_interfaces_schedules_pending_transfers_and_recent_errors(
        system: System, bo: TestClient, api_clock: TestClock) -> None:
    """Every interface with its feature state and its schedules (with their states); the pending
    transfers with their tickets; executions in ERROR that started in the last 24 hours only."""
    ana = system.contact(ANA)
    ticket = new_ticket(system, ana)
    injection, feedback = functions(system)
    other = system.interface("TIXNGO_LIFECYCLE_MODE=lifecycle", name="no feature")
    run_at(system, injection, 0, "OK")
    transfer = send(system, ANA, ticket, BOB)
    run_at(system, feedback, 0, "OK")
    # an old failure (more than 24 h before the API's now) and a recent one
    dead = httpx.MockTransport(lambda request: httpx.Response(503, json={}))
    old = run_at(system, feedback, 0, "ERROR", dead)
    api_clock.advance(25 * 3600)
    recent = run_at(system, feedback, 25 * 3600 - 5, "ERROR", dead)

    body = bo.get("/api/overview").json()
    OverviewOut.model_validate(body)  # as the OpenAPI document declares it
    assert [(i["name"], i["featureActive"], [s["id"] for s in i["schedules"]]) for i in body["interfaces"]] == [
        ("tixngo", True, [injection, feedback]), ("no feature", False, [])]
    assert other == body["interfaces"][1]["id"]
    [feedback_json] = [s for s in body["interfaces"][0]["schedules"] if s["id"] == feedback]
    assert feedback_json["function"] == "RETRIEVE_TICKET_STATUS"
    assert feedback_json["state"]["lastExecution"]["id"] == recent["id"]
    assert feedback_json["state"]["lagSeconds"] == 25 * 3600  # from the OK run at START
    assert body["parkedRecords"] == 0
    pending = body["pendingTransfers"]
    assert pending["count"] == 1
    [line] = pending["items"]
    assert (line["ticketId"], line["ticketNumber"], line["recipientEmail"], line["initiatedBy"]) == (
        ticket["id"], ticket["number"], BOB, "SPECTATOR")
    assert transfer  # the wallet's transfer is the line's
    errors = body["executionsInError24h"]
    assert errors["count"] == 1 and [e["id"] for e in errors["items"]] == [recent["id"]]
    assert old["id"] not in [e["id"] for e in errors["items"]]
    assert errors["items"][0]["interfaceId"] == body["interfaces"][0]["id"]


def test_overview_needs_credentials(bo: TestClient) -> None:
    response = TestClient(bo.app).get("/api/overview")
    assert response.status_code == 401 and response.json()["error"]["code"]
    assert bo.get("/api/overview").json() == {
        "interfaces": [], "parkedRecords": 0, "pendingTransfers": {"count": 0, "items": []},
        "executionsInError24h": {"since": at(-24 * 3600), "count": 0, "items": []}}


def test_pointing_the_interface_elsewhere_clears_the_lag(system: System, bo: TestClient) -> None:
    """A new URL or login names another feed, none of which has been read: the lag is null again."""
    ana = system.contact(ANA)
    new_ticket(system, ana)
    injection, feedback = functions(system)
    run_at(system, injection, 0, "OK")
    run_at(system, feedback, 0, "OK")
    assert state(bo, feedback)["lagSeconds"] == 0
    interface = bo.get(f"/api/schedules/{feedback}").json()["interfaceId"]
    current = bo.get(f"/api/interfaces/{interface}").json()
    body = {key: current[key] for key in ("name", "type", "url", "notificationEmails", "customParameters")}
    response = bo.put(f"/api/interfaces/{interface}", json={**body, "login": "someone.else@wc26.example"})
    assert response.status_code == 200, response.text
    assert state(bo, feedback)["lagSeconds"] is None
    assert state(bo, feedback)["lastExecution"] is not None  # the history stays


def test_steered_schedules_carry_their_state_and_the_overview_leaves_out_deleted_ones(
        system: System, bo: TestClient) -> None:
    """PATCH and reset-feed answer the schedule with its state like GET does; a paused schedule stays in
    the overview (``active`` false), a deleted one leaves it (and its parked records with it)."""
    new_ticket(system, system.contact(ANA))
    injection, feedback = functions(system)
    run_at(system, injection, 0, "OK")
    run_at(system, feedback, 0, "OK")
    expected = state(bo, feedback)

    paused = bo.patch(f"/api/schedules/{feedback}", json={"active": False})
    assert paused.status_code == 200, paused.text
    assert paused.json()["active"] is False and paused.json()["state"] == expected
    reset = bo.post(f"/api/schedules/{feedback}/reset-feed", json={"confirm": True})
    assert reset.status_code == 200, reset.text
    assert reset.json()["state"] == expected  # a deliberate reset keeps the lag (F11)

    assert bo.delete(f"/api/schedules/{injection}").status_code == 204
    body = bo.get("/api/overview").json()
    OverviewOut.model_validate(body)
    [interface] = body["interfaces"]
    assert [(s["id"], s["active"], s["state"]) for s in interface["schedules"]] == [(feedback, False, expected)]
