"""Schedule screens: Run now, and the list of a schedule's executions.

Run now starts the execution in the request (run locks taken, row RUNNING, as
``POST /api/schedules/{id}/run?wait=false`` does), runs it in the background and shows the execution
page, which follows it until it ends; a start refused because the same schedule or wallet organizer
is already running (409 RUN_ALREADY_ACTIVE) comes back to the interface page with the message.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from tixtrace.backoffice.backend import BackendDep
from tixtrace.backoffice.interfaces.runner import start_run
from tixtrace.backoffice.services.executions import list_executions
from tixtrace.backoffice.services.interfaces import get_interface
from tixtrace.backoffice.services.schedules import get_schedule
from tixtrace.backoffice.web.pages import PostedForm, WebUser, is_htmx, path_id, redirect, render, with_query
from tixtrace.kernel.cursors import decode_int_cursor, encode_cursor
from tixtrace.kernel.errors import BadInput, Conflict
from tixtrace.kernel.flash import Flash

router = APIRouter(include_in_schema=False)

PAGE = 50


def _go(request: Request, url: str, flash: Flash) -> Response:
    """A 303 to ``url``; to htmx (the Run now form, which shows itself busy while the start is
    answered) the same as ``HX-Redirect``, so the browser loads the page with the flash."""
    response = redirect(request, url, flash=flash)
    if is_htmx(request):
        response.status_code = 200
        response.headers["HX-Redirect"] = url
        del response.headers["location"]
    return response


@router.post("/schedules/{schedule_id}/run")
def run_now(request: Request, schedule_id: str, backend: BackendDep, user: WebUser, _form: PostedForm) -> Response:
    sid = path_id(schedule_id, "schedule")
    with backend.read() as conn:
        schedule = get_schedule(conn, sid)
    try:
        started = start_run(backend.engine, sid, clock=backend.clock, launched_by=user)
    except (Conflict, BadInput) as exc:
        return _go(request, f"/interfaces/{schedule.interface_id}", Flash("error", exc.message))
    started.execute_in_background()
    execution = started.execution
    return _go(request, f"/executions/{execution.id}",
               Flash("info", f"Execution {execution.id} started; this page follows it until it ends."))


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
