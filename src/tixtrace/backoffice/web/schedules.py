"""Schedule screens: Run now, and the list of a schedule's executions.

Run now executes the schedule in the request (as ``POST /api/schedules/{id}/run?wait=true`` does) and
then shows the execution; a start refused because the same wallet organizer's feedback is already
running (409 RUN_ALREADY_ACTIVE) comes back to the interface page with the message.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from tixtrace.backoffice.backend import BackendDep
from tixtrace.backoffice.interfaces.runner import run_schedule
from tixtrace.backoffice.services.executions import list_executions
from tixtrace.backoffice.services.interfaces import get_interface
from tixtrace.backoffice.services.schedules import get_schedule
from tixtrace.backoffice.web.pages import PostedForm, WebUser, path_id, redirect, render, with_query
from tixtrace.kernel.cursors import decode_int_cursor, encode_cursor
from tixtrace.kernel.errors import BadInput, Conflict
from tixtrace.kernel.flash import Flash

router = APIRouter(include_in_schema=False)

PAGE = 50
_FLASH_OF_STATUS = {"OK": "success", "WARNING": "warning", "ERROR": "error"}


@router.post("/schedules/{schedule_id}/run")
def run_now(request: Request, schedule_id: str, backend: BackendDep, _form: PostedForm) -> Response:
    sid = path_id(schedule_id, "schedule")
    with backend.read() as conn:
        schedule = get_schedule(conn, sid)
    try:
        execution = run_schedule(backend.engine, sid, clock=backend.clock)
    except (Conflict, BadInput) as exc:
        return redirect(request, f"/interfaces/{schedule.interface_id}", flash=Flash("error", exc.message))
    status = str(execution.status)
    return redirect(request, f"/executions/{execution.id}",
                    flash=Flash(_FLASH_OF_STATUS.get(status, "info"), f"Execution {execution.id} ended {status}."))


@router.get("/schedules/{schedule_id}/executions")
def execution_list(request: Request, schedule_id: str, backend: BackendDep, user: WebUser,
                   cursor: Annotated[str | None, Query(max_length=500)] = None) -> Response:
    sid = path_id(schedule_id, "schedule")
    before = decode_int_cursor(cursor) or None
    with backend.read() as conn:
        schedule = get_schedule(conn, sid)
        interface = get_interface(conn, schedule.interface_id)
        rows, last = list_executions(conn, sid, before_id=before, limit=PAGE)
    return render(request, "executions/list.html", {
        "nav": "interfaces", "schedule": schedule, "interface": interface, "executions": rows,
        "next_url": with_query(f"/schedules/{sid}/executions", cursor=encode_cursor(last)) if last else None,
        "first_url": f"/schedules/{sid}/executions" if cursor else None,
    })
