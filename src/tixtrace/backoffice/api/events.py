"""``/api/events``: events and their venue."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from tixtrace.backoffice.api.deps import MAX_SMALL_ID, Cursor, Limit, User, after_id, next_cursor
from tixtrace.backoffice.api.documents import EventOut, EventPage
from tixtrace.backoffice.api.schemas import EventIn, EventPatchIn, event_json, page
from tixtrace.backoffice.backend import BackendDep
from tixtrace.backoffice.services.events import NewEvent, create_event, get_event_by_code, list_events, update_event
from tixtrace.kernel.web import documented, error_responses

router = APIRouter(prefix="/api/events", tags=["events"], responses=error_responses(400, 401, 404, 409, 422, 429))


@router.post("", summary="Create an event", **documented(EventOut, 201))
def post_event(body: EventIn, backend: BackendDep, _user: User) -> dict[str, Any]:
    new = NewEvent(code=body.code, name=body.name, start_time=body.start_time, end_time=body.end_time,
                   venue_site=body.venue.site, venue_city=body.venue.city, venue_zip=body.venue.zip,
                   venue_country_code=body.venue.country_code, max_transfers=body.max_transfers)
    with backend.write() as conn:
        return event_json(create_event(conn, new, backend.clock.now()))


@router.get("", summary="List events (only the one with `code` when given)", **documented(EventPage))
def get_events(backend: BackendDep, _user: User, code: Annotated[str | None, Query(max_length=50)] = None,
               cursor: Cursor = None, limit: Limit = 100) -> dict[str, Any]:
    start = after_id(cursor, MAX_SMALL_ID)
    with backend.read() as conn:
        rows, last = list_events(conn, code=code, after_id=start, limit=limit)
    return page([event_json(row) for row in rows], next_cursor(last))


#: an event is addressed by its code, the operator's key (as ``/api/events/{code}/holders``)
EventCode = Annotated[str, Path(max_length=50, description="the event's code")]


@router.get("/{code}", summary="One event, by its code", **documented(EventOut))
def get_one_event(code: EventCode, backend: BackendDep, _user: User) -> dict[str, Any]:
    with backend.read() as conn:
        return event_json(get_event_by_code(conn, code))


@router.patch("/{code}", summary="Change an event's name, times, venue or maxTransfers (not its code)",
              **documented(EventOut))
def patch_event(code: EventCode, body: EventPatchIn, backend: BackendDep, _user: User) -> dict[str, Any]:
    with backend.write() as conn:
        return event_json(update_event(conn, code, body.changes()))
