"""An execution's vocabulary: its statuses, its log levels and its counters (DESIGN section 6).

Pure: services/executions.py records executions with these names, the interface functions count and
log with them, the API and the screens show them. Invariants:
- an execution starts RUNNING and ends once, in one of `ENDED`;
- counters are exactly `COUNTERS` (the API shows them camelCased) and only grow;
- continuous mode keeps only the latest of consecutive executions that ended the same way
  (`same_outcome`, plus an equal log).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

COUNTERS = ("records_read", "tickets_updated", "contacts_created", "contacts_completed", "contacts_removed",
            "lines_created", "lines_updated", "skipped", "failed", "parked")


class ExecutionStatus(StrEnum):
    RUNNING = "RUNNING"
    OK = "OK"
    WARNING = "WARNING"
    ERROR = "ERROR"


#: ``launchedBy`` (O2) of an execution the scheduler started, and of one a command started
#: (``tixtrace backoffice run``, ``upload``, ``demo``); a person's is their user name
SCHEDULER = "scheduler"
CLI = "cli"

#: the statuses an execution may end with
ENDED = frozenset({ExecutionStatus.OK, ExecutionStatus.WARNING, ExecutionStatus.ERROR})


class LogLevel(StrEnum):
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"


@dataclass(frozen=True)
class LogLine:
    """One line of an execution's log: ticket numbers and ids only, never e-mails or names (section 10).
    ``contact_id``: the contact the line is about (created, completed, confirmed ...), for a link."""

    level: LogLevel
    message: str
    ticket_number: str | None = None
    contact_id: int | None = None


def unknown_counters(counts: Mapping[str, int]) -> list[str]:
    """The names in `counts` that are not execution counters, sorted."""
    return sorted(set(counts) - set(COUNTERS))


@dataclass(frozen=True)
class Outcome:
    """How an ended execution turned out, without its log: what continuous mode compares first."""

    status: str
    launched_by: str | None
    counters: tuple[int, ...]  # in `COUNTERS` order


def same_outcome(before: Outcome, after: Outcome) -> bool:
    """Continuous mode (O4) keeps only the latest of consecutive executions that ended the same way:
    both ended (never RUNNING), with the same status, the same counters (two productive runs with an
    empty log are not repeats: each applied something) and the same launcher (a person's Run now is
    not folded into the scheduler's runs). Their logs must also be equal; the caller compares them."""
    return (before.status in ENDED and before.status == after.status and before.counters == after.counters
            and before.launched_by == after.launched_by)
