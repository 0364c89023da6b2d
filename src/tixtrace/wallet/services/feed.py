"""The diff feed: lifecycle records after an opaque pagination key, in record order.

Before answering, overdue transfers are failed with TIMEOUT at their ``expiresAt`` (W6), so the
feed is complete up to now even if no sweeper ever ran. Reading a page is one index range scan;
the stored record bodies are returned as they are.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, select

from tixtrace.kernel.clock import Clock
from tixtrace.kernel.cursors import decode_int_cursor, encode_cursor
from tixtrace.kernel.db import unit_of_work
from tixtrace.kernel.errors import BadInput
from tixtrace.wallet.db import status_log
from tixtrace.wallet.db import tickets as tickets_repo
from tixtrace.wallet.db.database import lock_organizer_log
from tixtrace.wallet.db.tables import tickets, transfers
from tixtrace.wallet.domain.tickets import TransferState

MAX_BATCH_SIZE = 10_000
_EXPIRY_BATCH = 2_000


def expire_overdue(engine: Engine, clock: Clock, organizer_id: int) -> int:
    """Fail every overdue pending transfer of the organizer; returns how many."""
    expired = 0
    while True:
        now = clock.now()
        overdue = (
            select(transfers.c.ticket_pk)
            .where(transfers.c.organizer_id == organizer_id, transfers.c.state == TransferState.PENDING.value,
                   transfers.c.expires_at <= now)
            .order_by(transfers.c.expires_at)
            .limit(_EXPIRY_BATCH)
        )
        with unit_of_work(engine, write=False) as conn:
            if conn.execute(overdue.limit(1)).first() is None:
                return expired
        with unit_of_work(engine) as conn:
            lock_organizer_log(conn, organizer_id)
            pks = list(conn.scalars(overdue))
            batch = tickets_repo.load(conn, tickets.c.id.in_(pks))
            entries = [(stored, stored.ticket.expire_if_due(now)) for stored in batch]
            tickets_repo.save(conn, organizer_id, entries, now)
            expired += sum(1 for _, changes in entries if changes)


@dataclass(frozen=True)
class FeedPage:
    records: list[str]  # JSON objects, ready to embed
    pagination_key: str
    has_more: bool


def read_feed(engine: Engine, clock: Clock, organizer_id: int, pagination_key: str | None,
              batch_size: int) -> FeedPage:
    if not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise BadInput(f"batchSize must be from 1 to {MAX_BATCH_SIZE}, got {batch_size}", code="INVALID_BATCH_SIZE",
                       details={"parameter": "batchSize", "value": batch_size})
    after = decode_int_cursor(pagination_key, name="paginationKey")
    expire_overdue(engine, clock, organizer_id)
    with unit_of_work(engine, write=False) as conn:
        rows = status_log.page(conn, organizer_id, after, batch_size + 1)
    has_more = len(rows) > batch_size
    rows = rows[:batch_size]
    last = rows[-1][0] if rows else after
    return FeedPage([status_log.with_record_id(rid, body) for rid, body in rows], encode_cursor(last), has_more)
