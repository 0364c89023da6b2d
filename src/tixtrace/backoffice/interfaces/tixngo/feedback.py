"""Retrieve ticket status (the feedback): the wallet's status log, folded into the back office.

Per page of the diff feed, in one transaction: the records are triaged (``domain/triage.py``: already
applied, parse, park or stop, skip list, tickets with parked records), folded
(``services/distribution.py``) and written, together with the feed state (``services/feed_state.py``:
pagination key and last applied ``recordId``), the parked records (``services/parked_records.py``),
counters and log lines. The next page is fetched and decoded (``records.py``: msgspec structs, the
one decode path of pages, parked records and support files) while this one is applied. Parked records
(``doContinueInCaseOfSyncError=true``) are retried first; the record a run stopped on is kept with
them, ahead of the feed, and used when the feed reaches it again if the wallet's version still cannot
be applied. A file to upload (support) is processed exactly as a page of the feed (section 6: same
park or stop, same per-ticket order) that moves no cursor: its records whose recordId is parked
replace the parked ones (retried first, or, ahead of the feed, used when it gets there), which
releases a ticket parked behind them or a feed stopped on one.

- Records at or below the schedule's last applied ``recordId`` are ignored, so a page read again
  after a crash or a refusal changes nothing (F6, invariant 6).
- A record that cannot be applied: parked with later records of its ticket behind it (WARNING), or,
  by default, the run stops just before it, keeping what came before (ERROR).
- O3: the log says what the run read (one line: pages, records, recordIds, pagination keys) and one
  line per contact created, completed or removed and per line confirmed or cancelled, naming the
  ticket, the transfer and the contact by their ids (never an e-mail or a name), from the fold's
  events of each page, written with the page.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Connection

from tixtrace.backoffice.domain.distribution import DistributionFold, FoldEvent, Happening
from tixtrace.backoffice.domain.executions import ExecutionStatus, LogLevel
from tixtrace.backoffice.domain.records import Profiles, is_object
from tixtrace.backoffice.domain.triage import Action, Decision, Mode, triage
from tixtrace.backoffice.interfaces.tixngo.client import WalletRefused
from tixtrace.backoffice.interfaces.tixngo.records import from_json_value, from_json_values, stored
from tixtrace.backoffice.interfaces.tixngo.run import TICKET_NUMBER_LENGTH, Run
from tixtrace.backoffice.services.distribution import (
    ContactClaimLost,
    load_fold,
    lock_contact_writes,
    write_fold,
)
from tixtrace.backoffice.services.feed_state import FeedState, load_feed_state, save_feed_state
from tixtrace.backoffice.services.parked_records import (
    kept_ahead,
    park,
    parked_raw_records,
    parked_tickets,
    replace_parked,
    unpark,
)
from tixtrace.kernel.db import unit_of_work
from tixtrace.kernel.errors import KernelCode

_CLAIM_RETRIES = 5


class _Stop(Exception):
    """The run stops before a record that cannot be applied (doContinueInCaseOfSyncError=false)."""


#: the cyclic collector's first threshold while a feedback run is in progress (Python's default: 700).
#: A catch-up allocates a few small objects per record that live for one page; at 700 the collector ran
#: so often that it cost ~15 % of the run's CPU (benchmarks/RESULTS.md, branch feed2), for +27 MB.
_GC_FIRST_THRESHOLD: Final = 50_000
_gc_lock = threading.Lock()
_gc_runs = 0
_gc_saved: tuple[int, int, int] | None = None


@contextmanager
def _relaxed_gc() -> Iterator[None]:
    """Raise the collector's thresholds while at least one feedback run is in progress in this process
    (runs may overlap on threads: the first one in saves the thresholds, the last one out restores them)."""
    global _gc_runs, _gc_saved
    with _gc_lock:
        if _gc_runs == 0:
            _gc_saved = gc.get_threshold()
            gc.set_threshold(max(_GC_FIRST_THRESHOLD, _gc_saved[0]), max(20, _gc_saved[1]), max(20, _gc_saved[2]))
        _gc_runs += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_runs -= 1
            if _gc_runs == 0 and _gc_saved is not None:
                gc.set_threshold(*_gc_saved)
                _gc_saved = None


def run(ctx: Run) -> None:
    with _relaxed_gc():
        _run(ctx)


def _run(ctx: Run) -> None:
    parameters = ctx.parameters
    for warning in parameters.prerequisite_warnings():
        ctx.log(LogLevel.WARNING, warning)
    profiles = Profiles()  # the people checked by this run, by profile (pure: kept across its pages)
    try:
        if ctx.upload is not None:
            ctx.log(LogLevel.INFO, f"file to upload: {len(ctx.upload)} record(s); the pagination key does not move")
            others = _replace_parked(ctx, ctx.upload)
            _retry_parked(ctx, profiles)  # first, as a run of the feed does: the fixed records release what waits
            if others:
                _apply(ctx, from_json_values(others), new_key=None, mode=Mode.UPLOAD, profiles=profiles)
            return
        _retry_parked(ctx, profiles)
        _read_feed(ctx, profiles)
    except _Stop:
        ctx.status = ExecutionStatus.ERROR
    except WalletRefused as exc:
        if exc.details.get("walletCode") != "INVALID_CURSOR":
            raise
        raise key_refused(ctx.schedule.id, exc) from exc


def key_refused(schedule_id: int, exc: WalletRefused) -> WalletRefused:
    """W11: the wallet refused the stored pagination key (another wallet's or organizer's, or beyond its
    feed): every later run would be refused the same way, so the error names the way out (O1)."""
    return WalletRefused(
        f"{exc.message}. The stored pagination key does not belong to this wallet's feed (the interface was "
        f"pointed at another wallet or organizer, or the wallet's data was replaced). Reset the feed to read "
        f"it again from the start (F11: nothing already applied changes): `tixtrace backoffice reset-feed "
        f"{schedule_id} --database-url URL --yes` or POST /api/schedules/{schedule_id}/reset-feed "
        f'{{"confirm": true}}', code=KernelCode.INVALID_CURSOR, details={**exc.details, "scheduleId": schedule_id})


@dataclass
class _Reading:
    """What a run read from the feed, for its one "read" line (O3)."""

    first_key: str | None
    last_key: str | None
    pages: int = 0
    records: int = 0
    lowest: int | None = None
    highest: int | None = None

    def add(self, records: Sequence[Any], key: str) -> None:
        self.pages += 1
        self.records += len(records)
        self.last_key = key
        ids = [raw.recordId for raw in records if is_object(raw) and isinstance(raw.recordId, int)]
        if ids:
            self.lowest = min(ids) if self.lowest is None else min(self.lowest, *ids)
            self.highest = max(ids) if self.highest is None else max(self.highest, *ids)

    def line(self) -> str:
        ids = f" (recordIds {self.lowest} to {self.highest})" if self.lowest is not None else ""
        return (f"read {self.records} record(s) in {self.pages} page(s) of the wallet's feed{ids}; pagination key "
                f"{self.first_key or '(none: from the start)'} -> {self.last_key or '(none)'}")


def _read_feed(ctx: Run, profiles: Profiles) -> None:
    batch_size = int(ctx.schedule.batch_size)
    with unit_of_work(ctx.engine, write=False) as conn:
        key = load_feed_state(conn, ctx.schedule.id).pagination_key
    reading = _Reading(key, key)
    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="feed-prefetch") as prefetch:
            pending = prefetch.submit(ctx.client.diff, key, batch_size)
            while True:
                page = pending.result()
                reading.add(page.records, page.pagination_key)
                if page.has_more:
                    pending = prefetch.submit(ctx.client.diff, page.pagination_key, batch_size)
                if page.records or page.pagination_key != key:  # nothing new: nothing to write
                    _apply(ctx, page.records, new_key=page.pagination_key, profiles=profiles)
                if not page.has_more:  # read to its end: nothing the wallet wrote before the run is missing (O4)
                    ctx.caught_up = True
                    return
                key = page.pagination_key
    finally:  # written by the runner's last flush, whether the run ends OK, stopped or failed
        if reading.records or reading.last_key != reading.first_key:  # an idle run says nothing (O4 collapses)
            ctx.log(LogLevel.INFO, reading.line())


def _retry_parked(ctx: Run, profiles: Profiles) -> None:
    with unit_of_work(ctx.engine, write=False) as conn:
        passed = load_feed_state(conn, ctx.schedule.id).last_record_id
        rows = parked_raw_records(conn, ctx.schedule.id, up_to=passed)
    if rows:
        ctx.log(LogLevel.INFO, f"retrying {len(rows)} parked record(s)")
        _apply(ctx, from_json_values(rows), new_key=None, mode=Mode.PARKED, profiles=profiles)


def _replace_parked(ctx: Run, raw_records: Sequence[Any]) -> list[Any]:
    """Uploaded records whose recordId is parked replace the parked ones (then retried in order);
    returns the other records of the file."""
    by_id = {raw["recordId"]: raw for raw in raw_records
             if isinstance(raw, dict) and isinstance(raw.get("recordId"), int)}
    with unit_of_work(ctx.engine) as conn:
        parked_ids = replace_parked(conn, ctx.schedule.id, by_id, "replaced by a file to upload")
    if parked_ids:
        ctx.log(LogLevel.INFO, f"{len(parked_ids)} parked record(s) replaced by the file")
    return [raw for raw in raw_records if not (isinstance(raw, dict) and raw.get("recordId") in parked_ids)]


def _apply(ctx: Run, raw_records: Sequence[Any], *, new_key: str | None, mode: Mode = Mode.FEED,
           profiles: Profiles) -> None:
    """Apply a page of decoded records (``records.py``); a page that fails is rolled back, and so is
    what it had reported (counters, log)."""
    before = ctx.report()
    for attempt in range(_CLAIM_RETRIES):
        try:
            _apply_once(ctx, raw_records, new_key=new_key, mode=mode, profiles=profiles)
            return
        except _Stop:
            raise  # committed: what it reported is written
        except ContactClaimLost:
            ctx.restore(before)
            if attempt == _CLAIM_RETRIES - 1:
                raise
        except Exception:
            ctx.restore(before)
            raise


def _apply_once(ctx: Run, raw_records: Sequence[Any], *, new_key: str | None, mode: Mode, profiles: Profiles) -> None:
    """Apply one page in one transaction: triage (domain/triage.py), then its decisions in the page's
    order (park rows, counters, log lines), the fold, and in FEED mode the feed state. The key moves
    only when the page was applied whole; a stop commits what came before it, then raises _Stop."""
    schedule_id = ctx.schedule.id
    now = ctx.clock.now()
    with unit_of_work(ctx.engine) as conn:
        lock_contact_writes(conn)
        state = load_feed_state(conn, schedule_id)
        feed = mode is Mode.FEED
        page = triage(raw_records, mode=mode, last_applied=state.last_record_id,
                      parked_tickets=parked_tickets(conn, schedule_id, up_to=state.last_record_id if feed else None),
                      skip=ctx.schedule.skip_ticket_numbers or (),
                      continue_on_error=ctx.parameters.do_continue_in_case_of_sync_error,
                      kept=_decoded(kept_ahead(conn, schedule_id, state.last_record_id)) if feed else None,
                      profiles=profiles)
        for decision in page.decisions:
            _execute(conn, ctx, decision)
        ready = page.ready()
        fold = load_fold(conn, ready, feature_active=ctx.parameters.feature_active, now=now)
        for record in ready:
            if not fold.apply(record):
                ctx.log(LogLevel.INFO, f"record {record.record_id} skipped: ticket unknown to the back office",
                        record.ticket_number)
        stored = write_fold(conn, fold, now)
        _count_fold(ctx, fold)
        _log_events(ctx, fold.events, stored)
        if mode is Mode.FEED:
            moved = page.stop is None and new_key is not None
            save_feed_state(conn, schedule_id, FeedState(new_key if moved else state.pagination_key, page.newest))
        if page.stop is not None:
            ctx.count("failed")
            ctx.log(LogLevel.ERROR, page.stop)
        ctx.flush(conn)
    if page.stop is not None:
        raise _Stop(page.stop)


def _decoded(kept: dict[int, Any]) -> dict[int, Any]:
    """Parked records, as kept (JSON values), decoded as the feed's records are."""
    return {record_id: from_json_value(raw) for record_id, raw in kept.items()}


def _execute(conn: Connection, ctx: Run, decision: Decision) -> None:
    """Carry out one triage decision: its parked row, counter and log line."""
    action, record_id, ticket = decision.action, decision.record_id, decision.ticket
    if decision.unpark:  # applied or skipped now: no longer parked
        unpark(conn, ctx.schedule.id, record_id)
    if action is Action.SKIP:
        ctx.count("skipped")
        ctx.log(LogLevel.INFO, f"record {record_id} skipped: ticket in the skip list", ticket)
    elif action is Action.HOLD:  # the run stops on it (counted failed with the stop); kept to be fixed
        park(conn, ctx.schedule.id, record_id, ticket[:TICKET_NUMBER_LENGTH], stored(decision.raw),
             str(decision.error), ctx.clock.now())
        ctx.log(LogLevel.INFO, f"record {record_id} kept with the parked records: a file to upload with its fixed "
                               "version lets the next run go on", ticket)
    elif action is Action.STILL_PARKED:
        ctx.count("parked")
        ctx.log(LogLevel.WARNING, f"parked record {record_id} still cannot be applied: {decision.error}", ticket)
    elif action is Action.DROP:
        ctx.count("failed")
        ctx.log(LogLevel.ERROR, f"a record without a usable recordId was dropped: {decision.error}", ticket)
    elif action in (Action.PARK, Action.PARK_BEHIND):
        park(conn, ctx.schedule.id, record_id, ticket[:TICKET_NUMBER_LENGTH], stored(decision.raw),
             str(decision.error), ctx.clock.now())
        ctx.count("parked")
        if action is Action.PARK:
            ctx.log(LogLevel.WARNING, f"record {record_id} parked: {decision.error}", ticket)
    # APPLY goes to the fold; KEEP_PARKED changes nothing


def _log_events(ctx: Run, events: Sequence[FoldEvent], stored: dict[int, int]) -> None:
    """O3: one line per thing the fold did. A contact is named by its stored id (``stored`` maps the
    page's new contacts); one created and removed within the same page was never stored and has none."""
    for index, event in enumerate(events):
        if ctx.details_full(len(events) - index):  # past the cap: counted, not built
            return
        contact = stored.get(event.contact_id, event.contact_id) if event.contact_id is not None else None
        if contact is not None and contact < 0:
            contact = None
        named = f"contact {contact}" if contact is not None else "a contact never stored (created and removed " \
                                                                  "within the same page)"
        transfer = f"transfer {event.transfer_id}"
        link = contact
        if event.happening is Happening.CONTACT_CREATED:
            message = f"{named} created ({event.detail}) as the recipient of {transfer}"
        elif event.happening is Happening.CONTACT_COMPLETED:
            message = f"{named} completed from the wallet profile: no longer temporary, internet account"
        elif event.happening is Happening.CONTACT_REMOVED:
            message = f"temporary {named} removed: {transfer} failed and nothing else holds it"
            link = None  # it no longer exists
        elif event.happening is Happening.LINE_CONFIRMED:
            to = f": {named} is the ticket's cultural contact and owner" if contact is not None else ""
            message = f"line of {transfer} confirmed ({event.detail}){to}"
        else:  # the recipient's contact, if any, is not the ticket's: the line names none
            message = f"line of {transfer} cancelled: {event.detail or 'no reason given'}"
            link = None
        ctx.detail(message, event.ticket_number, link)


def _count_fold(ctx: Run, fold: DistributionFold) -> None:
    counters = fold.counters
    ctx.count("records_read", counters.records_read)
    ctx.count("skipped", counters.skipped)
    ctx.count("tickets_updated", len(fold.changed_tickets()))
    ctx.count("contacts_created", counters.contacts_created)
    ctx.count("contacts_completed", counters.contacts_completed)
    ctx.count("contacts_removed", counters.contacts_removed)
    ctx.count("lines_created", counters.lines_created)
    ctx.count("lines_updated", counters.lines_updated)
