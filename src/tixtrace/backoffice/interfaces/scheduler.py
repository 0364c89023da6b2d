"""The scheduler: starts AUTOMATIC schedules when they are due (``tixtrace backoffice scheduler``).

Each due schedule runs in its own thread; a schedule whose previous execution is still running is
not started again. The feedback's run lock still guards against a manual run.

Continuous mode (frequency 0): a run that applied records is followed at once by the next one (the
loop wakes when a run ends, without waiting for the poll interval), so the back office trails the
wallet by about one run. A run that found nothing new is followed by an idle pause
(``IDLE_PAUSE_SECONDS``), so a quiet wallet costs one diff call per pause instead of a spinning loop
(and one execution row in all: the runner keeps only the latest of consecutive executions that
ended the same way, O4); a run that ended
ERROR, or could not run, waits ``ERROR_PAUSE_SECONDS`` so a wallet that is down is not hammered (nor
the notification e-mails flooded). Pauses count on the scheduler's clock.

Several schedulers on one PostgreSQL database share the schedules (DESIGN section 9), with nothing
but what the database gives:
- when a schedule is due is read from the database alone (its latest execution: its start, and for
  continuous mode its end, status and records read), so every scheduler agrees on it;
- a schedule whose run lock another session holds (``pg_locks``) is skipped without a word: another
  scheduler, or a person, runs it;
- a start takes the run locks (never waiting), then looks again, under them, whether the schedule is
  still due: another scheduler may have run it in between (`runner.claim_run`). A schedule therefore
  never runs twice at once, nor twice for one due time, and a refused or late start records nothing;
- each scheduler runs at most its share of the schedules at once: the number of AUTOMATIC schedules
  divided by the number of live schedulers (`locks.scheduler_membership`), so the first one started
  does not take them all; the shares add up to every schedule, so none waits for a free scheduler;
- due schedules start longest-waiting first;
- a scheduler that dies frees its locks and membership with its database session (at once when its
  process dies, within ``locks.DEAD_CLIENT_SECONDS`` when its host does): the others run its
  schedules from their next look, and the first run of each ends ERROR ("interrupted") the
  execution the dead one left RUNNING.
On SQLite one scheduler runs per database file: a second one is refused at start.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Row, func, select

from tixtrace.backoffice.db.tables import executions, schedules
from tixtrace.backoffice.domain.executions import SCHEDULER, ExecutionStatus
from tixtrace.backoffice.domain.parameters import ParsedParameters
from tixtrace.backoffice.domain.schedules import continuous_resume_at, next_run_at
from tixtrace.backoffice.interfaces.locks import held_elsewhere, scheduler_membership
from tixtrace.backoffice.interfaces.runner import claim_run, close_interrupted_executions, schedule_lock_name
from tixtrace.backoffice.services.interfaces import interface_parameters
from tixtrace.kernel.clock import Clock, as_utc, isoformat
from tixtrace.kernel.db import unit_of_work
from tixtrace.kernel.errors import BadInput, TixtraceError, failure_for_log

log = logging.getLogger(__name__)

#: continuous mode: the pause after a run that applied nothing, before asking the wallet again
IDLE_PAUSE_SECONDS = 1.0
#: continuous mode: the pause after a run that ended ERROR or could not start
ERROR_PAUSE_SECONDS = 30.0
#: how often a waiting loop looks at its stop event
_STOP_CHECK_SECONDS = 0.2


def automatic_schedules_found(engine: Engine) -> str:
    """What a starting scheduler says it found: how many active AUTOMATIC schedules (not paused, not
    deleted: the ones it will start), and which; with none, that nothing will run until one is made
    AUTOMATIC (it is picked up at the next poll, no restart)."""
    with unit_of_work(engine, write=False) as conn:
        ids = list(conn.scalars(select(schedules.c.id).where(schedules.c.launch == "AUTOMATIC",
                                                             schedules.c.active.is_(True),
                                                             schedules.c.deleted_at.is_(None))
                                .order_by(schedules.c.id)))
    if not ids:
        return ("0 AUTOMATIC schedules found: nothing will run until a schedule is made AUTOMATIC "
                "(picked up without a restart)")
    shown = ", ".join(str(schedule_id) for schedule_id in ids[:20]) + (" ..." if len(ids) > 20 else "")
    return f"{len(ids)} AUTOMATIC schedule{'s' if len(ids) != 1 else ''} found (ids {shown})"


class Scheduler:
    def __init__(self, engine: Engine, clock: Clock, *, idle_pause_seconds: float = IDLE_PAUSE_SECONDS,
                 error_pause_seconds: float = ERROR_PAUSE_SECONDS) -> None:
        self.engine = engine
        self.clock = clock
        self.idle_pause = timedelta(seconds=idle_pause_seconds)
        self.error_pause = timedelta(seconds=error_pause_seconds)
        self._running: dict[int, threading.Thread] = {}
        self._active: set[int] = set()  # started and not yet ended (a thread may outlive its run a moment)
        self._continuous: set[int] = set()
        # continuous schedules pausing after a start that failed without an execution (nothing in the
        # database says so); the pauses after an execution are read from the database
        self._resume_at: dict[int, datetime] = {}
        self._next_at: datetime | None = None  # the earliest future due time seen at the latest look
        self._schedules = 0  # AUTOMATIC schedules seen at the latest look
        self._members: Callable[[], int] | None = None  # live schedulers, while `run_forever` runs
        self._guard = threading.Lock()
        self._wake = threading.Event()

    def _rows(self, conn: Connection, only: int | None = None) -> list[Row[Any]]:  # type: ignore[type-arg]
        """The active AUTOMATIC schedules (or the one ``only``), each with its latest execution."""
        latest_id = (select(func.max(executions.c.id)).where(executions.c.schedule_id == schedules.c.id)
                     .correlate(schedules).scalar_subquery())
        query = (select(schedules.c.id, schedules.c.interface_id, schedules.c.frequency_minutes,
                        schedules.c.starts_at, schedules.c.ends_at, executions.c.started_at.label("last_started"),
                        executions.c.ended_at.label("last_ended"), executions.c.status.label("last_status"),
                        executions.c.records_read.label("last_records"))
                 .select_from(schedules.outerjoin(executions, executions.c.id == latest_id))
                 .where(schedules.c.launch == "AUTOMATIC", schedules.c.active.is_(True),
                        schedules.c.deleted_at.is_(None)))
        if only is not None:
            query = query.where(schedules.c.id == only)
        return list(conn.execute(query).all())  # type: ignore[arg-type]

    def _due_at(self, conn: Connection, row: Row[Any], now: datetime, sticky: dict[int, bool]) -> datetime | None:
        """When ``row``'s schedule is due (at or after ``now``; ``now`` itself when it is due now), by
        the database alone; None = never again."""
        if row.frequency_minutes > 0 and row.interface_id not in sticky:
            sticky[row.interface_id] = _stick_to_the_hour(conn, row.interface_id)
        starts_at = as_utc(row.starts_at) if row.starts_at else None
        ends_at = as_utc(row.ends_at) if row.ends_at else None
        when = next_run_at(frequency_minutes=row.frequency_minutes,
                           stick_to_the_hour=sticky.get(row.interface_id, False),
                           last_started_at=as_utc(row.last_started) if row.last_started else None, now=now,
                           starts_at=starts_at, ends_at=ends_at)
        if (when is not None and row.frequency_minutes <= 0 and row.last_ended is not None
                and row.last_status != ExecutionStatus.RUNNING.value):
            resume = continuous_resume_at(status=row.last_status, records_read=row.last_records or 0,
                                          ended_at=as_utc(row.last_ended), idle_pause=self.idle_pause,
                                          error_pause=self.error_pause)
            if resume > when:
                when = None if ends_at is not None and resume > ends_at else resume
        return when

    def due(self, now: datetime) -> list[int]:
        """Ids of the AUTOMATIC schedules due at ``now`` and not running, longest-waiting first: active
        (not paused, O1), not deleted, inside their startsAt/endsAt window (`next_run_at`), past their
        continuous pause, and whose run lock no other session holds. Executions that a dead process
        left RUNNING, of schedules not due yet, are ended on the way."""
        with unit_of_work(self.engine, write=False) as conn:
            rows = self._rows(conn)
            sticky: dict[int, bool] = {}
            when = {row.id: self._due_at(conn, row, now, sticky) for row in rows}
        with self._guard:
            self._continuous = {row.id for row in rows if row.frequency_minutes <= 0}
            # a pause that is over, or of a schedule no longer continuous, is forgotten (else the loop
            # would keep waking for it)
            self._resume_at = {schedule_id: at for schedule_id, at in self._resume_at.items()
                               if schedule_id in self._continuous and now < at}
            active, resume_at = set(self._active), dict(self._resume_at)
        mine = [row for row in rows if row.id not in active]
        is_due = {schedule_id: at is not None and at <= now for schedule_id, at in when.items()}
        candidates = [row for row in mine if row.last_status == ExecutionStatus.RUNNING.value or is_due[row.id]]
        held = held_elsewhere(self.engine, [schedule_lock_name(row.id) for row in candidates])
        ready, dead = [], []
        for row in candidates:
            if schedule_lock_name(row.id) in held:
                continue  # another process runs it
            if row.last_status == ExecutionStatus.RUNNING.value and not is_due[row.id]:
                dead.append(row.id)  # RUNNING, and nobody holds its lock
            elif is_due[row.id] and row.id not in resume_at:
                ready.append(row)
        if dead:
            closed = close_interrupted_executions(self.engine, self.clock, dead)
            if closed:
                log.warning("ended %d execution(s) left RUNNING by a process that died: %s", len(closed), closed)
        ready.sort(key=lambda row: (row.last_started is not None, as_utc(row.last_started) if row.last_started
                                    else now, row.id))
        future = [at for schedule_id, at in when.items() if at is not None and at > now and schedule_id not in active]
        with self._guard:
            self._schedules = len(rows)
            self._next_at = min(future, default=None)
        return [row.id for row in ready]

    def _still_due(self, schedule_id: int) -> bool:
        """Asked under the schedule's run locks (`runner.claim_run`): is it still due, as the database
        says now? False when another scheduler ran it since this one looked."""
        now = self.clock.now()
        with unit_of_work(self.engine, write=False) as conn:
            rows = self._rows(conn, only=schedule_id)
            if not rows:
                return False  # paused, deleted or made MANUAL meanwhile
            when = self._due_at(conn, rows[0], now, {})
        return when is not None and when <= now

    def share(self) -> int | None:
        """How many schedules this scheduler runs at most at once: its share of the AUTOMATIC schedules
        among the live schedulers (rounded up, so that the shares cover them all); None (no limit)
        outside `run_forever`."""
        if self._members is None:
            return None
        return max(1, math.ceil(self._schedules / self._members()))

    def tick(self) -> list[int]:
        started = []
        due = self.due(self.clock.now())
        share = self.share()
        if share is not None:
            with self._guard:
                room = share - len(self._active)
            due = due[:max(0, room)]
        for schedule_id in due:
            with self._guard:
                continuous = schedule_id in self._continuous
                self._active.add(schedule_id)
            thread = threading.Thread(target=self._run, args=(schedule_id, continuous),
                                      name=f"schedule-{schedule_id}", daemon=True)
            self._running[schedule_id] = thread
            thread.start()
            started.append(schedule_id)
        return started

    def _run(self, schedule_id: int, continuous: bool = False) -> None:
        pause: timedelta | None = None  # only a start that failed pauses here; executions pause by their row
        try:
            started = claim_run(self.engine, schedule_id, clock=self.clock, launched_by=SCHEDULER,
                                still_due=lambda: self._still_due(schedule_id))
            if started is None:
                # another process runs it, or ran it since this one looked: nothing to say, nothing
                # recorded; a continuous schedule is looked at again after the idle pause
                log.debug("schedule %s skipped: another process holds its run lock or its wallet organizer's, "
                          "or ran it since this scheduler looked", schedule_id)
                pause = self.idle_pause
            else:
                execution = started.execute()
                log.info("schedule %s: execution %s ended %s (started %s, ended %s, %d records read)", schedule_id,
                         execution.id, execution.status, isoformat(execution.started_at),
                         isoformat(execution.ended_at) if execution.ended_at else None, execution.records_read)
        except TixtraceError as exc:
            # the code, not the message: a refusal's message names the wallet organizer's login, an
            # e-mail address, and logs carry ids only (DESIGN 10); the API shows the message
            log.warning("schedule %s not run: %s", schedule_id, exc.code)
            pause = self.error_pause
        except Exception as exc:  # keep scheduling; the failure is logged
            log.error("schedule %s failed: %s", schedule_id, failure_for_log(exc))
            pause = self.error_pause
        finally:
            with self._guard:
                if continuous and pause is not None:
                    self._resume_at[schedule_id] = self.clock.now() + pause
                else:
                    self._resume_at.pop(schedule_id, None)
                self._active.discard(schedule_id)
            self._wake.set()

    def run_forever(self, stop: threading.Event, poll_seconds: float = 1.0) -> None:
        """Tick until ``stop`` is set: every ``poll_seconds``, when a run ends, and when a schedule
        falls due. Joins the database's schedulers for the time (`locks.scheduler_membership`: on
        SQLite a second scheduler of the same file is refused, Conflict SCHEDULER_ALREADY_RUNNING),
        then ends the executions that dead processes left RUNNING (a schedule that never runs again
        would show them RUNNING for ever)."""
        with scheduler_membership(self.engine) as members:
            self._members = members
            try:
                self._loop(stop, poll_seconds)
            finally:
                self._members = None

    def _loop(self, stop: threading.Event, poll_seconds: float) -> None:
        closed = close_interrupted_executions(self.engine, self.clock)
        if closed:
            log.warning("ended %d execution(s) left RUNNING by a process that died: %s", len(closed), closed)
        while not stop.is_set():
            try:
                self.tick()
            except Exception as exc:  # keep scheduling; the failure is logged
                log.error("scheduler tick failed: %s", failure_for_log(exc))
            self._sleep(stop, poll_seconds)
        for thread in list(self._running.values()):
            thread.join()

    def _sleep(self, stop: threading.Event, poll_seconds: float) -> None:
        now = self.clock.now()
        with self._guard:
            wake_at = [*self._resume_at.values(), *([self._next_at] if self._next_at is not None else [])]
        seconds = max(0.0, min([poll_seconds, *((at - now).total_seconds() for at in wake_at)]))
        deadline = time.monotonic() + seconds
        while not stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            if self._wake.wait(min(left, _STOP_CHECK_SECONDS)):
                self._wake.clear()
                return


def _stick_to_the_hour(conn: Connection, interface_id: int) -> bool:
    """The interface's stickToTheHour; the default while its saved text no longer parses (saved before a
    stricter grammar): its runs then fail naming the errors, the other interfaces' runs go on."""
    try:
        return interface_parameters(conn, interface_id).stick_to_the_hour
    except BadInput:
        return ParsedParameters().stick_to_the_hour
