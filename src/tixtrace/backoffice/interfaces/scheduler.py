"""The scheduler: starts AUTOMATIC schedules when they are due (``tixtrace backoffice scheduler``).

Each due schedule runs in its own thread; a schedule whose previous execution is still running is
not started again. The feedback's run lock still guards against a second scheduler or a manual run.

Continuous mode (frequency 0): a run that applied records is followed at once by the next one (the
loop wakes when a run ends, without waiting for the poll interval), so the back office trails the
wallet by about one run. A run that found nothing new is followed by an idle pause
(``IDLE_PAUSE_SECONDS``), so a quiet wallet costs one diff call per pause instead of a spinning loop
(and one execution row in all: the runner keeps only the latest of consecutive executions that
ended the same way, O4); a run that ended
ERROR, or could not run, waits ``ERROR_PAUSE_SECONDS`` so a wallet that is down is not hammered (nor
the notification e-mails flooded). Pauses count on the scheduler's clock.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, select

from tixtrace.backoffice.db.tables import executions, schedules
from tixtrace.backoffice.domain.executions import SCHEDULER, ExecutionStatus
from tixtrace.backoffice.domain.parameters import ParsedParameters
from tixtrace.backoffice.domain.schedules import next_run_at
from tixtrace.backoffice.interfaces.runner import close_interrupted_executions, run_schedule
from tixtrace.backoffice.services.interfaces import interface_parameters
from tixtrace.kernel.clock import Clock, as_utc
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
        self._resume_at: dict[int, datetime] = {}  # continuous schedules pausing after an idle or failed run
        self._guard = threading.Lock()
        self._wake = threading.Event()

    def due(self, now: datetime) -> list[int]:
        """Ids of the AUTOMATIC schedules due at ``now`` and not running: active (not paused, O1), not
        deleted, and inside their startsAt/endsAt window (`next_run_at`)."""
        # the latest start per schedule through the (schedule_id, id) index: continuous mode makes the
        # executions table long, and this runs after every run
        last_start = (select(executions.c.started_at).where(executions.c.schedule_id == schedules.c.id)
                      .order_by(executions.c.id.desc()).limit(1).correlate(schedules).scalar_subquery())
        with unit_of_work(self.engine, write=False) as conn:
            rows = conn.execute(select(schedules, last_start.label("last"))
                                .where(schedules.c.launch == "AUTOMATIC", schedules.c.active.is_(True),
                                       schedules.c.deleted_at.is_(None))).all()
            sticky = {row.interface_id: _stick_to_the_hour(conn, row.interface_id) for row in rows}
        ready = []
        with self._guard:
            self._continuous = {row.id for row in rows if row.frequency_minutes <= 0}
            # a pause that is over, or of a schedule no longer continuous, is forgotten (else the loop
            # would keep waking for it)
            self._resume_at = {schedule_id: at for schedule_id, at in self._resume_at.items()
                               if schedule_id in self._continuous and now < at}
            active, resume_at = set(self._active), dict(self._resume_at)
        for row in rows:
            if row.id in active:
                continue
            if row.id in resume_at:
                continue
            when = next_run_at(frequency_minutes=row.frequency_minutes, stick_to_the_hour=sticky[row.interface_id],
                               last_started_at=as_utc(row.last) if row.last else None, now=now,
                               starts_at=as_utc(row.starts_at) if row.starts_at else None,
                               ends_at=as_utc(row.ends_at) if row.ends_at else None)
            if when is not None and when <= now:
                ready.append(row.id)
        return ready

    def tick(self) -> list[int]:
        started = []
        for schedule_id in self.due(self.clock.now()):
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
        pause: timedelta | None = self.error_pause
        try:
            execution = run_schedule(self.engine, schedule_id, clock=self.clock, launched_by=SCHEDULER)
            log.info("schedule %s: execution %s ended %s", schedule_id, execution.id, execution.status)
            if execution.status != ExecutionStatus.ERROR.value:
                pause = self.idle_pause if not execution.records_read else None
        except TixtraceError as exc:
            # the code, not the message: a refusal's message names the wallet organizer's login, an
            # e-mail address, and logs carry ids only (DESIGN 10); the API shows the message
            log.warning("schedule %s not run: %s", schedule_id, exc.code)
            if exc.code == "RUN_ALREADY_ACTIVE":
                pause = self.idle_pause  # another process runs it: look again soon
        except Exception as exc:  # keep scheduling; the failure is logged
            log.error("schedule %s failed: %s", schedule_id, failure_for_log(exc))
        finally:
            with self._guard:
                if continuous and pause is not None:
                    self._resume_at[schedule_id] = self.clock.now() + pause
                else:
                    self._resume_at.pop(schedule_id, None)
                self._active.discard(schedule_id)
            self._wake.set()

    def run_forever(self, stop: threading.Event, poll_seconds: float = 1.0) -> None:
        """Tick until ``stop`` is set: every ``poll_seconds``, when a run ends, and when a paused
        continuous schedule may resume. First ends the executions that dead processes left RUNNING
        (a schedule that never runs again would show them RUNNING for ever)."""
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
        with self._guard:
            resumes = [(at - self.clock.now()).total_seconds() for at in self._resume_at.values()]
        seconds = max(0.0, min([poll_seconds, *resumes]))
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
