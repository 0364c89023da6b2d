"""The overview (``GET /api/overview`` and the home screen): the answers to the event-day questions on one
page. Is the back office behind the wallet (each schedule's state, O4)? What failed (executions in
ERROR in the last 24 hours)? What is waiting (parked records, pending transfers)?

It must answer in well under 100 ms with a million tickets, so it reads indexes only, never a table
scan: every interface and schedule (a handful; a deleted schedule is left out, a paused one shown
PAUSED), their states in two queries
(`services.schedule_state`), the pending lines through ``distribution_lines (status, id)`` and the
recent errors through ``executions (status, started_at)``. The two lists show their first
`OVERVIEW_ITEMS` entries (pending transfers oldest first, errors newest first) with the full count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, func, select

from tixtrace.backoffice.db.tables import distribution_lines, executions, schedules, tickets
from tixtrace.backoffice.domain.distribution import LineStatus
from tixtrace.backoffice.domain.executions import ExecutionStatus
from tixtrace.backoffice.domain.parameters import InvalidParameters, parse_parameters
from tixtrace.backoffice.services.interfaces import list_interfaces
from tixtrace.backoffice.services.schedule_state import ScheduleWithState, with_states
from tixtrace.backoffice.services.schedules import ScheduleView
from tixtrace.backoffice.services.views import view_of
from tixtrace.kernel.clock import as_utc

#: entries shown in each list of the overview (the counts cover them all)
OVERVIEW_ITEMS = 20
#: the window of "executions in error"
ERROR_WINDOW = timedelta(hours=24)
#: interfaces shown (an organizer has a few; the interfaces list pages through more)
MAX_INTERFACES = 1000


@dataclass(frozen=True)
class InterfaceOverview:
    id: int
    name: str
    feature_active: bool
    schedules: list[ScheduleWithState]


@dataclass(frozen=True)
class PendingTransfer:
    """A distribution line still PENDING, with the ticket it belongs to."""

    id: int
    ticket_id: int
    ticket_number: str
    recipient_email: str | None
    initiated_by: str
    initiated_at: datetime
    expires_at: datetime | None


@dataclass(frozen=True)
class FailedExecution:
    """An execution that ended ERROR, with the interface of its schedule."""

    id: int
    schedule_id: int
    interface_id: int
    function: str
    started_at: datetime
    ended_at: datetime | None


@dataclass(frozen=True)
class Overview:
    interfaces: list[InterfaceOverview]
    parked_records: int  # every schedule's, in all
    pending_transfers: int
    pending_items: list[PendingTransfer]  # the oldest `OVERVIEW_ITEMS`
    errors_24h: int
    error_items: list[FailedExecution]  # the newest `OVERVIEW_ITEMS`
    error_window_start: datetime


def _feature_active(custom_parameters: str) -> bool:
    try:
        return parse_parameters(custom_parameters).feature_active
    except InvalidParameters:  # saved before a stricter grammar: its runs fail, the feature does not run
        return False


def _interfaces(conn: Connection, now: datetime) -> list[InterfaceOverview]:
    views, _ = list_interfaces(conn, limit=MAX_INTERFACES)
    ids = [view.id for view in views]
    rows = list(conn.execute(select(schedules).where(schedules.c.interface_id.in_(ids),
                                                     schedules.c.deleted_at.is_(None))  # O1: deleted, gone
                             .order_by(schedules.c.interface_id, schedules.c.id)).mappings()) if ids else []
    by_interface: dict[int, list[ScheduleWithState]] = {interface_id: [] for interface_id in ids}
    for item in with_states(conn, [view_of(ScheduleView, row) for row in rows], now):
        by_interface[item.schedule.interface_id].append(item)
    return [InterfaceOverview(view.id, view.name, _feature_active(view.custom_parameters), by_interface[view.id])
            for view in views]


def _pending(conn: Connection) -> tuple[int, list[PendingTransfer]]:
    lines = distribution_lines.c
    pending = lines.status == LineStatus.PENDING.value
    count = conn.execute(select(func.count()).select_from(distribution_lines).where(pending)).scalar_one()
    rows = conn.execute(select(lines.id, lines.ticket_id, tickets.c.number.label("ticket_number"),
                               lines.recipient_email, lines.initiated_by, lines.initiated_at, lines.expires_at)
                        .select_from(distribution_lines.join(tickets, tickets.c.id == lines.ticket_id))
                        .where(pending).order_by(lines.id).limit(OVERVIEW_ITEMS)).mappings()
    items = [PendingTransfer(id=int(row["id"]), ticket_id=int(row["ticket_id"]), ticket_number=row["ticket_number"],
                             recipient_email=row["recipient_email"], initiated_by=row["initiated_by"],
                             initiated_at=as_utc(row["initiated_at"]),
                             expires_at=as_utc(row["expires_at"]) if row["expires_at"] else None)
             for row in rows]
    return int(count), items


def _errors(conn: Connection, since: datetime) -> tuple[int, list[FailedExecution]]:
    recent = (executions.c.status == ExecutionStatus.ERROR.value, executions.c.started_at >= since)
    count = conn.execute(select(func.count()).select_from(executions).where(*recent)).scalar_one()
    rows = conn.execute(select(executions.c.id, executions.c.schedule_id, schedules.c.interface_id,
                               executions.c.function, executions.c.started_at, executions.c.ended_at)
                        .select_from(executions.join(schedules, schedules.c.id == executions.c.schedule_id))
                        .where(*recent).order_by(executions.c.started_at.desc(), executions.c.id.desc())
                        .limit(OVERVIEW_ITEMS)).mappings()
    items = [FailedExecution(id=int(row["id"]), schedule_id=int(row["schedule_id"]),
                             interface_id=int(row["interface_id"]), function=row["function"],
                             started_at=as_utc(row["started_at"]),
                             ended_at=as_utc(row["ended_at"]) if row["ended_at"] else None)
             for row in rows]
    return int(count), items


def overview(conn: Connection, now: datetime) -> Overview:
    """Everything the home screen shows, read at ``now``."""
    now = as_utc(now)
    interfaces = _interfaces(conn, now)
    pending_count, pending_items = _pending(conn)
    since = now - ERROR_WINDOW
    error_count, error_items = _errors(conn, since)
    parked = sum(item.state.parked_records for interface in interfaces for item in interface.schedules)
    return Overview(interfaces=interfaces, parked_records=parked, pending_transfers=pending_count,
                    pending_items=pending_items, errors_24h=error_count, error_items=error_items,
                    error_window_start=since)
