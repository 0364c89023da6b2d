"""Changing wallet tickets: the one path every state change takes (house rule 3).

Every write of an organizer's log starts with ``begin_write``: it takes the organizer's log lock,
reads ``now`` and materializes ALL the organizer's overdue expiries (W6), in ``expiresAt`` order,
before the write's own records. So an expiry is never logged after an action that happened after it,
whichever ticket the action was on, and reading the feed (which materializes too) never changes the
order of the log. Under the lock two writers cannot both materialize one expiry; should it happen
anyway, saving the transfer a second time fails (``tickets_repo.save`` only moves PENDING rows).

``change_ticket`` then loads the aggregate, runs the domain operation and saves state + transfers +
records in one transaction. When the operation is refused, the expiries it uncovered are still
committed before the refusal is raised, so the log never lags behind what people were told. The
organizer-side actions (delete, control, organizer transfer, detail) live here too.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, select

from tixtrace.kernel.clock import Clock, isoformat
from tixtrace.kernel.db import unit_of_work
from tixtrace.kernel.errors import NotFound, TixtraceError
from tixtrace.wallet.db import status_log
from tixtrace.wallet.db import tickets as tickets_repo
from tixtrace.wallet.db.database import lock_organizer_log
from tixtrace.wallet.db.tables import tickets
from tixtrace.wallet.domain.tickets import Change, Status, Ticket, Transfer

T = TypeVar("T")
Operation = Callable[[Ticket, datetime], tuple[T, list[Change]]]
_EXPIRY_BATCH = 2_000


def expire_overdue(conn: Connection, organizer_id: int, now: datetime) -> int:
    """Fail every pending transfer of the organizer that is due at ``now`` (W6); returns how many.

    One FAILURE/TIMEOUT record each, ``occurredAt = expiresAt``, in ``expiresAt`` order (ties in
    creation order). The caller holds the organizer's log lock (``begin_write``). Costs one indexed
    query when nothing is overdue.
    """
    expired = 0
    while True:
        pks = tickets_repo.overdue(conn, organizer_id, now, _EXPIRY_BATCH)
        if not pks:
            return expired
        loaded = {stored.pk: stored for stored in tickets_repo.load(conn, tickets.c.id.in_(pks))}
        entries = [(loaded[pk], loaded[pk].ticket.expire_if_due(now)) for pk in pks]
        if not all(changes for _, changes in entries):  # would loop for ever: the two tables disagree
            raise RuntimeError(f"organizer {organizer_id}: a PENDING transfer row without its pending ticket")
        tickets_repo.save(conn, organizer_id, entries, now)
        expired += len(entries)
        if len(pks) < _EXPIRY_BATCH:
            return expired


def begin_write(conn: Connection, clock: Clock, organizer_id: int) -> datetime:
    """Start a write of the organizer's log: lock it, read ``now`` and materialize every overdue
    expiry first (W6). Returns ``now``, the time of the write's own records."""
    lock_organizer_log(conn, organizer_id)
    now = clock.now()
    expire_overdue(conn, organizer_id, now)
    return now


def change_ticket(engine: Engine, clock: Clock, ticket_pk: int, organizer_id: int, operation: Operation[T]) -> T:
    refusal: TixtraceError | None = None
    result: Any = None
    with unit_of_work(engine) as conn:
        now = begin_write(conn, clock, organizer_id)
        [stored] = tickets_repo.load(conn, tickets.c.id == ticket_pk)
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
        raise NotFound(f"no ticket {ticket_id!r} for this organizer", code="TICKET_NOT_FOUND",
                       details={"ticketId": ticket_id})
    return int(pk)


def organizer_transfer(engine: Engine, clock: Clock, organizer_id: int, ticket_id: str, recipient: str,
                       reason: str | None) -> Transfer:
    """W7: the organizer moves a ticket to ``recipient`` at once."""
    with unit_of_work(engine, write=False) as conn:
        pk = find_pk(conn, organizer_id, ticket_id)
    return change_ticket(engine, clock, pk, organizer_id,
                         lambda ticket, now: ticket.organizer_transfer(recipient, reason, now))


def _bulk(engine: Engine, clock: Clock, organizer_id: int, ticket_ids: list[str],
          operation: Callable[[Ticket, datetime], list[Change]]) -> dict[str, dict[str, Any]]:
    """Apply ``operation`` to each ticket of the batch in one transaction; per-ticket results."""
    results: dict[str, dict[str, Any]] = {}
    with unit_of_work(engine) as conn:
        now = begin_write(conn, clock, organizer_id)
        found = tickets_repo.load_by_ticket_ids(conn, organizer_id, ticket_ids)
        entries = []
        for ticket_id in ticket_ids:
            stored = found.get(ticket_id)
            if stored is None:
                results[ticket_id] = {"result": "NOT_FOUND", "error": "TICKET_NOT_FOUND"}
                continue
            before = stored.ticket.status
            changes = stored.ticket.expire_if_due(now)
            try:
                changes += operation(stored.ticket, now)
                unchanged = stored.ticket.status == before and not changes
                results[ticket_id] = {"result": "UNCHANGED" if unchanged else stored.ticket.status.value,
                                      "error": None}
            except TixtraceError as exc:
                results[ticket_id] = {"result": "REFUSED", "error": exc.code}
            entries.append((stored, changes))
        tickets_repo.save(conn, organizer_id, entries, now)
    return results


def delete_tickets(engine: Engine, clock: Clock, organizer_id: int,
                   items: list[tuple[str, bool]]) -> dict[str, dict[str, Any]]:
    """W8 delete: (ticket id, showDeletedTicket) pairs → DELETION_PENDING, or DELETED if never downloaded."""
    show = dict(items)
    return _bulk(engine, clock, organizer_id, list(show),
                 lambda ticket, now: ticket.delete(now, show_deleted=show[ticket.ticket_id]))


def control_tickets(engine: Engine, clock: Clock, organizer_id: int,
                    ticket_ids: list[str]) -> dict[str, dict[str, Any]]:
    """W8 control: CONTROLLED for good; a pending transfer fails first."""
    return _bulk(engine, clock, organizer_id, ticket_ids, lambda ticket, now: ticket.control(now))


def ticket_detail(engine: Engine, clock: Clock, organizer_id: int, ticket_id: str) -> dict[str, Any]:
    """The ticket's current state and its full status log (expiries materialized first)."""
    with unit_of_work(engine, write=False) as conn:
        pk = find_pk(conn, organizer_id, ticket_id)
    change_ticket(engine, clock, pk, organizer_id, lambda ticket, now: (None, []))
    with unit_of_work(engine, write=False) as conn:
        [stored] = tickets_repo.load(conn, tickets.c.id == pk)
        log = [status_log.decode(record_id, body) for record_id, body in status_log.of_ticket(conn, pk)]
    ticket = stored.ticket
    pending = ticket.pending
    return {
        "ticketId": ticket.ticket_id,
        "status": ticket.status.value,
        "event": stored.event,
        "walletOwner": log[-1]["walletOwner"] if log else None,
        "originalSpectatorEmail": ticket.original_owner,
        "ticketHolder": ticket.holder,
        "transferLevel": ticket.transfer_level,
        "transfersDone": ticket.transfers_done,
        "maxTransfers": ticket.max_transfers,
        "pendingTransfer": None if pending is None else {
            "transferId": pending.transfer_id, "recipientEmail": pending.recipient,
            "expiresAt": isoformat(pending.expires_at),
        },
        "statusLog": log,
    }


__all__ = ["Status", "change_ticket", "control_tickets", "delete_tickets", "find_pk", "organizer_transfer",
           "ticket_detail"]
