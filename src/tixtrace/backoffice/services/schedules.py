"""Schedules: one function of an interface with its launch settings (DESIGN section 6).

Invariants:
- ``frequency_minutes`` is 0 (back-to-back runs) to 10080 (a week), default 5; ``batch_size`` is
  1 to 10000, default 1000; ``ends_at`` is not before ``starts_at``.
- The pagination key starts empty: only the feedback writes it, in the transaction of the records it
  covers.
- An event filter only exists for TICKETS_INJECTION, and names known events.
- An interface has at most one RETRIEVE_TICKET_STATUS schedule: two would read the same diff feed
  with two pagination keys.
- Only a RETRIEVE_TICKET_STATUS schedule has a feed to reset (O1); the caller holds its run lock
  (``runner.reset_feed``), so no run of it can write its old position back afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, insert, select

from tixtrace.backoffice.db.tables import schedules
from tixtrace.backoffice.domain.errors import BackofficeCode
from tixtrace.backoffice.services.events import events_by_code
from tixtrace.backoffice.services.feed_state import FEEDBACK, reset_feed_state
from tixtrace.backoffice.services.interfaces import get_interface
from tixtrace.backoffice.services.validation import Checker, FieldProblem, refuse
from tixtrace.backoffice.services.views import view_of
from tixtrace.kernel.clock import as_utc
from tixtrace.kernel.errors import BadInput, Conflict, NotFound

DEFAULT_FREQUENCY_MINUTES = 5
MAX_FREQUENCY_MINUTES = 10_080
DEFAULT_BATCH_SIZE = 1000
MAX_BATCH_SIZE = 10_000
MAX_LIST_ITEMS = 10_000


class ScheduleFunction(StrEnum):
    TICKETS_INJECTION = "TICKETS_INJECTION"
    RETRIEVE_TICKET_STATUS = FEEDBACK
    PUSH_CANCELLED = "PUSH_CANCELLED"
    PUSH_CONTROLLED = "PUSH_CONTROLLED"


class Launch(StrEnum):
    MANUAL = "MANUAL"
    AUTOMATIC = "AUTOMATIC"


@dataclass(frozen=True)
class NewSchedule:
    function: str | None
    launch: str | None
    frequency_minutes: int | None = None
    batch_size: int | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    skip_ticket_numbers: list[str] = field(default_factory=list)
    event_codes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ScheduleView:
    """A schedule as services return it (every column, the feedback's position included)."""

    id: int
    interface_id: int
    function: str
    launch: str
    frequency_minutes: int
    starts_at: datetime | None
    ends_at: datetime | None
    batch_size: int
    pagination_key: str | None
    last_record_id: int | None
    skip_ticket_numbers: list[str]
    event_codes: list[str]
    created_at: datetime
    updated_at: datetime


def _choice(checker: Checker, name: str, value: str | None, choices: type[StrEnum]) -> str | None:
    allowed = [c.value for c in choices]  # type: ignore[attr-defined]
    if value not in allowed:
        checker.fail(name, value, f"{name} {value!r} must be one of {', '.join(allowed)}")
        return None
    return value


def _bounded(checker: Checker, name: str, value: int | None, default: int, low: int, high: int) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        checker.fail(name, value, f"{name} must be a whole number from {low} to {high}, got {value!r}")
        return default
    return value


def _codes(checker: Checker, name: str, values: list[str]) -> list[str]:
    if len(values) > MAX_LIST_ITEMS:
        checker.fail(name, len(values), f"{name} holds {len(values)} values; at most {MAX_LIST_ITEMS}")
        return []
    cleaned: list[str] = []
    for index, value in enumerate(values):
        code = checker.code(f"{name}[{index}]", value, required=True)
        if code is not None and code not in cleaned:
            cleaned.append(code)
    return cleaned


def schedule_values(new: NewSchedule, checker: Checker) -> dict[str, Any]:
    function = _choice(checker, "function", new.function, ScheduleFunction)
    starts = checker.aware("startsAt", new.starts_at)
    ends = checker.aware("endsAt", new.ends_at)
    if starts is not None and ends is not None and ends < starts:
        checker.fail("endsAt", ends.isoformat(), f"endsAt {ends.isoformat()!r} must not be before startsAt")
    codes = _codes(checker, "eventCodes", new.event_codes)
    if codes and function not in (None, ScheduleFunction.TICKETS_INJECTION):
        checker.fail("eventCodes", codes, f"eventCodes only filter TICKETS_INJECTION, not {function}")
    return {
        "function": function,
        "launch": _choice(checker, "launch", new.launch, Launch),
        "frequency_minutes": _bounded(checker, "frequencyMinutes", new.frequency_minutes,
                                      DEFAULT_FREQUENCY_MINUTES, 0, MAX_FREQUENCY_MINUTES),
        "batch_size": _bounded(checker, "batchSize", new.batch_size, DEFAULT_BATCH_SIZE, 1, MAX_BATCH_SIZE),
        "starts_at": as_utc(starts) if starts else None,
        "ends_at": as_utc(ends) if ends else None,
        "skip_ticket_numbers": _codes(checker, "skipTicketNumbers", new.skip_ticket_numbers),
        "event_codes": codes,
    }


def create_schedule(conn: Connection, interface_id: int, new: NewSchedule, now: datetime) -> ScheduleView:
    """Add a schedule to an interface: 404 unknown interface, 422 bad fields or unknown event codes,
    409 SCHEDULE_ALREADY_EXISTS for a second RETRIEVE_TICKET_STATUS on the interface."""
    get_interface(conn, interface_id)
    checker = Checker()
    values = schedule_values(new, checker)
    checker.raise_if_any()
    known = events_by_code(conn, values["event_codes"])
    unknown = [code for code in values["event_codes"] if code not in known]
    if unknown:
        raise refuse([FieldProblem("eventCodes", unknown, f"eventCodes {unknown} are not known events")],
                     code=BackofficeCode.UNKNOWN_REFERENCE)
    if values["function"] == ScheduleFunction.RETRIEVE_TICKET_STATUS:
        existing = conn.execute(select(schedules.c.id).where(
            schedules.c.interface_id == interface_id,
            schedules.c.function == ScheduleFunction.RETRIEVE_TICKET_STATUS.value)).scalar()
        if existing is not None:
            raise Conflict(
                f"interface {interface_id} already has a RETRIEVE_TICKET_STATUS schedule ({existing}): "
                "two would read the same feed with two pagination keys",
                code=BackofficeCode.SCHEDULE_ALREADY_EXISTS,
                details={"interfaceId": interface_id, "scheduleId": existing},
            )
    now = as_utc(now)
    return view_of(ScheduleView, conn.execute(
        insert(schedules).values(interface_id=interface_id, pagination_key=None, **values, created_at=now,
                                 updated_at=now).returning(*schedules.c)).mappings().one())


def get_schedule(conn: Connection, schedule_id: int) -> ScheduleView:
    row = conn.execute(select(schedules).where(schedules.c.id == schedule_id)).mappings().first()
    if row is None:
        raise NotFound(f"schedule {schedule_id} does not exist", code=BackofficeCode.SCHEDULE_NOT_FOUND,
                       details={"scheduleId": schedule_id})
    return view_of(ScheduleView, row)


def reset_schedule_feed(conn: Connection, schedule_id: int) -> ScheduleView:
    """O1: clear a feedback schedule's pagination key and last applied recordId, so that its next run
    reads the wallet's whole feed again (F11: what was applied stays as it is). 404 unknown schedule,
    422 RESET_NOT_FEEDBACK for a schedule of another function. Returns the schedule."""
    schedule = get_schedule(conn, schedule_id)
    if schedule.function != ScheduleFunction.RETRIEVE_TICKET_STATUS:
        raise BadInput(f"schedule {schedule_id} is a {schedule.function} schedule: only a RETRIEVE_TICKET_STATUS "
                       "schedule reads a feed that can be reset", code=BackofficeCode.RESET_NOT_FEEDBACK,
                       details={"scheduleId": schedule_id, "function": schedule.function})
    reset_feed_state(conn, schedule_id)
    return get_schedule(conn, schedule_id)


def list_schedules(conn: Connection, interface_id: int, *, after_id: int = 0,
                   limit: int = 100) -> tuple[list[ScheduleView], int | None]:
    get_interface(conn, interface_id)
    query = (select(schedules).where(schedules.c.interface_id == interface_id, schedules.c.id > after_id)
             .order_by(schedules.c.id).limit(limit + 1))
    rows = list(conn.execute(query).mappings())
    more = len(rows) > limit
    rows = rows[:limit]
    return [view_of(ScheduleView, row) for row in rows], (rows[-1]["id"] if more else None)
