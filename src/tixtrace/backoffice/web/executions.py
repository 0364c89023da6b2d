"""The execution page: status, counters, log (page by page), the schedule's parked records, dumped calls."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from tixtrace.backoffice.backend import BackendDep
from tixtrace.backoffice.services.executions import execution_log, get_execution
from tixtrace.backoffice.services.interfaces import get_interface
from tixtrace.backoffice.services.schedules import get_schedule
from tixtrace.backoffice.web import queries
from tixtrace.backoffice.web.pages import WebUser, path_id, render, with_query
from tixtrace.kernel.cursors import decode_int_cursor, encode_cursor

router = APIRouter(include_in_schema=False)

#: log lines per page after the first (the execution comes with its first `LOG_PREVIEW` lines)
LOG_PAGE = 1000


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
        "nav": "interfaces", "execution": execution, "schedule": schedule, "interface": interface, "log": log,
        "log_count": view.log_count,
        "counters": [(name.replace("_", " "), value) for name, value in execution.counters().items()],
        "log_next": with_query(f"/executions/{eid}", cursor=encode_cursor(last)) if last else None,
        "log_first": f"/executions/{eid}" if after else None,
        "parked": parked, "parked_count": parked_count,
    })
