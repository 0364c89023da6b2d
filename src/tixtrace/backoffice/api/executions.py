"""``/api/executions``: every schedule's executions (newest first, filtered), and one run of a
schedule with its counters and log."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from tixtrace.backoffice.api.deps import MAX_SMALL_ID, Cursor, ExecutionId, Limit, User, after_id, next_cursor
from tixtrace.backoffice.api.documents import ExecutionOut, ExecutionPage, LogPage
from tixtrace.backoffice.api.schemas import execution_json, execution_view_json, log_json, page
from tixtrace.backoffice.backend import BackendDep
from tixtrace.backoffice.domain.executions import ExecutionStatus
from tixtrace.backoffice.services.executions import (
    ExecutionFilter,
    execution_log,
    get_execution,
    list_all_executions,
    moment,
)
from tixtrace.backoffice.services.schedules import ScheduleFunction
from tixtrace.kernel.web import documented, error_responses

router = APIRouter(prefix="/api/executions", tags=["executions"],
                   responses=error_responses(400, 401, 404, 409, 422, 429))

_MOMENT = "RFC 3339 date-time, e.g. 2026-06-11T18:00:00Z (no offset: UTC)"


@router.get("", summary="Every schedule's executions, newest first, filtered (no log; GET one for it)",
            **documented(ExecutionPage))
def get_executions(
    backend: BackendDep, _user: User,
    status: Annotated[ExecutionStatus | None, Query(description="only this status")] = None,
    function: Annotated[ScheduleFunction | None, Query(description="only this function")] = None,
    schedule_id: Annotated[int | None, Query(alias="scheduleId", ge=1, le=MAX_SMALL_ID,
                                             description="only this schedule's")] = None,
    since: Annotated[str | None, Query(max_length=40, description=f"started at or after: {_MOMENT}")] = None,
    until: Annotated[str | None, Query(max_length=40, description=f"started before: {_MOMENT}")] = None,
    cursor: Cursor = None, limit: Limit = 100,
) -> dict[str, Any]:
    where = ExecutionFilter(status=status.value if status else None, function=function.value if function else None,
                            schedule_id=schedule_id, since=moment(since, "since"), until=moment(until, "until"))
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
