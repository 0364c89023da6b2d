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
- A record that cannot be parsed, without ``doContinueInCaseOfSyncError``, stops the triage before
  it: the decisions before it stand, nothing after it is decided (FEED and PARKED). A support file
  (UPLOAD) never stops: its bad records are ``FAIL``.
- A record of a ticket in the skip list is ``SKIP``, never applied; a parked ticket's record waits
  even when the ticket is in the skip list (it is un-parked, then skipped, when its turn comes).
- ``unpark``: in PARKED and UPLOAD modes a record applied or skipped now leaves the parked records.
- ``newest``: the highest ``recordId`` decided (parsed or parked), at least the last applied one;
  the feed's cursor moves to it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from tixtrace.backoffice.domain.records import Record, RecordError, parse_record

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
    FAIL = "fail"  # UPLOAD: cannot be applied, reported and left out


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
    ticket = raw.get("ticketId") if isinstance(raw, dict) else None
    return ticket.strip() if isinstance(ticket, str) and ticket.strip() else "?"


def triage(raw_records: Sequence[Any], *, mode: Mode, last_applied: int, parked_tickets: Iterable[str],
           skip: Iterable[str], continue_on_error: bool) -> Triage:
    """Decide each record of a page, in order (see the module's invariants).

    ``last_applied``: the schedule's last applied recordId (FEED only skips by it); ``parked_tickets``:
    the ticket numbers with a parked record (ignored in PARKED mode); ``skip``: the schedule's skip
    list; ``continue_on_error``: ``doContinueInCaseOfSyncError``."""
    waiting = set() if mode is Mode.PARKED else set(parked_tickets)
    skipped = frozenset(skip)
    decisions: list[Decision] = []
    newest = last_applied
    for raw in raw_records:
        record_id = raw.get("recordId") if isinstance(raw, dict) else None
        if mode is Mode.FEED and isinstance(record_id, int) and record_id <= last_applied:
            continue  # already applied: a page read again
        try:
            record = parse_record(raw)
        except RecordError as exc:
            ticket = ticket_of(raw)
            if mode is Mode.UPLOAD:
                decisions.append(Decision(Action.FAIL, raw, record_id, ticket, error=str(exc)))
                continue
            if not continue_on_error:
                return Triage(decisions, newest, f"record {record_id}: {exc}; the run stops before it "
                                                 "(doContinueInCaseOfSyncError=false)")
            waiting.add(ticket)
            if mode is Mode.PARKED:
                action = Action.STILL_PARKED
            else:
                action = Action.PARK if isinstance(record_id, int) else Action.DROP
            decisions.append(Decision(action, raw, record_id, ticket, error=str(exc)))
            newest = max(newest, record_id) if isinstance(record_id, int) else newest
            continue
        newest = max(newest, record.record_id)
        ticket = record.ticket_number
        if ticket in waiting:
            action = Action.KEEP_PARKED if mode is Mode.PARKED else Action.PARK_BEHIND
            decisions.append(Decision(action, raw, record.record_id, ticket, record, BEHIND))
            continue
        action = Action.SKIP if ticket in skipped else Action.APPLY
        decisions.append(Decision(action, raw, record.record_id, ticket, record, unpark=mode is not Mode.FEED))
    return Triage(decisions, newest, None)
