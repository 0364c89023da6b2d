"""The diff feed: lifecycle records after an opaque pagination key, in record order.

Before answering, every overdue transfer of the organizer is failed with TIMEOUT at its
``expiresAt`` (W6), in ``expiresAt`` order, exactly as the organizer's next write would do it
(``tickets.begin_write``), so the feed is complete up to now even if no sweeper ever ran, and when or
how often it is read never changes the log. That is the one read that writes first: the route commits
the expiries (``materialize_expiries``, only when ``expiries_due``) in a unit of work of their own,
then reads the page in a read-only one (docs/decisions.md, Layers). Reading a page is one index range scan;
the stored record bodies are returned as they are.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from tixtrace.kernel.clock import Clock
from tixtrace.kernel.cursors import decode_int_cursor, encode_cursor
from tixtrace.kernel.errors import BadInput
from tixtrace.wallet.db import status_log
from tixtrace.wallet.db import tickets as tickets_repo
from tixtrace.wallet.domain.errors import WalletCode
from tixtrace.wallet.services.tickets import begin_write

MAX_BATCH_SIZE = 10_000


def expiries_due(conn: Connection, clock: Clock, organizer_id: int) -> bool:
    """Whether the organizer has an overdue pending transfer: a read-only look, so a read with nothing
    overdue takes no write lock (SQLite admits one writer)."""
    return bool(tickets_repo.overdue(conn, organizer_id, clock.now(), 1))


def materialize_expiries(conn: Connection, clock: Clock, organizer_id: int) -> None:
    """W6 before a read: every overdue expiry of the organizer, in ``expiresAt`` order (a write)."""
    begin_write(conn, clock, organizer_id)


@dataclass(frozen=True)
class FeedPage:
    records: list[str]  # JSON objects as stored (serialized once, at write time), ready to embed
    pagination_key: str
    has_more: bool


def position(pagination_key: str | None, batch_size: int) -> int:
    """The record id a page starts after; BadInput for a bad batch size or key (checked before anything)."""
    if not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise BadInput(f"batchSize must be from 1 to {MAX_BATCH_SIZE}, got {batch_size}",
                       code=WalletCode.INVALID_BATCH_SIZE,
                       details={"parameter": "batchSize", "value": batch_size})
    return decode_int_cursor(pagination_key, name="paginationKey")


def read_page(conn: Connection, organizer_id: int, after: int, batch_size: int) -> FeedPage:
    """Up to ``batch_size`` records after ``after``: one index range scan."""
    rows = status_log.page(conn, organizer_id, after, batch_size + 1)
    has_more = len(rows) > batch_size
    rows = rows[:batch_size]
    last = rows[-1][0] if rows else after
    return FeedPage([status_log.with_record_id(rid, body) for rid, body in rows], encode_cursor(last), has_more)
