"""Triage of the feedback's records: what happens to each record of a page before the fold.

The feedback (``interfaces/tixngo/feedback.py``) reads records from three sources (``Mode``): the
wallet's diff feed, the records parked by earlier runs, and a support file. ``triage`` decides, per
record and in the page's order, whether it goes to the fold, is skipped, is parked, stays parked, is
reported as failed or stops the run; it reads and writes nothing, so the feedback executes the
decisions (park rows, counters, log lines) in the same order, in the page's transaction.

Invariants:

- FEED: a record whose ``recordId`` is at or below the last applied one yields no decision at all
  (a page read again after a crash or a refusal changes nothing: F6, invariant 6).
- Per-ticket order: once a record of a ticket cannot be applied (parked, dropped or still parked),
  every later record of that ticket on the page waits behind it (``PARK_BEHIND``/``KEEP_PARKED``),
  and so does every record of a ticket that already had a parked record before the page (FEED,
  UPLOAD); PARKED starts with no parked ticket, since the parked records are the page itself.
- The records are decided in ``recordId`` order, whatever the order of the page (``in_record_order``;
  the wallet sends them ordered, this is robustness): F6's fold is over ``recordId`` order.
- A support file (UPLOAD) is decided exactly as a page of the feed (section 6), except that its
  records are not skipped by the last applied recordId and the cursor does not move.
- A record that cannot be parsed, without ``doContinueInCaseOfSyncError``, stops the triage before
  it: the decisions before it stand, nothing after it is decided (every mode). In FEED mode the
  stopping record is kept with the parked records (``HOLD``) but ``newest`` does not pass it: it is
  *ahead* of the feed, so it is not retried with the parked records; the next run meets it again in
  the feed, and uses the wallet's version when that one parses, else the version kept, which a
  support file replaces by its fixed version (section 6: the fixed record releases the stop without
  the parameter being touched). A stopping record of a support file is not kept (fix the file).
- FEED: ``kept`` maps the recordIds of parked records ahead of the feed (above the last applied one)
  to the version kept; such a record leaves the parked records once decided, and its ticket does not
  wait for it (it is decided in its turn); only records the feed has passed make their ticket wait.
- A record of a ticket in the skip list is ``SKIP``, never applied; a parked ticket's record waits
  even when the ticket is in the skip list (it is un-parked, then skipped, when its turn comes).
- ``unpark``: in PARKED and UPLOAD modes a record applied or skipped now leaves the parked records,
  and so does, in FEED mode, a kept record ahead of the feed.
- ``newest``: the highest ``recordId`` decided (parsed or parked), at least the last applied one;
  the feed's cursor moves to it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from tixtrace.backoffice.domain.records import Profiles, Record, RecordError, is_object, parse_record

#: the triage's error for a record of a ticket that already has a record waiting
BEHIND = "parked behind an earlier record of the same ticket"


class Mode(Enum):
    """Where the records come from."""

    FEED = "feed"  # the wallet's diff feed: skip what was applied, park or stop, move the cursor
    PARKED = "parked"  # the parked records, retried first: those that apply leave the parked records
    UPLOAD = "upload"  # a support file: applied whatever their recordId; the cursor does not move


class Action(Enum):
    APPLY = "apply"  # to the fold
    SKIP = "skip"  # the ticket is in the skip list
    PARK = "park"  # cannot be applied: kept to be retried first next time
    DROP = "drop"  # cannot be applied and has no integer recordId to be kept by
    PARK_BEHIND = "park behind"  # waits behind an earlier record of its ticket
    STILL_PARKED = "still parked"  # PARKED: retried and still cannot be applied
    KEEP_PARKED = "keep parked"  # PARKED: waits behind a record of its ticket that still fails
    HOLD = "hold"  # FEED, stopping: kept ahead of the feed, so that its fixed version can release it


@dataclass(frozen=True)
class Decision:
    """What happens to one record. ``record`` is set when it parsed; ``error`` when it did not (or,
    for PARK_BEHIND, why it waits); ``ticket`` is its ticketId as sent (``?`` when it has none)."""

    action: Action
    raw: Any
    record_id: Any  # the raw recordId (an int when usable)
    ticket: str
    record: Record | None = None
    error: str | None = None
    unpark: bool = False


@dataclass(frozen=True)
class Triage:
    decisions: list[Decision]
    newest: int  # the highest recordId decided, at least the last applied one
    stop: str | None  # why the triage stopped before a record (the rest of the page was not decided)

    def ready(self) -> list[Record]:
        """The records to fold, in the page's order."""
        return [d.record for d in self.decisions if d.action is Action.APPLY and d.record is not None]


def ticket_of(raw: Any) -> str:
    """The ticketId of a record that may not parse, for log lines and parked rows."""
    ticket = raw.ticketId if is_object(raw) else None
    return ticket.strip() if isinstance(ticket, str) and ticket.strip() else "?"


def _record_id(raw: Any) -> Any:
    return raw.recordId if is_object(raw) else None


def in_record_order(raw_records: Sequence[Any]) -> list[Any]:
    """The records sorted by ``recordId`` (stable); a record without an integer recordId keeps its
    place right after the record before it, so an unusable record is decided where it was sent."""
    keyed: list[tuple[int, int, Any]] = []
    previous = -1
    ordered = True  # the wallet sends them ordered: then the page is its own order, not sorted again
    for position, raw in enumerate(raw_records):
        record_id = _record_id(raw)
        if isinstance(record_id, int) and not isinstance(record_id, bool):
            ordered = ordered and record_id >= previous
            previous = record_id
        keyed.append((previous, position, raw))
    if ordered:
        return list(raw_records)
    return [raw for _, _, raw in sorted(keyed, key=lambda item: (item[0], item[1]))]


def _parse(raw: Any, kept: Any, profiles: Profiles) -> tuple[Any, Record | None, str | None]:
    """The record, from ``raw`` or else from the version ``kept`` (None: none); the error of ``raw``."""
    try:
        return raw, parse_record(raw, profiles), None
    except RecordError as exc:
        error = str(exc)
    if kept is not None:
        try:
            return kept, parse_record(kept, profiles), None
        except RecordError:
            pass
    return raw, None, error


def triage(raw_records: Sequence[Any], *, mode: Mode, last_applied: int, parked_tickets: Iterable[str],
           skip: Iterable[str], continue_on_error: bool, kept: Mapping[int, Any] | None = None,
           profiles: Profiles | None = None) -> Triage:
    """Decide each record of a page, in recordId order (see the module's invariants).

    ``last_applied``: the schedule's last applied recordId (FEED only skips by it); ``parked_tickets``:
    the ticket numbers with a parked record to wait for (ignored in PARKED mode); ``skip``: the
    schedule's skip list; ``continue_on_error``: ``doContinueInCaseOfSyncError``; ``kept`` (FEED): the
    parked versions of the records ahead of the feed, by recordId; ``profiles``: the people already
    checked (kept by the caller across pages). Records are as ``domain/records.py`` reads them (decoded
    by ``interfaces/tixngo/records.py``)."""
    profiles = profiles if profiles is not None else Profiles()
    waiting = set() if mode is Mode.PARKED else set(parked_tickets)
    ahead = dict(kept or {}) if mode is Mode.FEED else {}
    skipped = frozenset(skip)
    decisions: list[Decision] = []
    newest = last_applied
    for sent in in_record_order(raw_records):
        record_id = _record_id(sent)
        if mode is Mode.FEED and isinstance(record_id, int) and record_id <= last_applied:
            continue  # already applied: a page read again
        was_kept = isinstance(record_id, int) and record_id in ahead
        raw, record, error = _parse(sent, ahead.get(record_id) if was_kept else None, profiles)
        if record is None:
            ticket = ticket_of(raw)
            if not continue_on_error:
                if mode is Mode.FEED and isinstance(record_id, int):
                    decisions.append(Decision(Action.HOLD, raw, record_id, ticket, error=error))
                where = " of the file" if mode is Mode.UPLOAD else ""
                return Triage(decisions, newest, f"record {record_id}{where}: {error}; the run stops before it "
                                                 "(doContinueInCaseOfSyncError=false)")
            waiting.add(ticket)
            if mode is Mode.PARKED:
                action = Action.STILL_PARKED
            else:
                action = Action.PARK if isinstance(record_id, int) else Action.DROP
            decisions.append(Decision(action, raw, record_id, ticket, error=error))
            newest = max(newest, record_id) if isinstance(record_id, int) else newest
            continue
        newest = max(newest, record.record_id)
        ticket = record.ticket_number
        if ticket in waiting:
            action = Action.KEEP_PARKED if mode is Mode.PARKED else Action.PARK_BEHIND
            decisions.append(Decision(action, raw, record.record_id, ticket, record, BEHIND))
            continue
        action = Action.SKIP if ticket in skipped else Action.APPLY
        decisions.append(Decision(action, raw, record.record_id, ticket, record,
                                  unpark=mode is not Mode.FEED or was_kept))
    return Triage(decisions, newest, None)
