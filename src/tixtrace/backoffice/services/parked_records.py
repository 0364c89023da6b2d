"""Parked records: feedback records that could not be applied, kept per schedule to be retried first.

A record is parked (``doContinueInCaseOfSyncError=true``) when it cannot be applied, and so is every
later record of its ticket while one waits, so a ticket's records still apply in the wallet's order.
Only the feedback writes them, in the transaction of the page that parks, retries or replaces them.

Invariants: at most one row per (schedule, recordId) (parking again changes nothing); rows are
retried in recordId order; a row leaves when its record is applied or skipped.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select, update

from tixtrace.backoffice.db.tables import parked_records
from tixtrace.backoffice.services.distribution import dialect_insert


def parked_tickets(conn: Connection, schedule_id: int) -> set[str]:
    """The ticket numbers with a parked record: their later records must wait behind it."""
    return set(conn.scalars(select(parked_records.c.ticket_number).where(parked_records.c.schedule_id == schedule_id)))


def parked_raw_records(conn: Connection, schedule_id: int) -> list[Any]:
    """The parked records as the wallet sent them, in recordId order (the order to retry them in)."""
    return list(conn.scalars(select(parked_records.c.record).where(parked_records.c.schedule_id == schedule_id)
                             .order_by(parked_records.c.record_id)))


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
