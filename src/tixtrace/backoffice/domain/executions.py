"""An execution's vocabulary: its statuses, its log levels and its counters (DESIGN section 6).

Pure: services/executions.py records executions with these names, the interface functions count and
log with them, the API and the screens show them. Invariants:
- an execution starts RUNNING and ends once, in one of `ENDED`;
- counters are exactly `COUNTERS` (the API shows them camelCased) and only grow;
- an execution that counted nothing and ended OK is idle (`is_idle`): continuous mode keeps only the
  latest of back-to-back idle runs.
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


def is_idle(status: str, counters: Mapping[str, int]) -> bool:
    """An execution that ended OK having counted nothing (a run that found nothing to do)."""
    return status == ExecutionStatus.OK and not any(counters[name] for name in COUNTERS)
