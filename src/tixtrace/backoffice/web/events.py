"""The events screens: the list (with each event's tickets and pending transfers) and its New event form,
one event's page (its tickets by status and by mobile status, its transfers by status) and its edit form.

An event is addressed by its code (``/events/WC26-M01``), as in ``/api/events/{code}``; the create
form posts to ``/events`` so that no code (``new`` is one) is shadowed by a fixed path.

Invariants:
- Figures are GROUP BY queries (`services/event_stats.py`): a page of events costs two, an event's
  page two, never one per ticket.
- A refused form (a bad field, a code taken) is shown again (422) with what was typed and each
  problem beside its field; nothing is written (the service validates before writing).
- Times are typed and shown in UTC (``datetime-local`` fields have no zone: the label says UTC).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from tixtrace.backoffice.backend import BackendDep
from tixtrace.backoffice.domain.distribution import LineStatus
from tixtrace.backoffice.domain.tickets import TicketStatus
from tixtrace.backoffice.services.event_stats import event_breakdown, event_totals
from tixtrace.backoffice.services.events import (
    EDITABLE,
    EventView,
    NewEvent,
    create_event,
    event_values,
    get_event_by_code,
    list_events,
    update_event,
)
from tixtrace.backoffice.services.validation import Checker
from tixtrace.backoffice.web import queries
from tixtrace.backoffice.web.pages import (
    Form,
    PostedForm,
    WebUser,
    form_time,
    labelled,
    redirect,
    render,
    with_query,
)
from tixtrace.kernel.clock import as_utc
from tixtrace.kernel.cursors import decode_int_cursor, encode_cursor
from tixtrace.kernel.errors import BadInput, Conflict
from tixtrace.kernel.flash import Flash

router = APIRouter(include_in_schema=False)

PAGE = 50
Text = Annotated[str | None, Query(max_length=500)]
#: the form's fields (the service's names) and the API name its problems come back under
FIELDS = {"code": "code", "name": "name", "start_time": "startTime", "end_time": "endTime",
          "venue_site": "venue.site", "venue_city": "venue.city", "venue_zip": "venue.zip",
          "venue_country_code": "venue.countryCode", "max_transfers": "maxTransfers"}
_LABELS = {"code": "Code", "name": "Name", "startTime": "Start (UTC)", "endTime": "End (UTC)", "venue.site": "Venue",
           "venue.city": "City", "venue.zip": "ZIP code", "venue.countryCode": "Country code",
           "maxTransfers": "Max transfers"}


def _typed(form: Form) -> dict[str, str]:
    return {name: form.get(name) for name in FIELDS}


def _stored(event: EventView) -> dict[str, str]:
    def local(value: datetime | None) -> str:
        return as_utc(value).strftime("%Y-%m-%dT%H:%M:%S") if value else ""
    return {"code": event.code, "name": event.name, "start_time": local(event.start_time),
            "end_time": local(event.end_time), "venue_site": event.venue_site, "venue_city": event.venue_city,
            "venue_zip": event.venue_zip, "venue_country_code": event.venue_country_code,
            "max_transfers": "" if event.max_transfers is None else str(event.max_transfers)}


def _new_event(typed: dict[str, str], errors: dict[str, str]) -> NewEvent:
    return NewEvent(code=typed["code"], name=typed["name"],
                    start_time=form_time(typed["start_time"], "startTime", errors),
                    end_time=form_time(typed["end_time"], "endTime", errors), venue_site=typed["venue_site"],
                    venue_city=typed["venue_city"], venue_zip=typed["venue_zip"],
                    venue_country_code=typed["venue_country_code"], max_transfers=typed["max_transfers"])


def _with_other_problems(new: NewEvent, errors: dict[str, str]) -> dict[str, str]:
    """`errors` (the times the form could not read) and every other problem of the form, found without
    writing: one submission shows them all."""
    checker = Checker()
    event_values(new, checker)
    for problem in checker.problems:
        errors.setdefault(problem.field, problem.message)
    return errors


def _field_errors(exc: BadInput | Conflict) -> dict[str, str]:
    if isinstance(exc, Conflict):
        return {"code": exc.message}
    found: dict[str, str] = {}
    for problem in exc.details.get("errors", []):
        found.setdefault(str(problem.get("field", "form")), str(problem.get("message", "")))
    return found or {"form": exc.message}


def _list_page(request: Request, backend: BackendDep, cursor: str | None, *, values: dict[str, str] | None = None,
               errors: dict[str, str] | None = None, status: int = 200) -> Response:
    with backend.read() as conn:
        rows, last = list_events(conn, after_id=decode_int_cursor(cursor), limit=PAGE)
        totals = event_totals(conn, [row.id for row in rows])
    return render(request, "events/list.html", {
        "nav": "events", "events": [(row, totals[row.id]) for row in rows],
        "next_url": with_query("/events", cursor=encode_cursor(last)) if last is not None else None,
        "first_url": "/events" if cursor else None,
        "values": values or dict.fromkeys(FIELDS, ""), "errors": labelled(errors or {}, _LABELS),
        "creating": values is not None,
    }, status=status)


@router.get("/events")
def event_list(request: Request, backend: BackendDep, user: WebUser, cursor: Text = None) -> Response:
    return _list_page(request, backend, cursor)


@router.post("/events")
def create_event_form(request: Request, backend: BackendDep, form: PostedForm) -> Response:
    typed = _typed(form)
    errors: dict[str, str] = {}
    new = _new_event(typed, errors)
    if not errors:
        try:
            with backend.write() as conn:
                event = create_event(conn, new, backend.clock.now())
        except (BadInput, Conflict) as exc:
            errors = _field_errors(exc)
        else:
            return redirect(request, f"/events/{event.code}", flash=Flash("success", f"Event {event.code} created."))
    else:
        errors = _with_other_problems(new, errors)
    return _list_page(request, backend, None, values=typed, errors=errors, status=422)


def _mobile_rows(by_mobile: dict[str | None, int]) -> list[tuple[str | None, int]]:
    """Every wallet status in lifecycle order (0 when none), then any other the feedback wrote."""
    known = (None, *queries.MOBILE_STATUSES)
    return [(status, by_mobile.get(status, 0)) for status in known] + [
        (status, count) for status, count in by_mobile.items() if status not in known]


@router.get("/events/{code}")
def event_page(request: Request, code: str, backend: BackendDep, user: WebUser) -> Response:
    with backend.read() as conn:
        event = get_event_by_code(conn, code)
        breakdown = event_breakdown(conn, event.id)
    return render(request, "events/detail.html", {
        "nav": "events", "event": event, "breakdown": breakdown,
        "by_status": [(s.value, breakdown.by_status[s.value]) for s in TicketStatus],
        "by_mobile": _mobile_rows(breakdown.by_mobile_status),
        "transfers": [(s.value, breakdown.transfers[s.value]) for s in LineStatus],
    })


def _edit_page(request: Request, event: EventView, values: dict[str, str], errors: dict[str, str],
               status: int = 200) -> Response:
    return render(request, "events/edit.html", {"nav": "events", "event": event, "values": values,
                                                "errors": labelled(errors, _LABELS)}, status=status)


@router.get("/events/{code}/edit")
def edit_event_page(request: Request, code: str, backend: BackendDep, user: WebUser) -> Response:
    with backend.read() as conn:
        event = get_event_by_code(conn, code)
    return _edit_page(request, event, _stored(event), {})


@router.post("/events/{code}/edit")
def update_event_form(request: Request, code: str, backend: BackendDep, form: PostedForm) -> Response:
    with backend.read() as conn:
        event = get_event_by_code(conn, code)  # a 404 page before anything else
    typed = {**_typed(form), "code": event.code}
    errors: dict[str, str] = {}
    new = _new_event(typed, errors)
    if not errors:
        changes: dict[str, Any] = {name: getattr(new, name) for name in sorted(EDITABLE)}
        try:
            with backend.write() as conn:
                update_event(conn, event.code, changes)
        except BadInput as exc:
            errors = _field_errors(exc)
        else:
            return redirect(request, f"/events/{event.code}", flash=Flash("success", f"Event {event.code} saved."))
    else:
        errors = _with_other_problems(new, errors)
    return _edit_page(request, event, typed, errors, status=422)
