"""``/api/schedules``: reading a schedule, running it now, resetting its feed."""

from __future__ import annotations

import logging
import threading
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import Field, StrictBool

from tixtrace.backoffice.api.deps import ScheduleId, User
from tixtrace.backoffice.api.documents import ExecutionOut, ScheduleOut
from tixtrace.backoffice.api.schemas import execution_view_json, schedules_json
from tixtrace.backoffice.backend import Backend, BackendDep
from tixtrace.backoffice.domain.errors import BackofficeCode
from tixtrace.backoffice.interfaces.runner import reset_feed, run_schedule
from tixtrace.backoffice.services.executions import get_execution
from tixtrace.backoffice.services.schedules import get_schedule
from tixtrace.kernel.errors import BadInput, TixtraceError
from tixtrace.kernel.web import ApiModel, ApiResponse, documented, error_responses

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/schedules", tags=["schedules"], responses=error_responses(400, 401, 404, 409, 422, 429))


@router.get("/{schedule_id}", summary="One schedule", **documented(ScheduleOut))
def get_one_schedule(schedule_id: ScheduleId, backend: BackendDep, _user: User) -> dict[str, Any]:
    with backend.read() as conn:
        return schedules_json(conn, [get_schedule(conn, schedule_id)], backend.clock.now())[0]


class RunStarted(ApiResponse):
    """The answer of ``run?wait=false``: the run is started in the background."""

    schedule_id: int
    status: Literal["STARTED"]


def _run_in_background(backend: Backend, schedule_id: int) -> None:
    """Run now without waiting: the caller already has its 202, so a refused start (409
    RUN_ALREADY_ACTIVE: nothing recorded) or a vanished schedule is logged, not raised in the thread."""
    try:
        run_schedule(backend.engine, schedule_id, clock=backend.clock)
    except TixtraceError as exc:
        log.warning("run now of schedule %s without waiting did not start: %s", schedule_id, exc.code)


@router.post("/{schedule_id}/run", summary="Run the schedule once now (Run now)",
             description="wait=true (default): answers the finished execution. wait=false: starts it in the "
                         "background and answers 202; follow it in the schedule's executions. 409 RUN_ALREADY_ACTIVE, "
                         "nothing recorded: the schedule is running, or (feedback) its wallet organizer is "
                         "already being read, or (injection, pushes) tickets are already being sent to it.",
             **documented(ExecutionOut, also={202: {"model": RunStarted, "description": "wait=false: started"}}))
def run_now(schedule_id: ScheduleId, backend: BackendDep, _user: User, response: Response,
            wait: Annotated[bool, Query(description="wait for the execution to end")] = True) -> dict[str, Any]:
    with backend.read() as conn:
        get_schedule(conn, schedule_id)  # 404 before anything starts
    if not wait:
        threading.Thread(target=_run_in_background, args=(backend, schedule_id), daemon=True,
                         name=f"run-now-{schedule_id}").start()
        response.status_code = 202
        return {"scheduleId": schedule_id, "status": "STARTED"}
    execution = run_schedule(backend.engine, schedule_id, clock=backend.clock)
    with backend.read() as conn:
        return execution_view_json(get_execution(conn, execution.id))


class Upload(ApiModel):
    records: Annotated[list[dict[str, Any]], Field(max_length=100_000)]


@router.post("/{schedule_id}/upload", summary="File to upload: process lifecycle records as if from the wallet",
             description="Support tool for a RETRIEVE_TICKET_STATUS schedule: the records are applied like a page "
                         "of the feed; the pagination key does not move; a record whose recordId is parked "
                         "replaces the parked one. Answers the finished execution.", **documented(ExecutionOut))
def upload(schedule_id: ScheduleId, body: Upload, backend: BackendDep, _user: User) -> dict[str, Any]:
    with backend.read() as conn:
        get_schedule(conn, schedule_id)
    execution = run_schedule(backend.engine, schedule_id, clock=backend.clock, upload=body.records)
    with backend.read() as conn:
        return execution_view_json(get_execution(conn, execution.id))


class ResetFeed(ApiModel):
    confirm: StrictBool = False


@router.post("/{schedule_id}/reset-feed", summary="Reset a feedback schedule's feed (O1)",
             description="Clears the RETRIEVE_TICKET_STATUS schedule's pagination key and last applied recordId: "
                         "its next run reads the wallet's whole feed again, which changes nothing already applied "
                         "(F11). Needs {\"confirm\": true} (else 422 CONFIRMATION_REQUIRED). 422 RESET_NOT_FEEDBACK "
                         "for another function; 409 RUN_ALREADY_ACTIVE while the schedule runs. Answers the schedule.",
             **documented(ScheduleOut))
def reset_schedule_feed(schedule_id: ScheduleId, body: ResetFeed, backend: BackendDep, _user: User) -> dict[str, Any]:
    if not body.confirm:
        raise BadInput('resetting the feed makes the next run read the whole feed again: send {"confirm": true}',
                       code=BackofficeCode.CONFIRMATION_REQUIRED,
                       details={"parameter": "confirm", "value": body.confirm})
    schedule = reset_feed(backend.engine, schedule_id)
    with backend.read() as conn:
        return schedules_json(conn, [schedule], backend.clock.now())[0]
