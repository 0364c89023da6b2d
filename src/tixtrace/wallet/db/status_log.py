"""The status log: one lifecycle record per status change, appended in the transaction of the change.

Each record's body is serialized once, here, at write time; the diff feed then returns the stored
bodies untouched. The people in a record are the organizer's views of them at write time (W10,
``organizer_profiles.views``): a record never carries more than its organizer was given. Appends
must be preceded by ``lock_organizer_log`` (see database.py) so that the record ids of one organizer
become visible in id order.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, func, select

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


def append(conn: Connection, organizer_id: int, entries: Sequence[tuple[int, Change]],
           views: Mapping[str, dict[str, Any]]) -> None:
    """Append one record per (ticket pk, change), in order; ``views``: e-mail → the organizer's view of
    that person (W10); a person not in it appears as an e-mail only."""
    if not entries:
        return
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


def page(conn: Connection, organizer_id: int, after: int, limit: int) -> list[tuple[int, str]]:
    """Up to ``limit`` (record_id, body) of the organizer after ``after``, in record order."""
    query = (
        select(status_log.c.record_id, status_log.c.body)
        .where(status_log.c.organizer_id == organizer_id, status_log.c.record_id > after)
        .order_by(status_log.c.record_id)
        .limit(limit)
    )
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
