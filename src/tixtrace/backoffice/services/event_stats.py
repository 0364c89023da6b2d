"""What an event's tickets look like in numbers: the events list's totals and one event's breakdown.

Every figure is a GROUP BY over the indexed ``tickets.event_id`` (with ``distribution_lines`` joined by
its ``ticket_id`` index for transfers): a page of events costs two queries and one event two,
whatever the number of tickets, never a query per ticket. Transfers are distribution lines (one per
wallet transfer, F10), counted by their status.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, func, select

from tixtrace.backoffice.db.tables import distribution_lines, tickets
from tixtrace.backoffice.domain.distribution import LineStatus
from tixtrace.backoffice.domain.tickets import TicketStatus
from tixtrace.kernel.bulk import one_of


@dataclass(frozen=True)
class EventTotals:
    """An event's line in the events list."""

    tickets: int
    pending_transfers: int


@dataclass(frozen=True)
class EventBreakdown:
    """One event's tickets by back-office status and by mobile status (None: the wallet has not reported
    yet), and its transfers by status. Back-office and transfer statuses are all present (0 when none);
    mobile statuses are the wallet's and only those found are (the screen lists the wallet's in order)."""

    tickets: int
    by_status: dict[str, int]
    by_mobile_status: dict[str | None, int]
    transfers: dict[str, int]


def event_totals(conn: Connection, event_ids: Iterable[int]) -> dict[int, EventTotals]:
    """Tickets and pending transfers of each of `event_ids` (two GROUP BY queries)."""
    ids = sorted(set(event_ids))
    if not ids:
        return {}
    counted: dict[int, int] = {eid: count for eid, count in conn.execute(
        select(tickets.c.event_id, func.count()).where(one_of(conn, tickets.c.event_id, ids))
        .group_by(tickets.c.event_id))}
    pending: dict[int, int] = {eid: count for eid, count in conn.execute(
        select(tickets.c.event_id, func.count())
        .select_from(distribution_lines.join(tickets, tickets.c.id == distribution_lines.c.ticket_id))
        .where(one_of(conn, tickets.c.event_id, ids), distribution_lines.c.status == LineStatus.PENDING.value)
        .group_by(tickets.c.event_id))}
    return {eid: EventTotals(tickets=counted.get(eid, 0), pending_transfers=pending.get(eid, 0)) for eid in ids}


def event_breakdown(conn: Connection, event_id: int) -> EventBreakdown:
    """The event's tickets by status and by mobile status (one GROUP BY over both: one pass over the
    event's tickets), and its transfers by status (one more)."""
    by_status: dict[str, int] = dict.fromkeys((s.value for s in TicketStatus), 0)
    by_mobile: dict[str | None, int] = {}
    for status, mobile_status, count in conn.execute(
            select(tickets.c.status, tickets.c.mobile_status, func.count()).where(tickets.c.event_id == event_id)
            .group_by(tickets.c.status, tickets.c.mobile_status)):
        by_status[status] = by_status.get(status, 0) + count
        by_mobile[mobile_status] = by_mobile.get(mobile_status, 0) + count
    transfers: dict[str, int] = dict.fromkeys((s.value for s in LineStatus), 0)
    for status, count in conn.execute(
            select(distribution_lines.c.status, func.count())
            .select_from(distribution_lines.join(tickets, tickets.c.id == distribution_lines.c.ticket_id))
            .where(tickets.c.event_id == event_id).group_by(distribution_lines.c.status)):
        transfers[status] = count
    return EventBreakdown(tickets=sum(by_status.values()), by_status=by_status, by_mobile_status=by_mobile,
                          transfers=transfers)
