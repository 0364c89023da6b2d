"""The diff feed: lifecycle records after an opaque pagination key, in record order.

Before answering, every overdue transfer of the organizer is failed with TIMEOUT at its
``expiresAt`` (W6), in ``expiresAt`` order, exactly as the organizer's next write would do it
(``tickets.begin_write``), so the feed is complete up to now even if no sweeper ever ran, and when or
how often it is read never changes the log. That is the one read that writes first: the route commits
the expiries (``materialize_expiries``, only when ``expiries_due``) in a unit of work of their own,
then reads the page in a read-only one (docs/decisions.md, Layers). Reading a page is one index range scan,
bounded by the visibility watermark (``status_log.visible_up_to``: on PostgreSQL a page stops before the
lowest record id a still-running writer may commit, so a record that commits late is never passed);
the stored record bodies are returned as they are.

Pagination keys (W11) name the wallet instance, the organizer and the last record id of the page:
``base64url("v2:<instance>:<organizer>:<recordId>")``. A key is honoured only by the wallet that issued
it, for the organizer it was issued to, and only up to that organizer's newest record: anything else
(another wallet's key, another organizer's, one beyond the newest record, a malformed one) is 422
``INVALID_CURSOR``, so a back office pointed at another wallet is told, instead of reading nothing
after a position that does not exist there. A ``v1:<recordId>`` key of before W11 (what back offices
stored then) is still honoured when it is not beyond the organizer's newest record, so upgrading the
wallet does not stop every feedback; the page it answers carries a v2 key (docs/decisions.md).
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from sqlalchemy import Connection

from tixtrace.kernel.clock import Clock
from tixtrace.kernel.cursors import MAX_INT_KEY, decode_int_cursor
from tixtrace.kernel.errors import BadInput, KernelCode
from tixtrace.wallet.db import instance, status_log
from tixtrace.wallet.db import tickets as tickets_repo
from tixtrace.wallet.domain.errors import WalletCode
from tixtrace.wallet.services.tickets import begin_write

MAX_BATCH_SIZE = 10_000
_V2 = re.compile(r"v2:([0-9a-f]{32}):([0-9]{1,19}):([0-9]{1,19})")
_PARAMETER = "paginationKey"


def expiries_due(conn: Connection, clock: Clock, organizer_id: int) -> bool:
    """Whether the organizer has an overdue pending transfer: a read-only look, so a read with nothing
    overdue takes no write lock (SQLite admits one writer)."""
    return bool(tickets_repo.overdue(conn, organizer_id, clock.now(), 1))


def materialize_expiries(conn: Connection, clock: Clock, organizer_id: int) -> None:
    """W6 before a read: every overdue expiry of the organizer, in ``expiresAt`` order (a write)."""
    begin_write(conn, clock, organizer_id)


def instance_id(conn: Connection) -> str | None:
    """This wallet's instance id, None until the first feed read creates it (a read)."""
    return instance.read_instance_id(conn)


def ensure_instance(conn: Connection) -> str:
    """This wallet's instance id, created once, by the first feed read of the database (a write)."""
    return instance.ensure_instance_id(conn)


@dataclass(frozen=True)
class FeedKey:
    """What a pagination key says: the page starts after ``record_id``. ``instance`` and
    ``organizer_id`` are None for a v1 key of before W11, which named neither."""

    text: str  # the key as received, for the refusal's message
    instance: str | None
    organizer_id: int | None
    record_id: int


@dataclass(frozen=True)
class FeedPage:
    records: list[str]  # JSON objects as stored (serialized once, at write time), ready to embed
    pagination_key: str
    has_more: bool


def encode_key(instance_id: str, organizer_id: int, record_id: int) -> str:
    raw = f"v2:{instance_id}:{organizer_id}:{record_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _refused(pagination_key: str, why: str, **details: object) -> BadInput:
    return BadInput(f"{_PARAMETER} {pagination_key!r} {why}", code=KernelCode.INVALID_CURSOR,
                    details={"parameter": _PARAMETER, "value": pagination_key, **details})


def parse_key(pagination_key: str | None, batch_size: int) -> FeedKey | None:
    """The key's content, None for "from the start"; BadInput for a bad batch size or a malformed key
    (checked before anything is read)."""
    if not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise BadInput(f"batchSize must be from 1 to {MAX_BATCH_SIZE}, got {batch_size}",
                       code=WalletCode.INVALID_BATCH_SIZE,
                       details={"parameter": "batchSize", "value": batch_size})
    if not pagination_key:
        return None
    try:
        raw = base64.urlsafe_b64decode((pagination_key + "=" * (-len(pagination_key) % 4)).encode()).decode()
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raw = ""
    if raw.startswith("v1:"):  # before W11: a bare record id (its own checks, in the kernel)
        return FeedKey(pagination_key, None, None, decode_int_cursor(pagination_key, name=_PARAMETER))
    match = _V2.fullmatch(raw)
    if match is None or max(int(match[2]), int(match[3])) > MAX_INT_KEY:
        raise _refused(pagination_key, "is not a value this wallet issued; pass back the one from the last page")
    return FeedKey(pagination_key, match[1], int(match[2]), int(match[3]))


def position(conn: Connection, instance_id: str, organizer_id: int, key: FeedKey | None) -> int:
    """The record id a page of ``organizer_id`` starts after (W11): 422 INVALID_CURSOR for a key of
    another wallet, of another organizer, or beyond the organizer's newest record."""
    if key is None:
        return 0
    text = key.text
    if key.instance is not None and key.instance != instance_id:
        raise _refused(text, "was issued by another wallet: this wallet cannot know where that feed stopped; "
                             "read this wallet's feed from the start", reason="OTHER_WALLET")
    if key.organizer_id is not None and key.organizer_id != organizer_id:
        raise _refused(text, "was issued to another organizer", reason="OTHER_ORGANIZER")
    newest = status_log.newest_record_id(conn, organizer_id)
    if key.record_id > newest:
        raise _refused(text, f"is beyond your newest record ({newest}): it was not issued by this wallet's feed",
                       reason="BEYOND_NEWEST", newestRecordId=newest)
    return key.record_id


def read_page(conn: Connection, instance_id: str, organizer_id: int, key: FeedKey | None,
              batch_size: int) -> FeedPage:
    """Up to ``batch_size`` records after the key's position (checked first, W11), none beyond the
    watermark: one index range scan. ``hasMore`` says whether records below the watermark remain; records
    of writers still running come in a later call."""
    after = position(conn, instance_id, organizer_id, key)
    up_to = status_log.visible_up_to(conn)  # before the page's statement: see status_log
    rows = status_log.page(conn, organizer_id, after, batch_size + 1, up_to)
    has_more = len(rows) > batch_size
    rows = rows[:batch_size]
    last = rows[-1][0] if rows else after
    return FeedPage([status_log.with_record_id(rid, body) for rid, body in rows],
                    encode_key(instance_id, organizer_id, last), has_more)
