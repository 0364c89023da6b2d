"""Loading and saving wallet tickets as domain aggregates, a page at a time.

``load`` reads the tickets, the accounts they reference and their pending transfers in three
queries whatever the number of tickets; ``save`` writes the new ticket states, the transfers the
changes touched and one status-log record per change, whose people are the organizer's views of them
(W10). A writer loads with ``lock=True``: the ticket rows stay locked (``FOR NO KEY UPDATE``) until
its transaction ends, so two writers of one ticket take turns and the second sees the first's result;
writers of different tickets of one organizer run at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from tixtrace.kernel.clock import as_utc
from tixtrace.wallet.db import accounts as accounts_repo
from tixtrace.wallet.db import organizer_profiles, status_log
from tixtrace.wallet.db.tables import tickets, transfers
from tixtrace.wallet.domain.tickets import (
    Change,
    Direction,
    FailureReason,
    Initiator,
    Status,
    Ticket,
    Transfer,
    TransferState,
)


@dataclass
class Stored:
    """A ticket aggregate with the database keys it was loaded from."""

    pk: int
    organizer_id: int
    ticket: Ticket
    event: dict[str, Any]


def _transfer(row: Any, ticket_id: str, sender_email: str) -> Transfer:
    return Transfer(
        transfer_id=row.transfer_id, ticket_id=ticket_id, sender=sender_email,
        recipient=row.recipient_email, direction=Direction(row.direction),
        initiated_by=Initiator(row.initiated_by), created_at=as_utc(row.created_at),
        expires_at=as_utc(row.expires_at) if row.expires_at else None, state=TransferState(row.state),
        resolved_at=as_utc(row.resolved_at) if row.resolved_at else None,
        failure_reason=FailureReason(row.failure_reason) if row.failure_reason else None, reason=row.reason,
    )


def load(conn: Connection, where: Any, *, limit: int | None = None, lock: bool = False) -> list[Stored]:
    """The tickets matching ``where`` (a SQL condition on ``tickets``), as aggregates, in pk order.

    ``lock``: lock the ticket rows for this transaction first, in pk order (so two writers of many
    tickets never wait for each other in a cycle), waiting for a writer that holds one; the aggregate is
    then read from the rows as that writer left them. Their transfers and accounts are read after the
    lock, and a ticket's transfers only change under its lock (ignored by SQLite: one writer)."""
    query = select(tickets).where(where).order_by(tickets.c.id).limit(limit)
    if lock:
        query = query.with_for_update(key_share=True)
    rows = conn.execute(query).all()
    if not rows:
        return []
    account_ids: set[int] = set()
    for row in rows:
        account_ids.update((row.owner_id, row.original_owner_id, *row.previous_owner_ids))
    pending_rows = conn.execute(
        select(transfers).where(transfers.c.ticket_pk.in_([row.id for row in rows]),
                                transfers.c.state == TransferState.PENDING.value)
    ).all()
    account_ids.update(row.sender_id for row in pending_rows)
    emails = {pk: row["email"] for pk, row in accounts_repo.by_ids(conn, account_ids).items()}
    pending = {row.ticket_pk: row for row in pending_rows}
    loaded = []
    for row in rows:
        ticket = Ticket(
            ticket_id=row.ticket_id, owner=emails[row.owner_id], original_owner=emails[row.original_owner_id],
            status=Status(row.status), previous_owners=[emails[i] for i in row.previous_owner_ids],
            holder=row.holder, downloaded=row.downloaded, max_transfers=row.max_transfers,
            transfers_done=row.transfers_done, show_deleted=row.show_deleted,
        )
        if row.id in pending:
            ticket.pending = _transfer(pending[row.id], row.ticket_id, emails[pending[row.id].sender_id])
        loaded.append(Stored(row.id, row.organizer_id, ticket, row.event))
    return loaded


def overdue(conn: Connection, organizer_id: int, now: datetime, limit: int) -> list[int]:
    """Ticket pks of the organizer's pending transfers due at ``now`` (``expires_at <= now``), in
    ``expires_at`` order, ties in creation order: one range of ``ix_transfers_pending``."""
    query = (
        select(transfers.c.ticket_pk)
        .where(transfers.c.organizer_id == organizer_id, transfers.c.state == TransferState.PENDING.value,
               transfers.c.expires_at <= now)
        .order_by(transfers.c.expires_at, transfers.c.id)
        .limit(limit)
    )
    return [int(pk) for pk in conn.scalars(query)]


def load_by_ticket_ids(conn: Connection, organizer_id: int, ticket_ids: Iterable[str], *,
                       lock: bool = False) -> dict[str, Stored]:
    wanted = sorted(set(ticket_ids))
    if not wanted:
        return {}
    found = load(conn, (tickets.c.organizer_id == organizer_id) & tickets.c.ticket_id.in_(wanted), lock=lock)
    return {stored.ticket.ticket_id: stored for stored in found}


def save(conn: Connection, organizer_id: int, entries: Sequence[tuple[Stored, Sequence[Change]]],
         now: datetime) -> None:
    """Persist tickets whose domain operations produced ``changes``; unchanged ones are skipped."""
    entries = [(stored, changes) for stored, changes in entries if changes]
    if not entries:
        return
    emails: set[str] = set()
    touched: dict[str, tuple[int, Transfer]] = {}
    for stored, changes in entries:
        ticket = stored.ticket
        emails.update((ticket.owner, ticket.original_owner, *ticket.previous_owners))
        for change in changes:
            emails.add(change.owner)
            if change.transfer is not None:
                emails.update((change.transfer.sender, change.transfer.recipient))
                touched[change.transfer.transfer_id] = (stored.pk, change.transfer)
    accounts = accounts_repo.ensure(conn, {email: None for email in emails}, now)
    ids = {email: row["id"] for email, row in accounts.items()}

    conn.execute(
        update(tickets).where(tickets.c.id == bindparam("b_pk")),
        [
            {
                "b_pk": stored.pk, "status": stored.ticket.status.value, "owner_id": ids[stored.ticket.owner],
                "previous_owner_ids": [ids[email] for email in stored.ticket.previous_owners],
                "holder": stored.ticket.holder, "downloaded": stored.ticket.downloaded,
                "transfers_done": stored.ticket.transfers_done, "show_deleted": stored.ticket.show_deleted,
                "updated_at": now,
            }
            for stored, _ in entries
        ],
    )
    _save_transfers(conn, organizer_id, touched, ids)
    status_log.append(conn, organizer_id,
                      [(stored.pk, change) for stored, changes in entries for change in changes],
                      organizer_profiles.views(conn, organizer_id, accounts))


def _save_transfers(conn: Connection, organizer_id: int, touched: dict[str, tuple[int, Transfer]],
                    ids: dict[str, int]) -> None:
    if not touched:
        return
    existing = set(conn.scalars(select(transfers.c.transfer_id).where(transfers.c.transfer_id.in_(list(touched)))))
    updates = [transfer for tid, (_, transfer) in touched.items() if tid in existing]
    inserts = [(pk, transfer) for tid, (pk, transfer) in touched.items() if tid not in existing]
    if inserts:
        conn.execute(transfers.insert(), [
            {
                "transfer_id": t.transfer_id, "organizer_id": organizer_id, "ticket_pk": pk,
                "sender_id": ids[t.sender], "recipient_email": t.recipient, "direction": t.direction.value,
                "initiated_by": t.initiated_by.value, "state": t.state.value,
                "failure_reason": t.failure_reason.value if t.failure_reason else None, "reason": t.reason,
                "created_at": t.created_at, "expires_at": t.expires_at, "resolved_at": t.resolved_at,
            }
            for pk, t in inserts
        ])
    if updates:
        # a stored transfer is only ever updated to leave PENDING, and only once: two writers that both
        # resolved it (an expiry materialized twice, had one not locked the ticket) would find 0 rows
        # here and roll back
        done = conn.execute(
            update(transfers).where(transfers.c.transfer_id == bindparam("b_tid"),
                                    transfers.c.state == TransferState.PENDING.value),
            [
                {"b_tid": t.transfer_id, "state": t.state.value,
                 "failure_reason": t.failure_reason.value if t.failure_reason else None,
                 "resolved_at": t.resolved_at}
                for t in updates
            ],
        )
        if done.rowcount != len(updates):
            raise RuntimeError(f"{len(updates) - done.rowcount} transfer(s) were no longer PENDING: "
                               "resolved twice (the ticket's row lock was not held)")
