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
- O1: a schedule is edited (every field but its interface and function), paused (``active=false``:
  the scheduler never starts it; Run now still does) and deleted. A deleted schedule is kept with
  ``deleted_at`` so its executions, logs and parked records stay readable; every other read
  (`get_schedule`, `list_schedules`, the scheduler, Run now) treats it as gone (404). The caller of
  `delete_schedule` holds the schedule's run lock (``runner.remove_schedule``): never while it runs.
- Every change writes its audit entry (O2, `services/audit.py`) in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, insert, select, update

from tixtrace.backoffice.db.tables import schedules
from tixtrace.backoffice.domain.errors import BackofficeCode
from tixtrace.backoffice.services import audit
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
    active: bool
    deleted_at: datetime | None


#: the fields an edit may change (PATCH /api/schedules/{id}), by their service names; the API's
#: camelCase name of each is `FIELD_NAMES`'s value
EDITABLE = ("launch", "frequency_minutes", "starts_at", "ends_at", "batch_size", "skip_ticket_numbers",
            "event_codes", "active")
FIELD_NAMES = {"function": "function", "launch": "launch", "frequency_minutes": "frequencyMinutes",
               "starts_at": "startsAt", "ends_at": "endsAt", "batch_size": "batchSize",
               "skip_ticket_numbers": "skipTicketNumbers", "event_codes": "eventCodes", "active": "active",
               "pagination_key": "paginationKey", "last_record_id": "lastRecordId"}


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


def _check_events_known(conn: Connection, codes: list[str]) -> None:
    known = events_by_code(conn, codes)
    unknown = [code for code in codes if code not in known]
    if unknown:
        raise refuse([FieldProblem("eventCodes", unknown, f"eventCodes {unknown} are not known events")],
                     code=BackofficeCode.UNKNOWN_REFERENCE)


def _audited(view: ScheduleView) -> dict[str, Any]:
    """The fields an audit entry compares, by their API names."""
    return {FIELD_NAMES[name]: getattr(view, name) for name in ("function", *EDITABLE, "pagination_key")}


def create_schedule(conn: Connection, interface_id: int, new: NewSchedule, now: datetime, *,
                    actor: str) -> ScheduleView:
    """Add a schedule to an interface: 404 unknown interface, 422 bad fields or unknown event codes,
    409 SCHEDULE_ALREADY_EXISTS for a second RETRIEVE_TICKET_STATUS on the interface."""
    get_interface(conn, interface_id)
    checker = Checker()
    values = schedule_values(new, checker)
    checker.raise_if_any()
    _check_events_known(conn, values["event_codes"])
    if values["function"] == ScheduleFunction.RETRIEVE_TICKET_STATUS:
        existing = conn.execute(select(schedules.c.id).where(
            schedules.c.interface_id == interface_id, schedules.c.deleted_at.is_(None),
            schedules.c.function == ScheduleFunction.RETRIEVE_TICKET_STATUS.value)).scalar()
        if existing is not None:
            raise Conflict(
                f"interface {interface_id} already has a RETRIEVE_TICKET_STATUS schedule ({existing}): "
                "two would read the same feed with two pagination keys",
                code=BackofficeCode.SCHEDULE_ALREADY_EXISTS,
                details={"interfaceId": interface_id, "scheduleId": existing},
            )
    now = as_utc(now)
    created = view_of(ScheduleView, conn.execute(
        insert(schedules).values(interface_id=interface_id, pagination_key=None, **values, active=True,
                                 created_at=now, updated_at=now).returning(*schedules.c)).mappings().one())
    audit.record(conn, actor=actor, action=audit.Action.CREATE, object_type=audit.ObjectType.SCHEDULE,
                 object_id=created.id, changes=audit.diff(None, {"interfaceId": interface_id, **_audited(created)}),
                 at=now)
    return created


def get_schedule(conn: Connection, schedule_id: int, *, deleted: bool = False) -> ScheduleView:
    """A schedule; 404 SCHEDULE_NOT_FOUND, also for a deleted one unless ``deleted`` (the pages of
    its executions, which stay readable)."""
    row = conn.execute(select(schedules).where(schedules.c.id == schedule_id)).mappings().first()
    if row is None or (row["deleted_at"] is not None and not deleted):
        raise NotFound(f"schedule {schedule_id} does not exist", code=BackofficeCode.SCHEDULE_NOT_FOUND,
                       details={"scheduleId": schedule_id})
    return view_of(ScheduleView, row)


def update_schedule(conn: Connection, schedule_id: int, changes: dict[str, Any], now: datetime, *,
                    actor: str) -> ScheduleView:
    """O1: change some of a schedule's `EDITABLE` fields (``changes``: service names to new values; a
    field left out keeps its value). The result is checked as a whole, as on creation (an end before
    the start is refused even when only one of them changes): 422 naming each bad field, 422
    UNKNOWN_REFERENCE for unknown event codes, 404 unknown (or deleted) schedule. Pausing
    (``active=false``) does not stop a run in progress; the scheduler starts it no more."""
    current = get_schedule(conn, schedule_id)
    checker = Checker()
    unknown_fields = sorted(set(changes) - set(EDITABLE))
    for name in unknown_fields:
        checker.fail(FIELD_NAMES.get(name, name), None, f"{FIELD_NAMES.get(name, name)} cannot be changed")
    merged = {name: changes[name] if name in changes else getattr(current, name) for name in EDITABLE}
    for name in ("starts_at", "ends_at"):  # stored times read back naive on SQLite: they are UTC
        if name not in changes and merged[name] is not None:
            merged[name] = as_utc(merged[name])
    active = merged["active"]
    if not isinstance(active, bool):
        checker.fail("active", active, f"active must be true or false, got {active!r}")
    values = schedule_values(NewSchedule(
        function=current.function, launch=merged["launch"], frequency_minutes=merged["frequency_minutes"],
        batch_size=merged["batch_size"], starts_at=merged["starts_at"], ends_at=merged["ends_at"],
        skip_ticket_numbers=list(merged["skip_ticket_numbers"] or []),
        event_codes=list(merged["event_codes"] or [])), checker)
    checker.raise_if_any()
    _check_events_known(conn, values["event_codes"])
    del values["function"]
    now = as_utc(now)
    updated = view_of(ScheduleView, conn.execute(
        update(schedules).where(schedules.c.id == schedule_id)
        .values(**values, active=active, updated_at=now).returning(*schedules.c)).mappings().one())
    found = audit.diff(_audited(current), _audited(updated))
    if found:
        action = audit.Action.UPDATE
        if set(found) == {"active"}:
            action = audit.Action.RESUME if updated.active else audit.Action.PAUSE
        audit.record(conn, actor=actor, action=action, object_type=audit.ObjectType.SCHEDULE,
                     object_id=schedule_id, changes=found, at=now)
    return updated


def delete_schedule(conn: Connection, schedule_id: int, now: datetime, *, actor: str) -> ScheduleView:
    """O1: delete a schedule: it disappears from its interface and is never run again; its executions,
    logs and parked records stay readable (docs/decisions.md). The caller holds its run lock (409
    while it runs). 404 unknown or already deleted."""
    current = get_schedule(conn, schedule_id)
    now = as_utc(now)
    deleted = view_of(ScheduleView, conn.execute(
        update(schedules).where(schedules.c.id == schedule_id)
        .values(deleted_at=now, active=False, updated_at=now).returning(*schedules.c)).mappings().one())
    audit.record(conn, actor=actor, action=audit.Action.DELETE, object_type=audit.ObjectType.SCHEDULE,
                 object_id=schedule_id, changes=audit.diff({"interfaceId": current.interface_id, **_audited(current)},
                                                           None), at=now)
    return deleted


def reset_schedule_feed(conn: Connection, schedule_id: int, now: datetime, *, actor: str) -> ScheduleView:
    """O1: clear a feedback schedule's pagination key and last applied recordId, so that its next run
    reads the wallet's whole feed again (F11: what was applied stays as it is). 404 unknown schedule,
    422 RESET_NOT_FEEDBACK for a schedule of another function. Returns the schedule."""
    schedule = get_schedule(conn, schedule_id)
    if schedule.function != ScheduleFunction.RETRIEVE_TICKET_STATUS:
        raise BadInput(f"schedule {schedule_id} is a {schedule.function} schedule: only a RETRIEVE_TICKET_STATUS "
                       "schedule reads a feed that can be reset", code=BackofficeCode.RESET_NOT_FEEDBACK,
                       details={"scheduleId": schedule_id, "function": schedule.function})
    reset_feed_state(conn, schedule_id)
    audit.record(conn, actor=actor, action=audit.Action.RESET_FEED, object_type=audit.ObjectType.SCHEDULE,
                 object_id=schedule_id,
                 changes={"paginationKey": [schedule.pagination_key, None],
                          "lastRecordId": [schedule.last_record_id, None]}, at=now)
    return get_schedule(conn, schedule_id)


def list_schedules(conn: Connection, interface_id: int, *, after_id: int = 0,
                   limit: int = 100) -> tuple[list[ScheduleView], int | None]:
    get_interface(conn, interface_id)
    query = (select(schedules).where(schedules.c.interface_id == interface_id, schedules.c.id > after_id,
                                     schedules.c.deleted_at.is_(None))
             .order_by(schedules.c.id).limit(limit + 1))
    rows = list(conn.execute(query).mappings())
    more = len(rows) > limit
    rows = rows[:limit]
    return [view_of(ScheduleView, row) for row in rows], (rows[-1]["id"] if more else None)
