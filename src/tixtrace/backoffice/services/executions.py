"""Executions: one run of a schedule, its counters and its log (DESIGN section 6).

This module only records and reads; running a schedule (and the one-feedback-at-a-time lock) belongs to
the interface functions, and the statuses, levels and counters to domain/executions.py. Invariants:
- an execution starts RUNNING and ends once, OK | WARNING | ERROR, with ``ended_at``;
- counters only grow (`add_counts` adds, in the transaction of the work they count);
- log lines carry ticket numbers and ids only, never e-mails or names (section 10): callers build
  the messages, this module stores them in order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, func, insert, select, update

from tixtrace.backoffice.db.tables import execution_logs, executions
from tixtrace.backoffice.domain.errors import BackofficeCode
from tixtrace.backoffice.domain.executions import (
    COUNTERS,
    ENDED,
    ExecutionStatus,
    LogLevel,
    LogLine,
    Outcome,
    same_outcome,
    unknown_counters,
)
from tixtrace.backoffice.services.schedules import get_schedule
from tixtrace.backoffice.services.views import view_of
from tixtrace.kernel.clock import as_utc
from tixtrace.kernel.errors import BadInput, Conflict, KernelCode, NotFound

#: log lines shown with an execution; the rest are read page by page
LOG_PREVIEW = 1000


@dataclass(frozen=True)
class ExecutionRecord:
    """An execution as services return it (every column; the counters are named as in `COUNTERS`)."""

    id: int
    schedule_id: int
    function: str
    status: str
    started_at: datetime
    ended_at: datetime | None
    records_read: int
    tickets_updated: int
    contacts_created: int
    contacts_completed: int
    contacts_removed: int
    lines_created: int
    lines_updated: int
    skipped: int
    failed: int
    parked: int
    dumped_calls: str | None
    launched_by: str | None  # O2: a user's name, "scheduler" or "cli"; None before migration 0011

    def counters(self) -> dict[str, int]:
        """The counters by name, in `COUNTERS` order."""
        return {name: getattr(self, name) for name in COUNTERS}


@dataclass(frozen=True)
class LogEntry:
    """One stored log line of an execution."""

    id: int
    execution_id: int
    level: str
    ticket_number: str | None
    contact_id: int | None
    message: str
    logged_at: datetime


@dataclass(frozen=True)
class ExecutionView:
    execution: ExecutionRecord
    log: list[LogEntry]
    log_count: int


def start_execution(conn: Connection, schedule_id: int, now: datetime, *,
                    launched_by: str | None = None) -> ExecutionRecord:
    """Record a RUNNING execution of the schedule. ``launched_by`` (O2): the user's name, ``scheduler``
    or ``cli``; every entry point passes it (None only for library calls such as tests)."""
    schedule = get_schedule(conn, schedule_id)
    return view_of(ExecutionRecord, conn.execute(insert(executions).values(
        schedule_id=schedule_id, function=schedule.function, status=ExecutionStatus.RUNNING.value,
        started_at=as_utc(now), launched_by=launched_by, **dict.fromkeys(COUNTERS, 0),
    ).returning(*executions.c)).mappings().one())


def add_counts(conn: Connection, execution_id: int, counts: Mapping[str, int]) -> None:
    """Add `counts` (names of `COUNTERS`) to the execution's counters."""
    unknown = unknown_counters(counts)
    if unknown:
        raise ValueError(f"unknown execution counters: {unknown}")
    if any(value < 0 for value in counts.values()):
        raise ValueError("execution counters only grow")
    values = {name: executions.c[name] + value for name, value in counts.items() if value}
    if values:
        conn.execute(update(executions).where(executions.c.id == execution_id).values(values))


def append_log(conn: Connection, execution_id: int, lines: Iterable[LogLine], now: datetime) -> None:
    rows = [{"execution_id": execution_id, "level": line.level.value, "ticket_number": line.ticket_number,
             "contact_id": line.contact_id, "message": line.message, "logged_at": as_utc(now)} for line in lines]
    if rows:
        conn.execute(insert(execution_logs), rows)


def finish_execution(conn: Connection, execution_id: int, status: ExecutionStatus,
                     now: datetime) -> ExecutionRecord:
    """End a RUNNING execution with its final status; 409 if it has already ended."""
    if status not in ENDED:
        raise ValueError("an execution ends OK, WARNING or ERROR")
    row = conn.execute(
        update(executions)
        .where(executions.c.id == execution_id, executions.c.status == ExecutionStatus.RUNNING.value)
        .values(status=status.value, ended_at=as_utc(now))
        .returning(*executions.c)
    ).mappings().first()
    if row is None:
        current = get_execution(conn, execution_id).execution
        raise Conflict(f"execution {execution_id} has already ended {current.status}",
                       code=BackofficeCode.EXECUTION_ENDED,
                       details={"executionId": execution_id, "status": current.status})
    return view_of(ExecutionRecord, row)


def collapse_repeat(conn: Connection, execution: ExecutionRecord) -> int | None:
    """Continuous mode (O4): of consecutive executions of a schedule that end the same way, keep only
    the latest. When the schedule's execution just before ``execution`` (which has just ended) ended
    with the same status, counters, launcher and log (``domain.executions.same_outcome``), that one
    and its log are deleted; returns its id. Idle OK runs and a wallet that keeps failing the same way
    then leave one row, not one per run (86,000 a day), and the row kept is the newest: it still says
    when the back office last ran and how. Called in the transaction that ends ``execution``, under
    the schedule's run lock, so the comparison and the deletion see no other run of the schedule."""
    previous = conn.execute(select(executions).where(
        executions.c.schedule_id == execution.schedule_id, executions.c.id < execution.id)
        .order_by(executions.c.id.desc()).limit(1)).mappings().first()
    if previous is None:
        return None
    before = view_of(ExecutionRecord, previous)
    if not same_outcome(_outcome(before), _outcome(execution)):
        return None
    if _log_lines(conn, before.id) != _log_lines(conn, execution.id):
        return None
    conn.execute(delete(execution_logs).where(execution_logs.c.execution_id == before.id))
    conn.execute(delete(executions).where(executions.c.id == before.id))
    return before.id


def _outcome(execution: ExecutionRecord) -> Outcome:
    return Outcome(execution.status, execution.launched_by, tuple(execution.counters().values()))


def _log_lines(conn: Connection, execution_id: int) -> list[tuple[str, str | None, str]]:
    """An execution's log as (level, ticket, message), in order: what "the same log" compares."""
    return [tuple(row) for row in conn.execute(  # type: ignore[misc]
        select(execution_logs.c.level, execution_logs.c.ticket_number, execution_logs.c.message)
        .where(execution_logs.c.execution_id == execution_id).order_by(execution_logs.c.id))]


def get_execution(conn: Connection, execution_id: int) -> ExecutionView:
    """An execution with the first `LOG_PREVIEW` log lines and the number of lines in all."""
    row = conn.execute(select(executions).where(executions.c.id == execution_id)).mappings().first()
    if row is None:
        raise NotFound(f"execution {execution_id} does not exist", code=BackofficeCode.EXECUTION_NOT_FOUND,
                       details={"executionId": execution_id})
    log, _ = execution_log(conn, execution_id, limit=LOG_PREVIEW)
    count = conn.execute(select(func.count()).select_from(execution_logs)
                         .where(execution_logs.c.execution_id == execution_id)).scalar_one()
    return ExecutionView(view_of(ExecutionRecord, row), log, count)


def dumped_calls_text(conn: Connection, execution_id: int) -> str | None:
    """The payloads the execution exchanged with the wallet, as stored (None: dumps were off);
    404 EXECUTION_NOT_FOUND. Read alone: the execution's log is not needed to download them."""
    row = conn.execute(select(executions.c.dumped_calls).where(executions.c.id == execution_id)).first()
    if row is None:
        raise NotFound(f"execution {execution_id} does not exist", code=BackofficeCode.EXECUTION_NOT_FOUND,
                       details={"executionId": execution_id})
    return row.dumped_calls  # type: ignore[no-any-return]


def execution_log(conn: Connection, execution_id: int, *, after_id: int = 0, limit: int = 100,
                  levels: Iterable[LogLevel] | None = None) -> tuple[list[LogEntry], int | None]:
    """An execution's log lines in order, after ``after_id``, and the last id if there are more;
    ``levels``: only lines of those levels (the CLI prints the WARNING and ERROR ones)."""
    if limit < 1:
        raise BadInput("limit must be at least 1", code=KernelCode.INVALID_INPUT)
    query = (select(execution_logs)
             .where(execution_logs.c.execution_id == execution_id, execution_logs.c.id > after_id)
             .order_by(execution_logs.c.id).limit(limit + 1))
    if levels is not None:
        query = query.where(execution_logs.c.level.in_([level.value for level in levels]))
    rows = list(conn.execute(query).mappings())
    more = len(rows) > limit
    rows = rows[:limit]
    return [view_of(LogEntry, row) for row in rows], (rows[-1]["id"] if more else None)


def list_executions(conn: Connection, schedule_id: int, *, before_id: int | None = None,
                    limit: int = 100) -> tuple[list[ExecutionRecord], int | None]:
    """A schedule's executions, newest first, and the last id if there are more (a deleted schedule's
    too: they stay readable, O1); 404 for a schedule that never existed."""
    get_schedule(conn, schedule_id, deleted=True)
    return list_all_executions(conn, ExecutionFilter(schedule_id=schedule_id), before_id=before_id, limit=limit)


def moment(value: str | None, parameter: str) -> datetime | None:
    """A time filter as typed (RFC 3339, or a screen's ``2026-06-01T09:00`` read as UTC) in UTC; None
    when empty; a 422 INVALID_INPUT naming the parameter otherwise (never a 500 for a year 1 offset)."""
    if not value or not value.strip():
        return None
    try:
        return as_utc(datetime.fromisoformat(value.strip()))
    except (ValueError, OverflowError):
        raise BadInput(f"{parameter} {value!r} is not a date-time like 2026-06-11T18:00:00Z",
                       code=KernelCode.INVALID_INPUT, details={"parameter": parameter, "value": value}) from None


@dataclass(frozen=True)
class ExecutionFilter:
    """The global executions list's filters (``GET /api/executions``, ``/executions``); None: any.
    ``since`` / ``until``: the execution started at or after / before that moment."""

    status: str | None = None
    function: str | None = None
    schedule_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None


def list_all_executions(conn: Connection, where: ExecutionFilter, *, before_id: int | None = None,
                        limit: int = 100) -> tuple[list[ExecutionRecord], int | None]:
    """Every schedule's executions, newest first (by id: ids grow with starts), filtered; and the
    last id if there are more (keyset: one index range per page, whatever the page). Unknown values
    of ``status`` or ``function`` are the caller's to refuse; here they simply match nothing."""
    query = select(executions)
    if where.status is not None:
        query = query.where(executions.c.status == where.status)
    if where.function is not None:
        query = query.where(executions.c.function == where.function)
    if where.schedule_id is not None:
        query = query.where(executions.c.schedule_id == where.schedule_id)
    if where.since is not None:
        query = query.where(executions.c.started_at >= as_utc(where.since))
    if where.until is not None:
        query = query.where(executions.c.started_at < as_utc(where.until))
    if before_id is not None:
        query = query.where(executions.c.id < before_id)
    rows = list(conn.execute(query.order_by(executions.c.id.desc()).limit(limit + 1)).mappings())
    more = len(rows) > limit
    rows = rows[:limit]
    return [view_of(ExecutionRecord, row) for row in rows], (rows[-1]["id"] if more else None)
