"""Schedule screens: the schedule page (every field, edit, pause/resume, reset feed, delete), Run now,
and the list of a schedule's executions.

Invariants:
- The form has every field of the schedule (O1): launch, frequency, start and end (UTC), batch size,
  skip ticket numbers, event codes and active; function and interface are shown, never changed.
  A refused edit re-renders the form (422) with what was typed and each error under its field,
  introduced by the field's label; nothing is written.
- Reset feed and delete ask first: their POST without ``confirm=yes`` shows a confirmation page
  that says what will happen and posts again with it; only that second POST acts.
- Run now starts the execution in the request (run locks taken, row RUNNING, as
  ``POST /api/schedules/{id}/run?wait=false`` does), runs it in the background and shows the execution
  page, which follows it until it ends; a start refused because the same schedule or wallet organizer
  is already running (409 RUN_ALREADY_ACTIVE) comes back to the interface page with the message.
- Every change is audited (O2) with the signed-in user as its actor; the page shows the schedule's
  audit entries.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from tixtrace.backoffice.backend import BackendDep
from tixtrace.backoffice.interfaces.runner import remove_schedule, reset_feed, start_run
from tixtrace.backoffice.services.audit import ObjectType
from tixtrace.backoffice.services.executions import list_executions
from tixtrace.backoffice.services.interfaces import get_interface
from tixtrace.backoffice.services.schedules import (
    Launch,
    ScheduleFunction,
    ScheduleView,
    get_schedule,
    update_schedule,
)
from tixtrace.backoffice.web import pages
from tixtrace.backoffice.web.audit import object_entries
from tixtrace.backoffice.web.pages import (
    Form,
    PostedForm,
    WebUser,
    form_time,
    is_htmx,
    path_id,
    redirect,
    render,
    with_query,
)
from tixtrace.kernel.cursors import decode_int_cursor, encode_cursor
from tixtrace.kernel.errors import BadInput, Conflict, NotFound
from tixtrace.kernel.flash import Flash

router = APIRouter(include_in_schema=False)

PAGE = 50
_LIST_SEPARATORS = re.compile(r"[\s,;]+")

#: each field of the form: its form name, the API's name (the key of the service's errors) and its label
FIELDS = [
    ("function", "function", "Function"),
    ("launch", "launch", "Launch"),
    ("frequency_minutes", "frequencyMinutes", "Frequency (minutes)"),
    ("starts_at", "startsAt", "Starts at (UTC)"),
    ("ends_at", "endsAt", "Ends at (UTC)"),
    ("batch_size", "batchSize", "Batch size"),
    ("skip_ticket_numbers", "skipTicketNumbers", "Skip ticket numbers"),
    ("event_codes", "eventCodes", "Event codes"),
    ("active", "active", "Active"),
]
LABELS = {api: label for _, api, label in FIELDS}
FIELD_OF = {name: api for name, api, _ in FIELDS}
_CONFIRM = {
    "reset-feed": ("Reset the feed", "The pagination key and the last applied recordId are cleared: the next run "
                   "reads the wallet's whole feed again from the start. What was already applied stays as it is."),
    "delete": ("Delete the schedule", "The schedule disappears from its interface and never runs again. Its "
               "executions, their logs and its parked records stay readable."),
}


def _local(value: datetime | None) -> str:
    """A stored time as the form's ``datetime-local`` value (UTC, to the minute)."""
    if value is None:
        return ""
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M")


def _stored(schedule: ScheduleView) -> dict[str, Any]:
    return {"launch": schedule.launch, "frequency_minutes": str(schedule.frequency_minutes),
            "starts_at": _local(schedule.starts_at), "ends_at": _local(schedule.ends_at),
            "batch_size": str(schedule.batch_size), "skip_ticket_numbers": "\n".join(schedule.skip_ticket_numbers),
            "event_codes": "\n".join(schedule.event_codes), "active": schedule.active}


def _typed(form: Form) -> dict[str, Any]:
    values: dict[str, Any] = {name: form.get(name) for name, _, _ in FIELDS if name not in ("function", "active")}
    values["active"] = form.get("active") == "on"
    return values


def _number(text: str) -> int | str | None:
    """A whole number, or the text as typed for the service to refuse naming the field and its range."""
    text = text.strip()
    if not text:
        return None
    if text.isascii() and text.lstrip("-").isdigit() and len(text) <= 9:
        return int(text)
    return text


def _changes(typed: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    """The service's fields from the form (every field: the form shows them all). A time that does not
    parse is left out (its error is in ``errors``) so the service still checks every other field."""
    changes = {
        "launch": typed["launch"],
        "frequency_minutes": _number(typed["frequency_minutes"]),
        "starts_at": form_time(typed["starts_at"], "startsAt", errors),
        "ends_at": form_time(typed["ends_at"], "endsAt", errors),
        "batch_size": _number(typed["batch_size"]),
        "skip_ticket_numbers": [item for item in _LIST_SEPARATORS.split(typed["skip_ticket_numbers"]) if item],
        "event_codes": [item for item in _LIST_SEPARATORS.split(typed["event_codes"]) if item],
        "active": typed["active"],
    }
    return {name: value for name, value in changes.items() if FIELD_OF[name] not in errors}


class _Refused(Exception):
    """Rolls back an edit the service accepted while a field the form could not read was refused."""


def labelled(errors: dict[str, str]) -> dict[str, str]:
    """The schedule form's errors under their fields' labels (`pages.labelled`)."""
    return pages.labelled(errors, LABELS)


def _service_errors(exc: BadInput) -> dict[str, str]:
    found: dict[str, str] = {}
    for problem in exc.details.get("errors", []):
        name = str(problem.get("field", "form")).split("[")[0]
        found.setdefault(name if name in LABELS else "form", str(problem.get("message", "")))
    return found or {"form": exc.message}


def _page(request: Request, backend: BackendDep, schedule_id: int, values: dict[str, Any] | None = None,
          errors: dict[str, str] | None = None, status: int = 200) -> Response:
    with backend.read() as conn:
        schedule = get_schedule(conn, schedule_id)
        interface = get_interface(conn, schedule.interface_id)
        entries = object_entries(conn, ObjectType.SCHEDULE, schedule_id)
    return render(request, "schedules/detail.html", {
        "nav": "interfaces", "schedule": schedule, "interface": interface, "values": values or _stored(schedule),
        "errors": labelled(errors or {}), "fields": FIELDS, "launches": [launch.value for launch in Launch],
        "is_feedback": schedule.function == ScheduleFunction.RETRIEVE_TICKET_STATUS.value,
        **entries,
    }, status=status)


@router.get("/schedules/{schedule_id}")
def schedule_page(request: Request, schedule_id: str, backend: BackendDep, user: WebUser) -> Response:
    return _page(request, backend, path_id(schedule_id, "schedule"))


@router.post("/schedules/{schedule_id}")
def edit_schedule(request: Request, schedule_id: str, backend: BackendDep, form: PostedForm,
                  user: WebUser) -> Response:
    sid = path_id(schedule_id, "schedule")
    typed = _typed(form)
    errors: dict[str, str] = {}
    changes = _changes(typed, errors)
    try:
        with backend.write() as conn:
            saved = update_schedule(conn, sid, changes, backend.clock.now(), actor=user)
            if errors:
                raise _Refused
    except BadInput as exc:
        errors = {**_service_errors(exc), **errors}
    except _Refused:
        pass
    else:
        state = "active" if saved.active else "paused"
        return redirect(request, f"/schedules/{sid}", flash=Flash("success", f"Schedule {sid} saved ({state})."))
    return _page(request, backend, sid, typed, errors, status=422)


@router.post("/schedules/{schedule_id}/pause")
def pause_schedule(request: Request, schedule_id: str, backend: BackendDep, _form: PostedForm,
                   user: WebUser) -> Response:
    return _set_active(request, backend, path_id(schedule_id, "schedule"), False, user)


@router.post("/schedules/{schedule_id}/resume")
def resume_schedule(request: Request, schedule_id: str, backend: BackendDep, _form: PostedForm,
                    user: WebUser) -> Response:
    return _set_active(request, backend, path_id(schedule_id, "schedule"), True, user)


def _set_active(request: Request, backend: BackendDep, sid: int, active: bool, user: str) -> Response:
    with backend.write() as conn:
        update_schedule(conn, sid, {"active": active}, backend.clock.now(), actor=user)
    message = (f"Schedule {sid} resumed: the scheduler starts it again when it is due." if active
               else f"Schedule {sid} paused: the scheduler no longer starts it (Run now still does).")
    return redirect(request, f"/schedules/{sid}", flash=Flash("success", message))


def _confirmation(request: Request, backend: BackendDep, sid: int, action: str) -> Response:
    with backend.read() as conn:
        schedule = get_schedule(conn, sid)
        interface = get_interface(conn, schedule.interface_id)
    title, consequence = _CONFIRM[action]
    return render(request, "schedules/confirm.html", {
        "nav": "interfaces", "schedule": schedule, "interface": interface, "action": action, "title": title,
        "consequence": consequence})


@router.post("/schedules/{schedule_id}/reset-feed")
def reset_schedule_feed(request: Request, schedule_id: str, backend: BackendDep, form: PostedForm,
                        user: WebUser) -> Response:
    sid = path_id(schedule_id, "schedule")
    if form.get("confirm") != "yes":
        return _confirmation(request, backend, sid, "reset-feed")
    try:
        reset_feed(backend.engine, sid, clock=backend.clock, actor=user)
    except (BadInput, Conflict) as exc:
        return redirect(request, f"/schedules/{sid}", flash=Flash("error", exc.message))
    return redirect(request, f"/schedules/{sid}", flash=Flash(
        "success", f"Schedule {sid}: feed reset; its next run reads the wallet's feed from the start."))


@router.post("/schedules/{schedule_id}/delete")
def delete_schedule(request: Request, schedule_id: str, backend: BackendDep, form: PostedForm,
                    user: WebUser) -> Response:
    sid = path_id(schedule_id, "schedule")
    if form.get("confirm") != "yes":
        return _confirmation(request, backend, sid, "delete")
    try:
        deleted = remove_schedule(backend.engine, sid, clock=backend.clock, actor=user)
    except Conflict as exc:
        return redirect(request, f"/schedules/{sid}", flash=Flash("error", exc.message))
    return redirect(request, f"/interfaces/{deleted.interface_id}", flash=Flash(
        "success", f"Schedule {sid} ({deleted.function.replace('_', ' ')}) deleted; its executions stay readable."))


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
    except (Conflict, BadInput, NotFound) as exc:
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
        schedule = get_schedule(conn, sid, deleted=True)
        interface = get_interface(conn, schedule.interface_id)
        rows, last = list_executions(conn, sid, before_id=before, limit=PAGE)
    return render(request, "executions/list.html", {
        "nav": "interfaces", "schedule": schedule, "interface": interface, "executions": rows,
        "next_url": with_query(f"/schedules/{sid}/executions", cursor=encode_cursor(last)) if last else None,
        "first_url": f"/schedules/{sid}/executions" if cursor else None,
    })
