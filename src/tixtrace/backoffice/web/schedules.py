"""Schedule screens: Run now, and the list of a schedule's executions.

Run now executes the schedule in the request (as ``POST /api/schedules/{id}/run?wait=true`` does) and
then shows the execution; a start refused because the same wallet organizer's feedback is already
running (409 RUN_ALREADY_ACTIVE) comes back to the interface page with the message.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from tixtrace.backoffice.api.deps import Ctx
from tixtrace.backoffice.interfaces.runner import run_schedule
from tixtrace.backoffice.services.executions import list_executions
from tixtrace.backoffice.services.interfaces import get_interface
from tixtrace.backoffice.services.schedules import get_schedule
from tixtrace.backoffice.web.pages import PostedForm, WebUser, cursor_id, path_id, redirect, render, with_query
from tixtrace.kernel.cursors import encode_cursor
from tixtrace.kernel.errors import BadInput, Conflict

router = APIRouter(include_in_schema=False)

PAGE = 50
_FLASH_OF_STATUS = {"OK": "success", "WARNING": "warning", "ERROR": "error"}


@router.post("/schedules/{schedule_id}/run")
def run_now(request: Request, schedule_id: str, ctx: Ctx, _form: PostedForm) -> Response:
    sid = path_id(schedule_id, "schedule")
    with ctx.read() as conn:
        schedule = get_schedule(conn, sid)
    try:
        execution = run_schedule(ctx.engine, sid, clock=ctx.clock)
    except (Conflict, BadInput) as exc:
        return redirect(request, f"/interfaces/{schedule['interface_id']}", flash=("error", exc.message))
    status = str(execution["status"])
    return redirect(request, f"/executions/{execution['id']}",
                    flash=(_FLASH_OF_STATUS.get(status, "info"), f"Execution {execution['id']} ended {status}."))


@router.get("/schedules/{schedule_id}/executions")
def execution_list(request: Request, schedule_id: str, ctx: Ctx, user: WebUser,
                   cursor: Annotated[str | None, Query(max_length=500)] = None) -> Response:
    sid = path_id(schedule_id, "schedule")
    before = cursor_id(cursor) or None
    with ctx.read() as conn:
        schedule = get_schedule(conn, sid)
        interface = get_interface(conn, schedule["interface_id"])
        rows, last = list_executions(conn, sid, before_id=before, limit=PAGE)
    return render(request, "executions/list.html", {
        "nav": "interfaces", "schedule": schedule, "interface": interface, "executions": rows,
        "next_url": with_query(f"/schedules/{sid}/executions", cursor=encode_cursor(last)) if last else None,
        "first_url": f"/schedules/{sid}/executions" if cursor else None,
    })
