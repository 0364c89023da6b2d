"""The contract between the runner and the interface functions: ``Run``, ``Function`` and their limits.

The runner (``runner.py``) builds a ``Run`` for each execution and calls the schedule's function with
it; the functions (``injection``, ``feedback``, ``push`` beside it) import only this module, never the runner,
so the runner can import them at top level without a cycle. A function reports through its ``Run``:
counters and log lines gathered in memory and written by ``flush`` in the function's own transaction
(so a page's report commits with the page's data), and a status that can only get worse (OK, then
WARNING when a record or ticket is reported WARNING or ERROR; ERROR is the runner's or the function's
decision to stop).

O3: a function says what it did with ``detail`` (one INFO line per contact created, line confirmed,
ticket printed ...): the first ``DETAIL_LINES`` of an execution are logged, the others only counted,
and ``close_log`` (called by the runner before its last flush) adds one line counting them. Warnings
and errors are never dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine

from tixtrace.backoffice.domain.executions import ExecutionStatus, LogLevel, LogLine
from tixtrace.backoffice.domain.parameters import ParsedParameters
from tixtrace.backoffice.interfaces.tixngo.client import CallDump, TixngoClient
from tixtrace.backoffice.services.executions import add_counts, append_log
from tixtrace.backoffice.services.interfaces import InterfaceView
from tixtrace.backoffice.services.schedules import ScheduleView
from tixtrace.kernel.clock import Clock

#: the width of ticket numbers in log lines and parked records (a longer wallet ticketId is cut)
TICKET_NUMBER_LENGTH = 50

#: O3: lines of what an execution did that are logged one by one; the rest are counted in one line
DETAIL_LINES = 1000


@dataclass(frozen=True)
class Report:
    """What a ``Run`` has gathered and not yet written: taken before a page and restored when the page
    is rolled back, so that a page's report commits or vanishes with the page."""

    counts: dict[str, int]
    lines: list[LogLine]
    details_logged: int
    details_omitted: int


@dataclass
class Run:
    """What an interface function gets: its schedule, parameters, a wallet client, counters and log."""

    engine: Engine
    clock: Clock
    execution_id: int
    schedule: ScheduleView
    interface: InterfaceView
    parameters: ParsedParameters
    client: TixngoClient
    dump: CallDump | None
    upload: list[Any] | None = None  # feedback: records of a support file instead of the feed
    counts: dict[str, int] = field(default_factory=dict)
    lines: list[LogLine] = field(default_factory=list)
    status: ExecutionStatus = ExecutionStatus.OK
    #: the function did all its work (the feedback: read the feed to its end, ``hasMore`` false; an
    #: injection or push: went through every ticket it selected): the runner records the run's start as
    #: the schedule's ``caught_up_at`` (O4, its lag)
    caught_up: bool = False
    details_logged: int = 0  # detail lines logged so far (committed or gathered)
    details_omitted: int = 0  # detail lines past DETAIL_LINES, only counted

    def count(self, name: str, value: int = 1) -> None:
        if value:
            self.counts[name] = self.counts.get(name, 0) + value

    def log(self, level: LogLevel, message: str, ticket_number: str | None = None,
            contact_id: int | None = None) -> None:
        number = ticket_number[:TICKET_NUMBER_LENGTH] if ticket_number is not None else None
        self.lines.append(LogLine(level, message, number, contact_id))
        # a record or ticket reported WARNING or ERROR while the run went on: the run cannot end OK
        if level in (LogLevel.WARNING, LogLevel.ERROR) and self.status is ExecutionStatus.OK:
            self.status = ExecutionStatus.WARNING

    def details_full(self, coming: int = 0) -> bool:
        """True when the cap is reached: the ``coming`` detail lines are then only counted (a caller with
        many lines to build skips building them)."""
        if self.details_logged < DETAIL_LINES:
            return False
        self.details_omitted += coming
        return True

    def detail(self, message: str, ticket_number: str | None = None, contact_id: int | None = None) -> None:
        """O3: one INFO line of what the run did; past ``DETAIL_LINES`` in the execution it is only counted."""
        if self.details_logged >= DETAIL_LINES:
            self.details_omitted += 1
            return
        self.details_logged += 1
        self.log(LogLevel.INFO, message, ticket_number, contact_id)

    def close_log(self) -> None:
        """The one line counting the detail lines that were not logged (none: nothing is added)."""
        if self.details_omitted:
            self.log(LogLevel.INFO, f"... and {self.details_omitted} more line(s) of what this execution did, not "
                                    f"logged (the first {DETAIL_LINES} are; the counters count everything)")
            self.details_omitted = 0

    def report(self) -> Report:
        return Report(dict(self.counts), list(self.lines), self.details_logged, self.details_omitted)

    def restore(self, report: Report) -> None:
        """Forget what was gathered since ``report`` was taken (its page was rolled back)."""
        self.counts, self.lines = dict(report.counts), list(report.lines)
        self.details_logged, self.details_omitted = report.details_logged, report.details_omitted

    def flush(self, conn: Connection) -> None:
        """Write the counters and log lines gathered so far, in the caller's transaction."""
        add_counts(conn, self.execution_id, self.counts)
        append_log(conn, self.execution_id, self.lines, self.clock.now())
        self.counts, self.lines = {}, []


#: an interface function: does its work through the ``Run``; raising ends the execution ERROR
Function = Callable[[Run], None]
