"""The scheduler: starts AUTOMATIC schedules when they are due (``tixtrace backoffice scheduler``).

Each due schedule runs in its own thread; a schedule whose previous execution is still running is
not started again. The feedback's run lock still guards against a second scheduler or a manual run.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime

from sqlalchemy import Engine, func, select

from tixtrace.backoffice.db.tables import executions, schedules
from tixtrace.backoffice.domain.schedules import next_run_at
from tixtrace.backoffice.interfaces.executions import run_schedule
from tixtrace.backoffice.services.interfaces import interface_parameters
from tixtrace.kernel.clock import Clock, as_utc
from tixtrace.kernel.db import unit_of_work
from tixtrace.kernel.errors import TixtraceError

log = logging.getLogger(__name__)


class Scheduler:
    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock
        self._running: dict[int, threading.Thread] = {}

    def due(self, now: datetime) -> list[int]:
        """Ids of the AUTOMATIC schedules due at ``now`` and not running."""
        last_start = (select(executions.c.schedule_id, func.max(executions.c.started_at).label("last"))
                      .group_by(executions.c.schedule_id).subquery())
        with unit_of_work(self.engine, write=False) as conn:
            rows = conn.execute(select(schedules, last_start.c.last).outerjoin(
                last_start, last_start.c.schedule_id == schedules.c.id).where(schedules.c.launch == "AUTOMATIC")).all()
            sticky = {row.interface_id: interface_parameters(conn, row.interface_id).stick_to_the_hour for row in rows}
        ready = []
        for row in rows:
            thread = self._running.get(row.id)
            if thread is not None and thread.is_alive():
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
            thread = threading.Thread(target=self._run, args=(schedule_id,), name=f"schedule-{schedule_id}",
                                      daemon=True)
            self._running[schedule_id] = thread
            thread.start()
            started.append(schedule_id)
        return started

    def _run(self, schedule_id: int) -> None:
        try:
            execution = run_schedule(self.engine, schedule_id, clock=self.clock)
            log.info("schedule %s: execution %s ended %s", schedule_id, execution["id"], execution["status"])
        except TixtraceError as exc:
            log.warning("schedule %s not run: %s", schedule_id, exc.message)

    def run_forever(self, stop: threading.Event, poll_seconds: float = 1.0) -> None:
        while not stop.is_set():
            try:
                self.tick()
            except Exception:  # keep scheduling; the failure is logged
                log.exception("scheduler tick failed")
            stop.wait(poll_seconds)
        for thread in list(self._running.values()):
            thread.join()
