"""Retrieve ticket status (the feedback): the wallet's status log, folded into the back office.

Per page of the diff feed, in one transaction: the records are parsed, filtered (already applied,
skip list, tickets with parked records), folded (services/distribution.py) and written, together with
the pagination key, the last applied ``recordId``, counters and log lines. The next page is fetched
while this one is applied. Parked records (``doContinueInCaseOfSyncError=true``) are retried first.

- Records at or below the schedule's last applied ``recordId`` are ignored, so a page read again
  after a crash or a refusal changes nothing (F6, invariant 6).
- A record that cannot be applied: parked with later records of its ticket behind it (WARNING), or,
  by default, the run stops just before it, keeping what came before (ERROR).
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from enum import Enum
from typing import Any

from sqlalchemy import Connection, delete, select, update

from tixtrace.backoffice.db.tables import parked_records, schedules
from tixtrace.backoffice.domain.records import Record, RecordError, parse_record
from tixtrace.backoffice.interfaces.run import TICKET_NUMBER_LENGTH, Run
from tixtrace.backoffice.services.distribution import (
    ContactClaimLost,
    dialect_insert,
    load_fold,
    lock_contact_writes,
    write_fold,
)
from tixtrace.backoffice.services.executions import ExecutionStatus, LogLevel
from tixtrace.kernel.db import unit_of_work

_CLAIM_RETRIES = 5


class Mode(Enum):
    FEED = "feed"
    PARKED = "parked"
    UPLOAD = "upload"


class _Stop(Exception):
    """The run stops before a record that cannot be applied (doContinueInCaseOfSyncError=false)."""


def run(ctx: Run) -> None:
    parameters = ctx.parameters
    for warning in parameters.prerequisite_warnings():
        ctx.log(LogLevel.WARNING, warning)
    try:
        if ctx.upload is not None:
            ctx.log(LogLevel.INFO, f"file to upload: {len(ctx.upload)} record(s); the pagination key does not move")
            others = _replace_parked(ctx, ctx.upload)
            if others:
                _apply(ctx, others, new_key=None, mode=Mode.UPLOAD)
            _retry_parked(ctx)
            return
        _retry_parked(ctx)
        _read_feed(ctx)
    except _Stop:
        ctx.status = ExecutionStatus.ERROR


def _read_feed(ctx: Run) -> None:
    batch_size = int(ctx.schedule["batch_size"])
    with unit_of_work(ctx.engine, write=False) as conn:
        key = conn.scalar(select(schedules.c.pagination_key).where(schedules.c.id == ctx.schedule["id"]))
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="feed-prefetch") as prefetch:
        pending = prefetch.submit(ctx.client.diff, key, batch_size)
        while True:
            page = pending.result()
            if page.has_more:
                pending = prefetch.submit(ctx.client.diff, page.pagination_key, batch_size)
            if page.records or page.pagination_key != key:  # nothing new: nothing to write
                _apply(ctx, page.records, new_key=page.pagination_key)
            if not page.has_more:
                return
            key = page.pagination_key


def _retry_parked(ctx: Run) -> None:
    with unit_of_work(ctx.engine, write=False) as conn:
        rows = conn.execute(select(parked_records.c.record).where(parked_records.c.schedule_id == ctx.schedule["id"])
                            .order_by(parked_records.c.record_id)).scalars().all()
    if rows:
        ctx.log(LogLevel.INFO, f"retrying {len(rows)} parked record(s)")
        _apply(ctx, list(rows), new_key=None, mode=Mode.PARKED)


def _replace_parked(ctx: Run, raw_records: Sequence[Any]) -> list[Any]:
    """Uploaded records whose recordId is parked replace the parked ones (then retried in order);
    returns the other records of the file."""
    by_id = {raw["recordId"]: raw for raw in raw_records
             if isinstance(raw, dict) and isinstance(raw.get("recordId"), int)}
    with unit_of_work(ctx.engine) as conn:
        parked_ids = set(conn.scalars(select(parked_records.c.record_id).where(
            parked_records.c.schedule_id == ctx.schedule["id"], parked_records.c.record_id.in_(list(by_id)))))
        for record_id in sorted(parked_ids):
            conn.execute(update(parked_records).where(parked_records.c.schedule_id == ctx.schedule["id"],
                                                      parked_records.c.record_id == record_id)
                         .values(record=by_id[record_id], error="replaced by a file to upload"))
    if parked_ids:
        ctx.log(LogLevel.INFO, f"{len(parked_ids)} parked record(s) replaced by the file")
    return [raw for raw in raw_records if not (isinstance(raw, dict) and raw.get("recordId") in parked_ids)]


def _apply(ctx: Run, raw_records: Sequence[Any], *, new_key: str | None, mode: Mode = Mode.FEED) -> None:
    """Apply a page; a page that fails is rolled back, and so is what it had reported (counters, log)."""
    counts, lines = dict(ctx.counts), list(ctx.lines)
    for attempt in range(_CLAIM_RETRIES):
        try:
            _apply_once(ctx, raw_records, new_key=new_key, mode=mode)
            return
        except _Stop:
            raise  # committed: what it reported is written
        except ContactClaimLost:
            ctx.counts, ctx.lines = dict(counts), list(lines)
            if attempt == _CLAIM_RETRIES - 1:
                raise
        except Exception:
            ctx.counts, ctx.lines = dict(counts), list(lines)
            raise


def _apply_once(ctx: Run, raw_records: Sequence[Any], *, new_key: str | None, mode: Mode) -> None:
    """Apply one page in one transaction. FEED: skip what was applied, park or stop on a bad record,
    then move the key. PARKED: retry parked records, removing those that apply. UPLOAD: apply records
    of a support file whatever their id (a fixed parked record replaces it) and move nothing."""
    from_parked = mode is Mode.PARKED
    schedule_id = ctx.schedule["id"]
    parameters = ctx.parameters
    skip = set(ctx.schedule["skip_ticket_numbers"] or ())
    now = ctx.clock.now()
    stop: str | None = None
    with unit_of_work(ctx.engine) as conn:
        lock_contact_writes(conn)
        last_applied = conn.scalar(select(schedules.c.last_record_id).where(schedules.c.id == schedule_id)) or 0
        parked = set(conn.scalars(select(parked_records.c.ticket_number)
                                  .where(parked_records.c.schedule_id == schedule_id)))
        if from_parked:
            parked = set()  # rebuilt as retries fail again
        ready: list[Record] = []
        newest = last_applied
        for raw in raw_records:
            record_id = raw.get("recordId") if isinstance(raw, dict) else None
            if mode is Mode.FEED and isinstance(record_id, int) and record_id <= last_applied:
                continue  # already applied: a page read again
            try:
                record = parse_record(raw)
            except RecordError as exc:
                if mode is Mode.UPLOAD:
                    ctx.count("failed")
                    ctx.log(LogLevel.ERROR, f"record {record_id} of the file not applied: {exc}", _ticket_of(raw))
                    continue
                if not parameters.do_continue_in_case_of_sync_error:
                    stop = f"record {record_id}: {exc}; the run stops before it (doContinueInCaseOfSyncError=false)"
                    break
                ticket = _ticket_of(raw)
                parked.add(ticket)
                if from_parked:
                    ctx.count("parked")
                    ctx.log(LogLevel.WARNING, f"parked record {record_id} still cannot be applied: {exc}", ticket)
                elif _park(conn, ctx, raw, record_id, ticket, str(exc)):
                    ctx.log(LogLevel.WARNING, f"record {record_id} parked: {exc}", ticket)
                newest = max(newest, record_id) if isinstance(record_id, int) else newest
                continue
            newest = max(newest, record.record_id)
            if record.ticket_number in parked:
                if not from_parked:
                    _park(conn, ctx, raw, record.record_id, record.ticket_number,
                          "parked behind an earlier record of the same ticket")
                continue
            if mode is not Mode.FEED:  # applied or skipped now: no longer parked
                conn.execute(delete(parked_records).where(parked_records.c.schedule_id == schedule_id,
                                                          parked_records.c.record_id == record.record_id))
            if record.ticket_number in skip:
                ctx.count("skipped")
                ctx.log(LogLevel.INFO, f"record {record.record_id} skipped: ticket in the skip list",
                        record.ticket_number)
                continue
            ready.append(record)
        fold = load_fold(conn, ready, feature_active=parameters.feature_active, now=now)
        for record in ready:
            if not fold.apply(record):
                ctx.log(LogLevel.INFO, f"record {record.record_id} skipped: ticket unknown to the back office",
                        record.ticket_number)
        write_fold(conn, fold, now)
        counters = fold.counters
        ctx.count("records_read", counters.records_read)
        ctx.count("skipped", counters.skipped)
        ctx.count("tickets_updated", len(fold.changed_tickets()))
        ctx.count("contacts_created", counters.contacts_created)
        ctx.count("contacts_completed", counters.contacts_completed)
        ctx.count("contacts_removed", counters.contacts_removed)
        ctx.count("lines_created", counters.lines_created)
        ctx.count("lines_updated", counters.lines_updated)
        if mode is Mode.FEED:
            values: dict[str, Any] = {"last_record_id": newest}
            if stop is None and new_key is not None:
                values["pagination_key"] = new_key
            conn.execute(update(schedules).where(schedules.c.id == schedule_id).values(**values))
        if stop is not None:
            ctx.count("failed")
            ctx.log(LogLevel.ERROR, stop)
        ctx.flush(conn)
    if stop is not None:
        raise _Stop(stop)


def _ticket_of(raw: Any) -> str:
    ticket = raw.get("ticketId") if isinstance(raw, dict) else None
    return ticket.strip() if isinstance(ticket, str) and ticket.strip() else "?"


def _park(conn: Connection, ctx: Run, raw: Any, record_id: Any, ticket: str, error: str) -> bool:
    """Keep a record to retry first next time; False when it cannot be kept (no recordId to order it by)."""
    if not isinstance(record_id, int):
        ctx.count("failed")
        ctx.log(LogLevel.ERROR, f"a record without a usable recordId was dropped: {error}", ticket)
        return False
    conn.execute(dialect_insert(conn, parked_records).values(
        schedule_id=ctx.schedule["id"], record_id=record_id, ticket_number=ticket[:TICKET_NUMBER_LENGTH],
        record=raw, error=error, parked_at=ctx.clock.now(),
    ).on_conflict_do_nothing(index_elements=["schedule_id", "record_id"]))
    ctx.count("parked")
    return True
