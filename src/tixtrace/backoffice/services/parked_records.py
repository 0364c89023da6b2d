"""Parked records: feedback records that could not be applied, kept per schedule to be retried first.

A record is parked (``doContinueInCaseOfSyncError=true``) when it cannot be applied, and so is every
later record of its ticket while one waits, so a ticket's records still apply in the wallet's order.
Only the feedback writes them, in the transaction of the page that parks, retries or replaces them.

Invariants: at most one row per (schedule, recordId) (parking again changes nothing); rows the feed
has passed are retried in recordId order; a row ahead of the feed (the record a run stopped on, or a
support file's) is used by the feed when it reaches that recordId; a row leaves when its record is
applied or skipped.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select, update

from tixtrace.backoffice.db.tables import parked_records
from tixtrace.backoffice.services.distribution import dialect_insert


def parked_tickets(conn: Connection, schedule_id: int, up_to: int | None = None) -> set[str]:
    """The ticket numbers with a parked record (``up_to``: only records at or below that recordId, the
    ones the feed has passed): their later records must wait behind it."""
    query = select(parked_records.c.ticket_number).where(parked_records.c.schedule_id == schedule_id)
    if up_to is not None:
        query = query.where(parked_records.c.record_id <= up_to)
    return set(conn.scalars(query))


def parked_raw_records(conn: Connection, schedule_id: int, up_to: int) -> list[Any]:
    """The parked records the feed has passed (recordId at or below ``up_to``) as kept, in recordId
    order (the order to retry them in); the ones ahead of the feed wait for the feed to reach them."""
    return list(conn.scalars(select(parked_records.c.record).where(parked_records.c.schedule_id == schedule_id,
                                                                   parked_records.c.record_id <= up_to)
                             .order_by(parked_records.c.record_id)))


def kept_ahead(conn: Connection, schedule_id: int, after: int) -> dict[int, Any]:
    """The parked records ahead of the feed (recordId above ``after``, e.g. the record a run stopped
    on), by recordId: the feed uses them when the wallet's version cannot be applied."""
    rows = conn.execute(select(parked_records.c.record_id, parked_records.c.record).where(
        parked_records.c.schedule_id == schedule_id, parked_records.c.record_id > after))
    return {row.record_id: row.record for row in rows}


def park(conn: Connection, schedule_id: int, record_id: int, ticket_number: str, raw: Any, error: str,
         now: datetime) -> None:
    """Keep a record to retry; a record already parked stays as it is."""
    conn.execute(dialect_insert(conn, parked_records).values(
        schedule_id=schedule_id, record_id=record_id, ticket_number=ticket_number, record=raw, error=error,
        parked_at=now,
    ).on_conflict_do_nothing(index_elements=["schedule_id", "record_id"]))


def unpark(conn: Connection, schedule_id: int, record_id: int) -> None:
    """A record applied or skipped now: it no longer waits (nothing happens if it was not parked)."""
    conn.execute(delete(parked_records).where(parked_records.c.schedule_id == schedule_id,
                                              parked_records.c.record_id == record_id))


def replace_parked(conn: Connection, schedule_id: int, by_id: Mapping[int, Any], error: str) -> set[int]:
    """Replace the parked records whose recordId is in ``by_id`` by the given ones (a support file's
    fixed records), with ``error`` as the reason; returns the recordIds replaced."""
    ids = set(conn.scalars(select(parked_records.c.record_id).where(
        parked_records.c.schedule_id == schedule_id, parked_records.c.record_id.in_(list(by_id)))))
    for record_id in sorted(ids):
        conn.execute(update(parked_records).where(parked_records.c.schedule_id == schedule_id,
                                                  parked_records.c.record_id == record_id)
                     .values(record=by_id[record_id], error=error))
    return ids
