"""Spectator transfers (W4-W6): start, accept, reject, cancel, and the lists in and out.

Each action goes through ``change_ticket`` (tickets.py), which materializes an overdue expiry first:
acting on a transfer whose hour has passed answers TRANSFER_NOT_PENDING, and the log shows the
TIMEOUT at ``expiresAt``. Services take the caller's connection and return typed views.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, or_, select

from tixtrace.kernel.clock import Clock, as_utc
from tixtrace.kernel.cursors import decode_int_cursor, encode_cursor
from tixtrace.kernel.errors import NotFound
from tixtrace.wallet.db import accounts as accounts_repo
from tixtrace.wallet.db.tables import accounts, organizers, tickets, transfers
from tixtrace.wallet.domain.errors import WalletCode
from tixtrace.wallet.domain.tickets import Transfer, TransferState
from tixtrace.wallet.services.organizers import check_email
from tixtrace.wallet.services.spectators import Account, locate_my_ticket
from tixtrace.wallet.services.tickets import change_ticket


@dataclass(frozen=True)
class TransferView:
    """A transfer as its sender or recipient sees it; ``status`` EXPIRED for an overdue pending one."""

    transfer_id: str
    ticket_id: str
    direction: str
    initiated_by: str
    status: str
    sender_email: str
    recipient_email: str
    created_at: datetime
    expires_at: datetime | None
    resolved_at: datetime | None
    failure_reason: str | None
    role: str  # INCOMING | OUTGOING
    event: dict[str, Any]  # the ticket's event as injected: the recipient sees what they are offered


@dataclass(frozen=True)
class TransferPage:
    items: list[TransferView]
    next_cursor: str | None


def start_transfer(conn: Connection, clock: Clock, account: Account, ticket_id: str,
                   recipient_email: str) -> Transfer:
    recipient = check_email(recipient_email, "recipientEmail")
    pk, organizer_id = locate_my_ticket(conn, account, ticket_id)
    settings = conn.execute(select(organizers.c.transfer_timeout_seconds, organizers.c.acceptance_required)
                            .where(organizers.c.id == organizer_id)).one()
    return change_ticket(conn, clock, pk, organizer_id, lambda ticket, now: ticket.start_transfer(
        account.email, recipient, now, timeout_seconds=settings.transfer_timeout_seconds,
        acceptance_required=settings.acceptance_required))


def _locate_transfer(conn: Connection, account: Account, transfer_id: str) -> tuple[int, int]:
    """(ticket pk, organizer id) of a transfer the spectator sends or receives; 404 otherwise."""
    row = None
    if "\x00" not in transfer_id:  # transfer ids are UUIDs; PostgreSQL refuses NUL in a query
        row = conn.execute(select(transfers.c.ticket_pk, transfers.c.organizer_id).where(
            transfers.c.transfer_id == transfer_id,
            or_(transfers.c.sender_id == account.id, transfers.c.recipient_email == account.email),
        )).first()
    if row is None:
        raise NotFound(f"no transfer {transfer_id!r} of yours", code=WalletCode.TRANSFER_NOT_FOUND,
                       details={"transferId": transfer_id})
    return row.ticket_pk, row.organizer_id


def accept(conn: Connection, clock: Clock, account: Account, transfer_id: str) -> TransferView:
    pk, organizer_id = _locate_transfer(conn, account, transfer_id)
    me = accounts_repo.by_ids(conn, [account.id])[account.id]
    complete = bool((me["first_name"] or "").strip() and (me["last_name"] or "").strip())
    change_ticket(conn, clock, pk, organizer_id, lambda ticket, now: (None, ticket.accept(
        account.email, transfer_id, now, profile_complete=complete)))
    return get_transfer(conn, account, transfer_id)


def reject(conn: Connection, clock: Clock, account: Account, transfer_id: str) -> TransferView:
    pk, organizer_id = _locate_transfer(conn, account, transfer_id)
    change_ticket(conn, clock, pk, organizer_id,
                  lambda ticket, now: (None, ticket.reject(account.email, transfer_id, now)))
    return get_transfer(conn, account, transfer_id)


def cancel(conn: Connection, clock: Clock, account: Account, transfer_id: str) -> TransferView:
    pk, organizer_id = _locate_transfer(conn, account, transfer_id)
    change_ticket(conn, clock, pk, organizer_id,
                  lambda ticket, now: (None, ticket.cancel(account.email, transfer_id, now)))
    return get_transfer(conn, account, transfer_id)


def _view(row: Any, account: Account, now: datetime | None = None) -> TransferView:
    state = row.state
    if state == TransferState.PENDING.value and now is not None and row.expires_at and as_utc(row.expires_at) <= now:
        state = TransferState.EXPIRED.value  # shown as it is; written on the organizer's next write or feed read
    return TransferView(
        transfer_id=row.transfer_id, ticket_id=row.ticket_id, direction=row.direction,
        initiated_by=row.initiated_by, status=state, sender_email=row.sender_email,
        recipient_email=row.recipient_email, created_at=as_utc(row.created_at),
        expires_at=as_utc(row.expires_at) if row.expires_at else None,
        resolved_at=as_utc(row.resolved_at) if row.resolved_at else None,
        failure_reason=row.failure_reason or ("TIMEOUT" if state == TransferState.EXPIRED.value else None),
        role="OUTGOING" if row.sender_email == account.email else "INCOMING",
        event=dict(row.event or {}),
    )


def _joined():  # type: ignore[no-untyped-def]
    return (select(transfers, tickets.c.ticket_id, tickets.c.event, accounts.c.email.label("sender_email"))
            .join(tickets, tickets.c.id == transfers.c.ticket_pk)
            .join(accounts, accounts.c.id == transfers.c.sender_id))


def get_transfer(conn: Connection, account: Account, transfer_id: str) -> TransferView:
    row = conn.execute(_joined().where(transfers.c.transfer_id == transfer_id)).one()
    return _view(row, account)


def list_transfers(conn: Connection, clock: Clock, account: Account, cursor: str | None,
                   limit: int) -> TransferPage:
    """Incoming and outgoing transfers, oldest first; an overdue pending one shows as EXPIRED."""
    after = decode_int_cursor(cursor)
    now = clock.now()
    rows = conn.execute(_joined().where(
        and_(transfers.c.id > after,
             or_(transfers.c.sender_id == account.id, transfers.c.recipient_email == account.email)))
        .order_by(transfers.c.id).limit(limit + 1)).all()
    items = [_view(row, account, now) for row in rows[:limit]]
    return TransferPage(items, encode_cursor(rows[limit - 1].id) if len(rows) > limit else None)
