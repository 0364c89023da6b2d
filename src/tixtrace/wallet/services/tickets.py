"""Changing wallet tickets: the one path every state change takes (house rule 3).

Every write of an organizer's log starts with ``begin_write``: it reads ``now`` and materializes ALL the
organizer's overdue expiries (W6), in ``expiresAt`` order, before the write's own records. Writers of one
organizer run at once (no organizer-wide lock): each locks the ticket rows it changes, expiries
included, so an expiry another writer is materializing is waited for, then found resolved and skipped:
it is logged once, and before the records of every write whose ``now`` is past it (the waiting writer
draws its record ids after the other committed). So an expiry is never logged after an action that
happened after it, whichever ticket the action was on, and reading the feed (which materializes too)
never changes the order of the log. Should two writers resolve one transfer anyway, saving it the
second time fails (``tickets_repo.save`` only moves PENDING rows). The feed's order under concurrent
writers is kept by the readers' watermark (``status_log.visible_up_to``).

``change_ticket`` then loads the aggregate (locked), runs the domain operation and saves state +
transfers + records in the caller's unit of work. When the operation is refused, the expiries it
uncovered are saved before the refusal is raised, and the routes' ``action_unit_of_work`` commits them,
so the log never lags behind what people were told. The organizer-side actions (delete, control,
organizer transfer, detail) live here too. Services take the caller's connection and return typed views.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, select

from tixtrace.kernel.clock import Clock
from tixtrace.kernel.errors import NotFound, TixtraceError
from tixtrace.wallet.db import status_log
from tixtrace.wallet.db import tickets as tickets_repo
from tixtrace.wallet.db.tables import tickets
from tixtrace.wallet.domain.errors import WalletCode
from tixtrace.wallet.domain.tickets import Change, Status, Ticket, Transfer

T = TypeVar("T")
Operation = Callable[[Ticket, datetime], tuple[T, list[Change]]]
_EXPIRY_BATCH = 2_000


def expire_overdue(conn: Connection, organizer_id: int, now: datetime) -> int:
    """Fail every pending transfer of the organizer that is due at ``now`` (W6); returns how many.

    One FAILURE/TIMEOUT record each, ``occurredAt = expiresAt``, in ``expiresAt`` order (ties in
    creation order). The tickets are locked first (``load(..., lock=True)``): a ticket another writer is
    changing is waited for and read as it left it, so a transfer that writer resolved (expired, accepted,
    ...) is skipped here, never logged twice. Costs one indexed query when nothing is overdue.
    """
    expired = 0
    unchanged: list[int] = []
    while True:
        pks = tickets_repo.overdue(conn, organizer_id, now, _EXPIRY_BATCH)
        if not pks:
            return expired
        loaded = {stored.pk: stored for stored in tickets_repo.load(conn, tickets.c.id.in_(pks), lock=True)}
        entries = [(loaded[pk], loaded[pk].ticket.expire_if_due(now)) for pk in pks]
        changed = sum(1 for _, changes in entries if changes)
        if not changed:  # all resolved by writers we waited for; the same ones again: the tables disagree
            if pks == unchanged:
                raise RuntimeError(f"organizer {organizer_id}: a PENDING transfer row without its pending ticket")
            unchanged = pks
            continue
        tickets_repo.save(conn, organizer_id, entries, now)
        expired += changed
        if len(pks) < _EXPIRY_BATCH:
            return expired


def begin_write(conn: Connection, clock: Clock, organizer_id: int) -> datetime:
    """Start a write of the organizer's log: read ``now`` and materialize every overdue expiry first
    (W6), waiting for writers that hold one of those tickets. Returns ``now``, the time of the write's
    own records."""
    now = clock.now()
    expire_overdue(conn, organizer_id, now)
    return now


def change_ticket(conn: Connection, clock: Clock, ticket_pk: int, organizer_id: int, operation: Operation[T]) -> T:
    """Run ``operation`` on the ticket in the caller's unit of work, after ``begin_write``.

    A refusal (``TixtraceError``) is raised after the expiries it uncovered are saved: a caller that
    must keep them opens its unit with ``action_unit_of_work``, which commits them before re-raising.
    """
    refusal: TixtraceError | None = None
    result: Any = None
    now = begin_write(conn, clock, organizer_id)
    [stored] = tickets_repo.load(conn, tickets.c.id == ticket_pk, lock=True)
    changes = stored.ticket.expire_if_due(now)
    try:
        result, more = operation(stored.ticket, now)
        changes += more
    except TixtraceError as exc:
        refusal = exc
    tickets_repo.save(conn, organizer_id, [(stored, changes)], now)
    if refusal is not None:
        raise refusal
    return result  # type: ignore[no-any-return]


def find_pk(conn: Connection, organizer_id: int, ticket_id: str) -> int:
    # an id with NUL cannot exist (injection refuses it) and PostgreSQL refuses it in a query: unknown
    pk = None if "\x00" in ticket_id else conn.scalar(select(tickets.c.id).where(
        tickets.c.organizer_id == organizer_id, tickets.c.ticket_id == ticket_id))
    if pk is None:
        raise NotFound(f"no ticket {ticket_id!r} for this organizer", code=WalletCode.TICKET_NOT_FOUND,
                       details={"ticketId": ticket_id})
    return int(pk)


def organizer_transfer(conn: Connection, clock: Clock, organizer_id: int, ticket_id: str, recipient: str,
                       reason: str | None) -> Transfer:
    """W7: the organizer moves a ticket to ``recipient`` at once."""
    pk = find_pk(conn, organizer_id, ticket_id)
    return change_ticket(conn, clock, pk, organizer_id,
                         lambda ticket, now: ticket.organizer_transfer(recipient, reason, now))


@dataclass(frozen=True)
class BatchResult:
    """One ticket's outcome in a control or delete batch: the status reached, UNCHANGED, NOT_FOUND or
    REFUSED (with the refusal's code)."""

    ticket_id: str
    result: str
    error: str | None


def _bulk(conn: Connection, clock: Clock, organizer_id: int, ticket_ids: list[str],
          operation: Callable[[Ticket, datetime], list[Change]]) -> list[BatchResult]:
    """Apply ``operation`` to each ticket of the batch, in the caller's unit of work; per-ticket results."""
    results: dict[str, BatchResult] = {}
    now = begin_write(conn, clock, organizer_id)
    found = tickets_repo.load_by_ticket_ids(conn, organizer_id, ticket_ids, lock=True)
    entries = []
    for ticket_id in ticket_ids:
        stored = found.get(ticket_id)
        if stored is None:
            results[ticket_id] = BatchResult(ticket_id, "NOT_FOUND", "TICKET_NOT_FOUND")
            continue
        before = stored.ticket.status
        changes = stored.ticket.expire_if_due(now)
        try:
            changes += operation(stored.ticket, now)
            unchanged = stored.ticket.status == before and not changes
            results[ticket_id] = BatchResult(ticket_id, "UNCHANGED" if unchanged else stored.ticket.status.value, None)
        except TixtraceError as exc:
            results[ticket_id] = BatchResult(ticket_id, "REFUSED", exc.code)
        entries.append((stored, changes))
    tickets_repo.save(conn, organizer_id, entries, now)
    return list(results.values())


def delete_tickets(conn: Connection, clock: Clock, organizer_id: int,
                   items: list[tuple[str, bool]]) -> list[BatchResult]:
    """W8 delete: (ticket id, showDeletedTicket) pairs → DELETION_PENDING, or DELETED if never downloaded."""
    show = dict(items)
    return _bulk(conn, clock, organizer_id, list(show),
                 lambda ticket, now: ticket.delete(now, show_deleted=show[ticket.ticket_id]))


def control_tickets(conn: Connection, clock: Clock, organizer_id: int, ticket_ids: list[str]) -> list[BatchResult]:
    """W8 control: CONTROLLED for good; a pending transfer fails first."""
    return _bulk(conn, clock, organizer_id, ticket_ids, lambda ticket, now: ticket.control(now))


@dataclass(frozen=True)
class TicketDetail:
    """A ticket as its organizer sees it, with its whole status log.

    ``wallet_owner`` and ``status_log`` are lifecycle records' content, kept as the wire JSON they are
    stored as (docs/decisions.md: records are serialized once, at write time)."""

    ticket: Ticket
    event: dict[str, Any]
    wallet_owner: dict[str, Any] | None
    status_log: list[dict[str, Any]]


def ticket_detail(conn: Connection, clock: Clock, organizer_id: int, ticket_id: str) -> TicketDetail:
    """The ticket's current state and its full status log (expiries materialized first: a write)."""
    pk = find_pk(conn, organizer_id, ticket_id)
    change_ticket(conn, clock, pk, organizer_id, lambda ticket, now: (None, []))
    [stored] = tickets_repo.load(conn, tickets.c.id == pk)  # still locked by change_ticket
    log = [status_log.decode(record_id, body) for record_id, body in status_log.of_ticket(conn, pk)]
    return TicketDetail(stored.ticket, stored.event, log[-1]["walletOwner"] if log else None, log)


__all__ = ["BatchResult", "Status", "TicketDetail", "begin_write", "change_ticket", "control_tickets",
           "delete_tickets", "expire_overdue", "find_pk", "organizer_transfer", "ticket_detail"]
