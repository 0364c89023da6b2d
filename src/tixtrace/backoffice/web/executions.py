"""Execution screens: every schedule's executions (``/executions``, filtered, newest first), and one
execution's page: status, counters, log (page by page), the schedule's parked records, dumped calls.

While an execution is RUNNING (Run now starts it in the background) its page polls the live part
(``/executions/{id}/live``: status and counters, an htmx fragment) every second; once the execution
has ended the fragment answers ``HX-Refresh`` and the whole page, log included, is shown again.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from tixtrace.backoffice.backend import BackendDep
from tixtrace.backoffice.domain.executions import ExecutionStatus
from tixtrace.backoffice.services.executions import (
    ExecutionFilter,
    ExecutionRecord,
    execution_log,
    get_execution,
    list_all_executions,
    moment,
)
from tixtrace.backoffice.services.interfaces import get_interface
from tixtrace.backoffice.services.schedules import ScheduleFunction, get_schedule
from tixtrace.backoffice.web import queries
from tixtrace.backoffice.web.pages import WebUser, is_htmx, path_id, render, with_query
from tixtrace.kernel.cursors import decode_int_cursor, encode_cursor

router = APIRouter(include_in_schema=False)

#: log lines per page after the first (the execution comes with its first `LOG_PREVIEW` lines)
LOG_PAGE = 1000
#: executions per page of the global list
PAGE = 50
Text = Annotated[str | None, Query(max_length=500)]


@router.get("/executions")
def execution_list(request: Request, backend: BackendDep, user: WebUser, status: Text = None, function: Text = None,
                   schedule: Text = None, since: Text = None, until: Text = None, cursor: Text = None) -> Response:
    """Every schedule's executions, newest first; a filter value that is not one of the choices is
    ignored (as the tickets' search does); a time that is not one is a 422 page naming it."""
    chosen_status = status if status in {s.value for s in ExecutionStatus} else None
    chosen_function = function if function in {f.value for f in ScheduleFunction} else None
    schedule_id = int(schedule) if schedule and schedule.isascii() and schedule.isdigit() and len(schedule) <= 9 \
        else None
    since_text, until_text = (since or "").strip() or None, (until or "").strip() or None
    where = ExecutionFilter(status=chosen_status, function=chosen_function, schedule_id=schedule_id,
                            since=moment(since_text, "since"), until=moment(until_text, "until"))
    filters: dict[str, Any] = {"status": chosen_status, "function": chosen_function, "schedule": schedule_id,
                               "since": since_text, "until": until_text}
    with backend.read() as conn:
        rows, last = list_all_executions(conn, where, before_id=decode_int_cursor(cursor) or None, limit=PAGE)
        schedules = queries.schedule_choices(conn)
    return render(request, "executions/all.html", {
        "nav": "executions", "executions": rows, "filters": filters, "schedules": schedules,
        "schedule_names": {s["id"]: s for s in schedules},
        "statuses": [s.value for s in ExecutionStatus], "functions": [f.value for f in ScheduleFunction],
        "next_url": with_query("/executions", **filters, cursor=encode_cursor(last)) if last else None,
        "first_url": with_query("/executions", **filters) if cursor else None,
    })


def _live_context(execution: ExecutionRecord) -> dict[str, Any]:
    return {"execution": execution,
            "counters": [(name.replace("_", " "), value) for name, value in execution.counters().items()]}


@router.get("/executions/{execution_id}")
def execution_page(request: Request, execution_id: str, backend: BackendDep, user: WebUser,
                   cursor: Annotated[str | None, Query(max_length=500)] = None) -> Response:
    eid = path_id(execution_id, "execution")
    after = decode_int_cursor(cursor)
    with backend.read() as conn:
        view = get_execution(conn, eid)
        execution = view.execution
        if after:
            log, last = execution_log(conn, eid, after_id=after, limit=LOG_PAGE)
        else:
            log = view.log
            last = log[-1].id if log and view.log_count > len(log) else None
        schedule = get_schedule(conn, execution.schedule_id, deleted=True)
        interface = get_interface(conn, schedule.interface_id)
        parked, parked_count = queries.parked_for_schedule(conn, schedule.id)
    return render(request, "executions/detail.html", {
        "nav": "executions", "schedule": schedule, "interface": interface, "log": log,
        "log_count": view.log_count, **_live_context(execution),
        "log_next": with_query(f"/executions/{eid}", cursor=encode_cursor(last)) if last else None,
        "log_first": f"/executions/{eid}" if after else None,
        "parked": parked, "parked_count": parked_count,
    })


@router.get("/executions/{execution_id}/live")
def execution_live(request: Request, execution_id: str, backend: BackendDep, user: WebUser) -> Response:
    """The live part of the execution page (status and counters), which the page polls while the
    execution runs; when it has ended, htmx is told to reload the page (its log is then complete)."""
    eid = path_id(execution_id, "execution")
    with backend.read() as conn:
        execution = get_execution(conn, eid).execution
    response = render(request, "executions/_live.html", _live_context(execution), partial=True)
    if execution.status != ExecutionStatus.RUNNING.value and is_htmx(request):
        response.headers["HX-Refresh"] = "true"
    return response
