"""Events and their venue. An event's ``code`` is the operator's key (tickets and CSV files refer to it).

Times are stored in UTC; a time without a time zone is refused rather than guessed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, insert, select, update
from sqlalchemy.exc import IntegrityError

from tixtrace.backoffice.db.tables import events
from tixtrace.backoffice.domain.errors import BackofficeCode
from tixtrace.backoffice.services.validation import Checker
from tixtrace.backoffice.services.views import view_of
from tixtrace.kernel.clock import as_utc
from tixtrace.kernel.errors import Conflict, NotFound

CHUNK = 5000
#: I3: the most spectator transfers an event may allow per ticket (the wallet's own limit)
MAX_TRANSFERS_LIMIT = 1000


@dataclass(frozen=True)
class NewEvent:
    code: str | None
    name: str | None
    start_time: datetime | None
    venue_site: str | None
    venue_city: str | None
    venue_zip: str | None
    venue_country_code: str | None
    end_time: datetime | None = None
    #: I3: None = no limit; an int from the API, the cell's text from a CSV file
    max_transfers: int | str | None = None


@dataclass(frozen=True)
class EventView:
    """An event as services return it (every column)."""

    id: int
    code: str
    name: str
    start_time: datetime
    end_time: datetime | None
    venue_site: str
    venue_city: str
    venue_zip: str
    venue_country_code: str
    created_at: datetime
    max_transfers: int | None


def max_transfers_value(field: str, value: int | str | None, checker: Checker) -> int | None:
    """A whole number from 0 to MAX_TRANSFERS_LIMIT, or None (no limit); otherwise a problem naming
    the value and the range."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        number = int(value.strip())
    if number is None or not 0 <= number <= MAX_TRANSFERS_LIMIT:
        checker.fail(field, value, f"{field} must be a whole number from 0 to {MAX_TRANSFERS_LIMIT}, "
                                   f"or empty for no limit; got {value!r}")
        return None
    return number


def event_values(new: NewEvent, checker: Checker) -> dict[str, Any]:
    """Column values of `new`, its problems recorded in `checker` (field names as in the API)."""
    start = checker.aware("startTime", new.start_time, required=True)
    end = checker.aware("endTime", new.end_time)
    if start is not None and end is not None and end < start:
        checker.fail("endTime", end.isoformat(), f"endTime {end.isoformat()!r} must not be before startTime")
    return {
        "code": checker.code("code", new.code, required=True),
        "name": checker.text("name", new.name, max_length=200, required=True),
        "start_time": as_utc(start) if start else None,
        "end_time": as_utc(end) if end else None,
        "venue_site": checker.text("venue.site", new.venue_site, max_length=200, required=True),
        "venue_city": checker.text("venue.city", new.venue_city, max_length=100, required=True),
        "venue_zip": checker.text("venue.zip", new.venue_zip, max_length=20, required=True),
        "venue_country_code": checker.country("venue.countryCode", new.venue_country_code, required=True),
        "max_transfers": max_transfers_value("maxTransfers", new.max_transfers, checker),
    }


def create_event(conn: Connection, new: NewEvent, now: datetime) -> EventView:
    """Create an event; 422 naming every bad field, 409 EVENT_CODE_TAKEN if its code exists."""
    checker = Checker()
    values = event_values(new, checker)
    checker.raise_if_any()
    return view_of(EventView, insert_events(conn, [values], now)[0])


def insert_events(conn: Connection, rows: Sequence[dict[str, Any]], now: datetime) -> list[RowMapping]:
    """Insert validated event values (in order); rows, not views: the bulk path of the CSV import."""
    if not rows:
        return []
    stamped = [{**row, "created_at": as_utc(now)} for row in rows]
    try:
        result = conn.execute(insert(events).returning(*events.c, sort_by_parameter_order=True), stamped)
    except IntegrityError as exc:
        codes = [row["code"] for row in rows]
        raise Conflict(
            f"an event with code {codes[0]!r} already exists" if len(codes) == 1
            else "an event with one of these codes already exists",
            code=BackofficeCode.EVENT_CODE_TAKEN,
            details={"codes": codes[:20]},
        ) from exc
    return list(result.mappings())


def get_event(conn: Connection, event_id: int) -> EventView:
    row = conn.execute(select(events).where(events.c.id == event_id)).mappings().first()
    if row is None:
        raise NotFound(f"event {event_id} does not exist",
                       code=BackofficeCode.EVENT_NOT_FOUND, details={"eventId": event_id})
    return view_of(EventView, row)


def get_event_by_code(conn: Connection, code: str) -> EventView:
    """The event whose code is `code` (the operator's key, what ``/api/events/{code}`` names); 404
    EVENT_NOT_FOUND otherwise, also for text no code can be (never sent to the database: PostgreSQL
    refuses a NUL)."""
    checker = Checker()
    checker.code("code", code, required=True)
    row = None if checker.problems else (
        conn.execute(select(events).where(events.c.code == code)).mappings().first())
    if row is None:
        raise NotFound(f"there is no event with code {code!r}",
                       code=BackofficeCode.EVENT_NOT_FOUND, details={"code": code})
    return view_of(EventView, row)


#: what an edit may change: everything but the code, which tickets, CSV files and schedules'
#: ``eventCodes`` refer to (renaming it would silently drop the event from those schedules)
EDITABLE = frozenset(field.name for field in fields(NewEvent)) - {"code"}


def update_event(conn: Connection, code: str, changes: Mapping[str, Any]) -> EventView:
    """Change the fields named in `changes` (NewEvent field names; absent = unchanged, None = cleared)
    of the event `code`; the result is validated as a whole, like a creation (422 naming every bad
    field, endTime against the new startTime too). 404 EVENT_NOT_FOUND.

    A new ``max_transfers`` applies to tickets injected from now on: the wallet received the rule of
    the tickets it already holds with them (I3).
    """
    unknown = sorted(set(changes) - EDITABLE)
    if unknown:
        raise ValueError(f"not editable: {unknown}")  # a caller's bug: the API and the form name fields
    current = get_event_by_code(conn, code)
    merged = replace(NewEvent(
        code=current.code, name=current.name, start_time=as_utc(current.start_time),  # stored UTC (naive on SQLite)
        end_time=as_utc(current.end_time) if current.end_time else None,
        venue_site=current.venue_site, venue_city=current.venue_city, venue_zip=current.venue_zip,
        venue_country_code=current.venue_country_code, max_transfers=current.max_transfers), **changes)
    checker = Checker()
    values = event_values(merged, checker)
    checker.raise_if_any()
    del values["code"]
    row = conn.execute(update(events).where(events.c.id == current.id).values(values)
                       .returning(*events.c)).mappings().one()
    return view_of(EventView, row)


def events_by_code(conn: Connection, codes: Iterable[str]) -> dict[str, RowMapping]:
    """Events by code (unknown codes are absent), one query per `CHUNK` codes; rows, for the services'
    own checks and the CSV import."""
    wanted = sorted(set(codes))
    found: dict[str, RowMapping] = {}
    for start in range(0, len(wanted), CHUNK):
        query = select(events).where(events.c.code.in_(wanted[start:start + CHUNK]))
        found.update({row["code"]: row for row in conn.execute(query).mappings()})
    return found


def event_codes(conn: Connection, ids: Iterable[int]) -> dict[int, str]:
    wanted = sorted(set(ids))
    found: dict[int, str] = {}
    for start in range(0, len(wanted), CHUNK):
        query = select(events.c.id, events.c.code).where(events.c.id.in_(wanted[start:start + CHUNK]))
        found.update({eid: code for eid, code in conn.execute(query)})
    return found


def list_events(conn: Connection, *, code: str | None = None, after_id: int = 0,
                limit: int = 100) -> tuple[list[EventView], int | None]:
    """A page of events in id order (only `code` when given) and the last id if there are more."""
    query = select(events).where(events.c.id > after_id)
    if code is not None:
        checker = Checker()
        cleaned = checker.text("code", code, max_length=50)
        checker.raise_if_any()
        query = query.where(events.c.code == cleaned)
    rows = list(conn.execute(query.order_by(events.c.id).limit(limit + 1)).mappings())
    more = len(rows) > limit
    rows = rows[:limit]
    return [view_of(EventView, row) for row in rows], (rows[-1]["id"] if more else None)
