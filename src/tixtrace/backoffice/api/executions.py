"""``/api/executions``: every schedule's executions (newest first, filtered), and one run of a
schedule with its counters and log."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from tixtrace.backoffice.api.deps import MAX_SMALL_ID, Cursor, ExecutionId, Limit, User, after_id, next_cursor
from tixtrace.backoffice.api.documents import ExecutionOut, ExecutionPage, LogPage
from tixtrace.backoffice.api.schemas import execution_json, execution_view_json, log_json, page
from tixtrace.backoffice.backend import BackendDep
from tixtrace.backoffice.domain.executions import ExecutionStatus
from tixtrace.backoffice.interfaces.tixngo.client import dumped_calls
from tixtrace.backoffice.services.executions import (
    ExecutionFilter,
    dumped_calls_text,
    execution_log,
    get_execution,
    list_all_executions,
    moment,
)
from tixtrace.backoffice.services.schedules import ScheduleFunction
from tixtrace.kernel.errors import BadInput, KernelCode
from tixtrace.kernel.web import documented, error_responses

router = APIRouter(prefix="/api/executions", tags=["executions"],
                   responses=error_responses(400, 401, 404, 409, 422, 429))

_MOMENT = "RFC 3339 date-time, e.g. 2026-06-11T18:00:00Z (no offset: UTC)"


def _choice(value: str | None, allowed: type[StrEnum], parameter: str) -> str | None:
    """A filter among ``allowed``; empty (``status=``) or absent means any; anything else is a 422
    naming the parameter and the choices."""
    if not value:
        return None
    if value not in {member.value for member in allowed}:
        raise BadInput(f"{parameter} must be one of {', '.join(m.value for m in allowed)} (or empty for any)",
                       code=KernelCode.INVALID_INPUT, details={"parameter": parameter, "value": value})
    return value


def _schedule_id(value: str | None) -> int | None:
    if not value:
        return None
    if not (value.isascii() and value.isdigit() and 1 <= int(value) <= MAX_SMALL_ID):
        raise BadInput(f"scheduleId must be a schedule's id, a whole number from 1 to {MAX_SMALL_ID}",
                       code=KernelCode.INVALID_INPUT, details={"parameter": "scheduleId", "value": value})
    return int(value)


@router.get("", summary="Every schedule's executions, newest first, filtered (no log; GET one for it)",
            description="Filters (each optional; empty means any): status (RUNNING, OK, WARNING, ERROR), function, "
                        "scheduleId, since / until on startedAt. Keyset paged by cursor.",
            **documented(ExecutionPage))
def get_executions(
    backend: BackendDep, _user: User,
    status: Annotated[str | None, Query(max_length=20, description="only this status")] = None,
    function: Annotated[str | None, Query(max_length=30, description="only this function")] = None,
    schedule_id: Annotated[str | None, Query(alias="scheduleId", max_length=12,
                                             description="only this schedule's")] = None,
    since: Annotated[str | None, Query(max_length=40, description=f"started at or after: {_MOMENT}")] = None,
    until: Annotated[str | None, Query(max_length=40, description=f"started before: {_MOMENT}")] = None,
    cursor: Cursor = None, limit: Limit = 100,
) -> dict[str, Any]:
    where = ExecutionFilter(status=_choice(status, ExecutionStatus, "status"),
                            function=_choice(function, ScheduleFunction, "function"),
                            schedule_id=_schedule_id(schedule_id), since=moment(since, "since"),
                            until=moment(until, "until"))
    before = after_id(cursor) or None
    with backend.read() as conn:
        rows, last = list_all_executions(conn, where, before_id=before, limit=limit)
    return page([execution_json(row) for row in rows], next_cursor(last))


@router.get("/{execution_id}", summary="One execution: counters and the first 1000 log lines (logCount: all)",
            **documented(ExecutionOut))
def get_one_execution(execution_id: ExecutionId, backend: BackendDep, _user: User) -> dict[str, Any]:
    with backend.read() as conn:
        return execution_view_json(get_execution(conn, execution_id))


@router.get("/{execution_id}/log", summary="The execution's log lines, in order, page by page", **documented(LogPage))
def get_log(execution_id: ExecutionId, backend: BackendDep, _user: User, cursor: Cursor = None,
            limit: Limit = 100) -> dict[str, Any]:
    start = after_id(cursor)
    with backend.read() as conn:
        get_execution(conn, execution_id)
        rows, last = execution_log(conn, execution_id, after_id=start, limit=limit)
    return page([log_json(row) for row in rows], next_cursor(last))


@router.get("/{execution_id}/dumps", summary="The payloads the execution exchanged with the wallet (kept per "
            "maxLengthDumpedCallsInKbs), as a JSON file: {executionId, calls: [request | response]}",
            response_class=JSONResponse)
def get_dumps(execution_id: ExecutionId, backend: BackendDep, _user: User) -> JSONResponse:
    with backend.read() as conn:
        text = dumped_calls_text(conn, execution_id)
    return JSONResponse({"executionId": execution_id, "calls": dumped_calls(text)},
                        headers={"Content-Disposition": f'attachment; filename="execution-{execution_id}-dumps.json"'})
