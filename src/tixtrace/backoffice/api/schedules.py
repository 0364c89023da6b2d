"""``/api/schedules``: reading, editing, pausing and deleting a schedule (O1), running it now, resetting
its feed. Every change is audited (O2) with the signed-in user as its actor."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import Field, StrictBool

from tixtrace.backoffice.api.deps import ScheduleId, User
from tixtrace.backoffice.api.documents import ExecutionOut, ScheduleOut
from tixtrace.backoffice.api.schemas import ScheduleUpdate, execution_view_json, schedules_json
from tixtrace.backoffice.backend import BackendDep
from tixtrace.backoffice.domain.errors import BackofficeCode
from tixtrace.backoffice.interfaces.runner import remove_schedule, reset_feed, run_schedule, start_run
from tixtrace.backoffice.services.executions import get_execution
from tixtrace.backoffice.services.schedules import get_schedule, update_schedule
from tixtrace.kernel.errors import BadInput
from tixtrace.kernel.web import ApiModel, ApiResponse, documented, error_responses

router = APIRouter(prefix="/api/schedules", tags=["schedules"], responses=error_responses(400, 401, 404, 409, 422, 429))


@router.get("/{schedule_id}", summary="One schedule", **documented(ScheduleOut))
def get_one_schedule(schedule_id: ScheduleId, backend: BackendDep, _user: User) -> dict[str, Any]:
    with backend.read() as conn:
        return schedules_json(conn, [get_schedule(conn, schedule_id)], backend.clock.now())[0]


@router.patch("/{schedule_id}", summary="Edit or pause a schedule (O1): the fields sent change",
              description="Any of launch, frequencyMinutes, startsAt, endsAt, batchSize, skipTicketNumbers, "
                          "eventCodes, active. active=false pauses it: the scheduler no longer starts it (Run now "
                          "still does; a run in progress ends normally). 422 naming each bad field; the schedule "
                          "is checked as a whole (endsAt not before startsAt). Answers the schedule.",
              **documented(ScheduleOut))
def patch_schedule(schedule_id: ScheduleId, body: ScheduleUpdate, backend: BackendDep, user: User) -> dict[str, Any]:
    with backend.write() as conn:
        row = update_schedule(conn, schedule_id, body.model_dump(exclude_unset=True), backend.clock.now(),
                              actor=user)
        return schedules_json(conn, [row], backend.clock.now())[0]


@router.delete("/{schedule_id}", summary="Delete a schedule (O1); 409 SCHEDULE_RUNNING while it runs",
               description="The schedule disappears from its interface and never runs again; its executions, "
                           "their logs and its parked records stay readable (GET /api/executions/{id}). "
                           "Answers 204.", status_code=204, response_class=Response,
               responses={204: {"description": "deleted"}})
def delete_one_schedule(schedule_id: ScheduleId, backend: BackendDep, user: User) -> Response:
    remove_schedule(backend.engine, schedule_id, clock=backend.clock, actor=user)
    return Response(status_code=204)


class RunStarted(ApiResponse):
    """The answer of ``run?wait=false``: the execution is recorded RUNNING and runs in the background;
    follow it at ``GET /api/executions/{executionId}`` (also the Location header)."""

    execution_id: int
    schedule_id: int
    status: Literal["STARTED"]


@router.post("/{schedule_id}/run", summary="Run the schedule once now (Run now)",
             description="wait=true (default): answers the finished execution. wait=false: the execution is "
                         "recorded RUNNING before the answer, 202 with its executionId (and Location), and runs in "
                         "the background. 409 RUN_ALREADY_ACTIVE, nothing recorded, either way: the schedule is "
                         "running, or (feedback) its wallet organizer is already being read, or (injection, "
                         "pushes) tickets are already being sent to it.",
             **documented(ExecutionOut, also={202: {"model": RunStarted, "description": "wait=false: started"}}))
def run_now(schedule_id: ScheduleId, backend: BackendDep, user: User, response: Response,
            wait: Annotated[bool, Query(description="wait for the execution to end")] = True) -> dict[str, Any]:
    # the locks are taken here, in the request: a refused start is a 409 whether or not we wait
    started = start_run(backend.engine, schedule_id, clock=backend.clock, launched_by=user)
    if not wait:
        started.execute_in_background()
        response.status_code = 202
        response.headers["Location"] = f"/api/executions/{started.execution.id}"
        return {"executionId": started.execution.id, "scheduleId": schedule_id, "status": "STARTED"}
    execution = started.execute()
    with backend.read() as conn:
        return execution_view_json(get_execution(conn, execution.id))


class Upload(ApiModel):
    records: Annotated[list[dict[str, Any]], Field(max_length=100_000)]


@router.post("/{schedule_id}/upload", summary="File to upload: process lifecycle records as if from the wallet",
             description="Support tool for a RETRIEVE_TICKET_STATUS schedule: the records are applied like a page "
                         "of the feed; the pagination key does not move; a record whose recordId is parked "
                         "replaces the parked one. Answers the finished execution.", **documented(ExecutionOut))
def upload(schedule_id: ScheduleId, body: Upload, backend: BackendDep, user: User) -> dict[str, Any]:
    with backend.read() as conn:
        get_schedule(conn, schedule_id)
    execution = run_schedule(backend.engine, schedule_id, clock=backend.clock, launched_by=user, upload=body.records)
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
def reset_schedule_feed(schedule_id: ScheduleId, body: ResetFeed, backend: BackendDep, user: User) -> dict[str, Any]:
    if not body.confirm:
        raise BadInput('resetting the feed makes the next run read the whole feed again: send {"confirm": true}',
                       code=BackofficeCode.CONFIRMATION_REQUIRED,
                       details={"parameter": "confirm", "value": body.confirm})
    schedule = reset_feed(backend.engine, schedule_id, clock=backend.clock, actor=user)
    with backend.read() as conn:
        return schedules_json(conn, [schedule], backend.clock.now())[0]
