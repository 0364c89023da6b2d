"""The status log: one lifecycle record per status change, appended in the transaction of the change.

Each record's body is serialized once, here, at write time; the diff feed then returns the stored
bodies untouched. The people in a record are the organizer's views of them at write time (W10,
``organizer_profiles.views``): a record never carries more than its organizer was given.

Writers append without waiting for each other; readers of the feed stop at a visibility watermark
(``visible_up_to``) so that a page never passes a record id that commits later (docs/decisions.md,
"Feed order without an organizer lock"). On PostgreSQL record ids are drawn from the table's sequence
when rows are appended, and transactions may commit in another order than they drew. So before it
draws, every appending transaction announces a floor below all the ids it may draw: a shared
transaction-level advisory lock whose key is ``_FLOOR_TAG`` + the sequence's last value, read before
the lock is taken. The lock stays in ``pg_locks`` until the transaction has ended (PostgreSQL releases
locks after a commit is visible). A reader (1) reads the sequence's last value L, (2) then the lowest
announced floor F, (3) then, in a later statement (its own snapshot), returns only ids <= min(L, F):

- an id M <= L was drawn before (1), by a transaction that announced a floor < M before drawing;
- if that transaction was still running at (2), its floor is in F, so F < M: M is not returned;
- otherwise it had ended before (2), so its rows are in the snapshot of (3) if it committed.

Hence every id at or below the watermark is final: committed and visible to (3), or never to be. A
reader that returned id N never later sees a committed id M < N, whatever the order in which
transactions got their transaction ids, waited for row locks or committed. Requires READ COMMITTED
(a snapshot per statement, the default) and a sequence without CACHE (each ``nextval`` moves the last
value). SQLite needs none of this: BEGIN IMMEDIATE admits one writer at a time, so ids commit in order.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, func, select, text

from tixtrace.kernel.bulk import bulk_copy, reserve_ids
from tixtrace.kernel.clock import isoformat
from tixtrace.wallet.db.organizer_profiles import email_only
from tixtrace.wallet.db.tables import status_log
from tixtrace.wallet.domain.tickets import Change, Transfer


def _person(views: Mapping[str, dict[str, Any]], email: str) -> dict[str, Any]:
    return views.get(email) or email_only(email)


def transfer_body(transfer: Transfer, views: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        "transferId": transfer.transfer_id,
        "direction": transfer.direction.value,
        "initiatedBy": transfer.initiated_by.value,
        "sender": _person(views, transfer.sender),
        "recipient": _person(views, transfer.recipient),
        "expiresAt": isoformat(transfer.expires_at),
        "failureReason": transfer.failure_reason.value if transfer.failure_reason else None,
        "reason": transfer.reason,  # the organizer's reason of a W7 transfer (F10), else null
    }


@functools.lru_cache(maxsize=64)
def _time(value: datetime) -> str | None:
    """``isoformat``, once per time: the records of one write share their ``occurredAt``."""
    return isoformat(value)


def record_body(change: Change, views: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        "ticketId": change.ticket_id,
        "status": change.status.value,
        "occurredAt": _time(change.occurred_at),
        "transferLevel": change.transfer_level,
        "walletOwner": _person(views, change.owner),
        "ticketHolder": change.holder,
        "transfer": transfer_body(change.transfer, views) if change.transfer else None,
    }


#: high bits of the advisory-lock keys that announce a floor (the low 48 bits: a record id); the wallet's
#: other advisory lock (migrations, ``hashtext``) has other high bits. Record ids stay below 2**48.
_FLOOR_TAG = 0x7715 << 48
_FLOOR_LIMIT = 1 << 48
_SEQUENCE = "pg_get_serial_sequence('status_log', 'record_id')"


def _announce_floor(conn: Connection) -> None:
    """PostgreSQL: before this transaction draws record ids, hold a shared advisory lock, until it ends,
    whose key says that all its ids will be above the sequence's current last value (``visible_up_to``).
    Shared locks never wait for each other: writers do not serialize."""
    if conn.dialect.name == "sqlite":
        return
    floor = conn.execute(text(f"SELECT coalesce(pg_sequence_last_value({_SEQUENCE}), 0)")).scalar_one()
    if floor >= _FLOOR_LIMIT:
        raise RuntimeError(f"record id {floor} is beyond the watermark's key space (2**48)")
    conn.execute(text("SELECT pg_advisory_xact_lock_shared(:key)"), {"key": _FLOOR_TAG + floor})


def visible_up_to(conn: Connection) -> int | None:
    """The watermark: every record id at or below it is final (committed and visible to the caller's
    next statement, or never to be committed); None on SQLite (one writer: every id is final). Three
    statements in this order, see the module's docstring; the caller reads the page after them."""
    if conn.dialect.name == "sqlite":
        return None
    last = conn.execute(text(f"SELECT coalesce(pg_sequence_last_value({_SEQUENCE}), 0)")).scalar_one()
    floor = conn.execute(text(
        "SELECT min(((classid::bigint << 32) | objid::bigint) - :tag) FROM pg_locks "
        "WHERE locktype = 'advisory' AND objsubid = 1 AND classid BETWEEN :low AND :high "
        "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"),
        {"tag": _FLOOR_TAG, "low": _FLOOR_TAG >> 32, "high": (_FLOOR_TAG + _FLOOR_LIMIT - 1) >> 32}).scalar_one()
    return int(last) if floor is None else min(int(last), int(floor))


def append(conn: Connection, organizer_id: int, entries: Sequence[tuple[int, Change]],
           views: Mapping[str, dict[str, Any]]) -> None:
    """Append one record per (ticket pk, change), in order; ``views``: e-mail → the organizer's view of
    that person (W10); a person not in it appears as an e-mail only. The ids are drawn after the
    transaction announced its floor (``_announce_floor``), so feed readers wait for them."""
    if not entries:
        return
    _announce_floor(conn)
    record_ids = reserve_ids(conn, status_log, len(entries), "record_id")  # ascending: the order of entries
    bulk_copy(conn, status_log, [
        {
            "record_id": record_id,
            "organizer_id": organizer_id,
            "ticket_pk": ticket_pk,
            "status": change.status.value,
            "occurred_at": change.occurred_at,
            "body": orjson.dumps(record_body(change, views)).decode(),
        }
        for record_id, (ticket_pk, change) in zip(record_ids, entries, strict=True)
    ])


def page(conn: Connection, organizer_id: int, after: int, limit: int,
         up_to: int | None = None) -> list[tuple[int, str]]:
    """Up to ``limit`` (record_id, body) of the organizer after ``after`` and at most ``up_to`` (the
    watermark, ``visible_up_to``; None: no bound), in record order."""
    query = (
        select(status_log.c.record_id, status_log.c.body)
        .where(status_log.c.organizer_id == organizer_id, status_log.c.record_id > after)
        .order_by(status_log.c.record_id)
        .limit(limit)
    )
    if up_to is not None:
        query = query.where(status_log.c.record_id <= up_to)
    return [(row[0], row[1]) for row in conn.execute(query)]


def of_ticket(conn: Connection, ticket_pk: int) -> list[tuple[int, str]]:
    query = (select(status_log.c.record_id, status_log.c.body)
             .where(status_log.c.ticket_pk == ticket_pk).order_by(status_log.c.record_id))
    return [(row[0], row[1]) for row in conn.execute(query)]


def with_record_id(record_id: int, body: str) -> str:
    """The record as the feed returns it: ``recordId`` first, then the stored body."""
    return f'{{"recordId":{record_id},{body[1:]}'


def decode(record_id: int, body: str) -> dict[str, Any]:
    return dict(orjson.loads(with_record_id(record_id, body)))


def newest_record_id(conn: Connection, organizer_id: int) -> int:
    """The organizer's newest record id (0 before its first record): one index lookup."""
    query = select(func.max(status_log.c.record_id)).where(status_log.c.organizer_id == organizer_id)
    return conn.scalar(query) or 0
