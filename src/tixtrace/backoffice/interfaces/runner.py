"""The runner: one execution of a schedule, the execution record around an interface function.

``start_run`` takes the run locks and starts an execution (RUNNING, committed at once so it is
visible while it runs) before anything is answered; ``StartedRun.execute`` (``run_schedule`` does both)
calls the function with a ``Run`` context (the contract in ``run.py``), and ends the execution OK,
WARNING or ERROR. Functions commit their work page by page together with their counters and log
lines (``Run.flush``), so a crash loses nothing that was reported. An execution that ends ERROR
notifies the interface's notification e-mails by SMTP, after the commit, when an SMTP server is
configured.

Every execution runs under run locks (``run_locks_of``) that die with its process: a start that
finds one held is refused, and an execution of the schedule still RUNNING when its lock is free was
killed with its process, so the next run of that schedule ends it ERROR ("interrupted").

Continuous mode (O4): in the transaction that ends an execution of a continuous schedule, the one
before it is deleted if it ended the same way (``services.executions.collapse_repeat``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import Connection, Engine, select, update

from tixtrace.backoffice.db.tables import executions
from tixtrace.backoffice.domain.errors import BackofficeCode
from tixtrace.backoffice.domain.executions import ExecutionStatus, LogLevel, LogLine
from tixtrace.backoffice.domain.parameters import ParsedParameters
from tixtrace.backoffice.interfaces import notifications
from tixtrace.backoffice.interfaces.locks import organizer_lock_name, run_locks
from tixtrace.backoffice.interfaces.tixngo import feedback, injection, push
from tixtrace.backoffice.interfaces.tixngo.client import CallDump, TixngoClient
from tixtrace.backoffice.interfaces.tixngo.run import Function, Run
from tixtrace.backoffice.services import audit
from tixtrace.backoffice.services.executions import (
    ExecutionRecord,
    append_log,
    collapse_repeat,
    finish_execution,
    get_execution,
    start_execution,
)
from tixtrace.backoffice.services.interfaces import (
    InterfaceView,
    get_interface,
    interface_credentials,
    interface_parameters,
)
from tixtrace.backoffice.services.schedule_state import mark_caught_up
from tixtrace.backoffice.services.schedules import (
    Launch,
    ScheduleFunction,
    ScheduleView,
    delete_schedule,
    get_schedule,
    reset_schedule_feed,
)
from tixtrace.kernel.clock import Clock
from tixtrace.kernel.db import unit_of_work
from tixtrace.kernel.errors import BadInput, Conflict, TixtraceError, describe, failure_for_log

log = logging.getLogger(__name__)

#: the function each ``ScheduleFunction`` runs
FUNCTIONS: dict[str, Function] = {
    ScheduleFunction.TICKETS_INJECTION.value: injection.run,
    ScheduleFunction.RETRIEVE_TICKET_STATUS.value: feedback.run,
    ScheduleFunction.PUSH_CANCELLED.value: push.run_cancelled,
    ScheduleFunction.PUSH_CONTROLLED.value: push.run_controlled,
}


def run_locks_of(schedule: ScheduleView, credentials: Any) -> list[tuple[str, str]]:
    """The run locks an execution of ``schedule`` holds, as ``(name, what)`` pairs, in taking order.

    - its function group, per wallet organizer (interface URL + login): one feedback at a time
      (DESIGN section 6), and one injection or push at a time, since they write to the wallet from
      the same back-office tickets (two injections would send the same tickets twice; a push racing
      an injection could delete or control a ticket before the injection that creates it lands);
    - its schedule: the one lock that proves no live process runs this schedule whatever an operator
      edits meanwhile (URL, login), so that RUNNING executions of the schedule found under it are dead.
    """
    organizer = organizer_lock_name(credentials.url, credentials.login)
    if schedule.function == ScheduleFunction.RETRIEVE_TICKET_STATUS.value:
        group = (f"feedback:{organizer}", f"the feedback of wallet organizer {credentials.login!r}")
    else:
        group = (f"outbound:{organizer}", f"an injection or push of wallet organizer {credentials.login!r}")
    return [group, _schedule_lock(schedule.id, schedule.function)]


def schedule_lock_name(schedule_id: int) -> str:
    """The name of a schedule's own run lock (held by whichever process runs it)."""
    return f"schedule:{schedule_id}"


def _schedule_lock(schedule_id: int, function: str) -> tuple[str, str]:
    return schedule_lock_name(schedule_id), f"schedule {schedule_id} ({function})"


@dataclass
class StartedRun:
    """An execution that has started: its run locks are held and its row is RUNNING (committed), but
    its function has not run yet. ``execute`` runs it to its end and releases the locks; it may be
    called on another thread (``run?wait=false``, the screens' Run now): the locks belong to the
    process, not to the thread that took them."""

    engine: Engine
    clock: Clock
    execution: ExecutionRecord
    schedule: ScheduleView
    interface: InterfaceView
    parameters: ParsedParameters
    credentials: Any
    transport: httpx.BaseTransport | None
    client_options: dict[str, Any] | None
    upload: list[Any] | None
    locks: ExitStack

    def execute(self) -> ExecutionRecord:
        with self.locks:
            return _execute(self)

    def execute_in_background(self) -> threading.Thread:
        """``execute`` on a thread of its own (Run now without waiting). The start (locks, RUNNING row)
        happened in the caller, so a refusal was already answered; a failure to even end the execution
        is logged (the next run of the schedule, or the start-up sweep, then ends it ERROR)."""
        def execute() -> None:
            try:
                self.execute()
            except Exception as exc:  # nobody waits for this thread: log, never lose it silently
                log.error("execution %s in the background failed: %s", self.execution.id, failure_for_log(exc))

        thread = threading.Thread(target=execute, daemon=True, name=f"run-now-{self.schedule.id}-{self.execution.id}")
        thread.start()
        return thread


def start_run(engine: Engine, schedule_id: int, *, clock: Clock, launched_by: str | None = None,
              transport: httpx.BaseTransport | None = None, client_options: dict[str, Any] | None = None,
              upload: list[Any] | None = None, still_due: Callable[[], bool] | None = None) -> StartedRun:
    """Take the run locks and record the execution RUNNING; returns it ready to ``execute``. Raises
    Conflict RUN_ALREADY_ACTIVE (nothing is recorded then) if the same schedule is running, if the
    feedback of the same wallet organizer is running (feedback), or if an injection or push of the
    same wallet organizer is running (injection, pushes): a caller that answers before the run ends
    (202) therefore knows the start was accepted. Executions of this schedule that a killed process
    left RUNNING are ended ERROR first. ``launched_by`` (O2): the user's name, ``scheduler`` or
    ``cli``. ``upload``: the records of a "file to upload" (feedback only), processed as if they came
    from the wallet. ``still_due`` (the scheduler's, `claim_run`): asked once the locks are held.
    """
    with unit_of_work(engine, write=False) as conn:
        schedule = get_schedule(conn, schedule_id)
        interface = get_interface(conn, schedule.interface_id)
        parameters = interface_parameters(conn, schedule.interface_id)
        credentials = interface_credentials(conn, schedule.interface_id)
    if upload is not None and schedule.function != ScheduleFunction.RETRIEVE_TICKET_STATUS.value:
        raise BadInput("a file of records can only be processed by a RETRIEVE_TICKET_STATUS schedule",
                       code=BackofficeCode.UPLOAD_NOT_FEEDBACK, details={"scheduleId": schedule_id})
    with ExitStack() as locks:
        locks.enter_context(run_locks(engine, run_locks_of(schedule, credentials)))
        if still_due is not None and not still_due():
            raise _NoLongerDue
        _close_interrupted(engine, schedule_id, clock)
        with unit_of_work(engine) as conn:
            execution = start_execution(conn, schedule.id, clock.now(), launched_by=launched_by)
            _audit_launch(conn, clock, schedule.id, execution.id, launched_by, upload)
        return StartedRun(engine, clock, execution, schedule, interface, parameters, credentials, transport,
                          client_options, upload, locks.pop_all())


class _NoLongerDue(Exception):
    """`claim_run`: under the run locks, the schedule turned out no longer due."""


def claim_run(engine: Engine, schedule_id: int, *, clock: Clock, launched_by: str,
              still_due: Callable[[], bool]) -> StartedRun | None:
    """A scheduler's start: `start_run` if the schedule is free and still due, else None, recording
    nothing. Another process running the schedule (its run lock, or its organizer's, is held) is
    None; so is a schedule that ``still_due``, asked once the locks are held, says is no longer due
    (another scheduler ran it between this one's look at the schedules and its taking the lock: without
    this second look, schedulers sharing a database would run it twice in a row)."""
    try:
        return start_run(engine, schedule_id, clock=clock, launched_by=launched_by, still_due=still_due)
    except _NoLongerDue:
        return None
    except Conflict as exc:
        if exc.code != BackofficeCode.RUN_ALREADY_ACTIVE:
            raise
        return None


def _audit_launch(conn: Connection, clock: Clock, schedule_id: int, execution_id: int, launched_by: str | None,
                  upload: list[Any] | None) -> None:
    """O2: the launch by a person (or ``cli``), in the transaction that records the execution, so a
    refused start leaves no entry. The scheduler's own starts are not audited: one entry per automatic
    run would bury the changes people make (its executions say ``launchedBy: scheduler``)."""
    if launched_by is None or launched_by == audit.SCHEDULER:
        return
    changes: dict[str, list[Any]] = {"executionId": [None, execution_id]}
    if upload is not None:
        changes["uploadedRecords"] = [None, len(upload)]
    audit.record(conn, actor=launched_by, action=audit.Action.RUN, object_type=audit.ObjectType.SCHEDULE,
                 object_id=schedule_id, changes=changes, at=clock.now())


def run_schedule(engine: Engine, schedule_id: int, *, clock: Clock, launched_by: str | None = None,
                 transport: httpx.BaseTransport | None = None, client_options: dict[str, Any] | None = None,
                 upload: list[Any] | None = None) -> ExecutionRecord:
    """One execution of the schedule, start (``start_run``, same refusals) to end; returns the
    execution row."""
    return start_run(engine, schedule_id, clock=clock, launched_by=launched_by, transport=transport,
                     client_options=client_options, upload=upload).execute()


def reset_feed(engine: Engine, schedule_id: int, *, clock: Clock, actor: str) -> ScheduleView:
    """O1: reset a feedback schedule's feed (``services.schedules.reset_schedule_feed``) under the
    schedule's run lock, so that a run cannot save its old position over the reset: while the schedule
    runs, 409 RUN_ALREADY_ACTIVE and nothing changes (try again when it ends). Returns the schedule."""
    with unit_of_work(engine, write=False) as conn:
        schedule = get_schedule(conn, schedule_id)
    with run_locks(engine, [_schedule_lock(schedule_id, schedule.function)]), unit_of_work(engine) as conn:
        return reset_schedule_feed(conn, schedule_id, clock.now(), actor=actor)


def remove_schedule(engine: Engine, schedule_id: int, *, clock: Clock, actor: str) -> ScheduleView:
    """O1: delete a schedule (``services.schedules.delete_schedule``) under its run lock: while it
    runs, 409 SCHEDULE_RUNNING and nothing changes. Executions a dead process left RUNNING are ended
    first (ERROR, "interrupted"), so no deleted schedule shows a run that never ends. A run that read
    the schedule just before the delete and takes the lock after it finds it gone (404) when it
    records its execution. Returns the deleted schedule."""
    with unit_of_work(engine, write=False) as conn:
        schedule = get_schedule(conn, schedule_id)
    try:
        with run_locks(engine, [_schedule_lock(schedule_id, schedule.function)]):
            _close_interrupted(engine, schedule_id, clock)
            with unit_of_work(engine) as conn:
                return delete_schedule(conn, schedule_id, clock.now(), actor=actor)
    except Conflict as exc:
        if exc.code != BackofficeCode.RUN_ALREADY_ACTIVE:
            raise
        raise Conflict(f"schedule {schedule_id} is running; it can be deleted when the run ends (or pause it: "
                       "active=false)", code=BackofficeCode.SCHEDULE_RUNNING,
                       details={"scheduleId": schedule_id}) from None


#: the log line of an execution ended by the next run because its process died
INTERRUPTED = ("interrupted: its process ended before it did; the pages it committed stand, "
               "the next run went on")


def close_interrupted_executions(engine: Engine, clock: Clock, schedule_ids: Collection[int] | None = None
                                 ) -> list[int]:
    """End ERROR ("interrupted") every RUNNING execution (of ``schedule_ids``, or of every schedule)
    whose schedule's run lock is free, i.e. whose process is dead; returns their ids. A sweep for
    start-up (scheduler, server), and for a scheduler that sees another one's run left RUNNING: a
    schedule that is not run again soon would otherwise show its killed execution RUNNING. A live one
    is skipped."""
    query = select(executions.c.schedule_id, executions.c.function).distinct().where(
        executions.c.status == ExecutionStatus.RUNNING.value)
    if schedule_ids is not None:
        query = query.where(executions.c.schedule_id.in_(sorted(schedule_ids)))
    with unit_of_work(engine, write=False) as conn:
        running = conn.execute(query).all()
    closed: list[int] = []
    for schedule_id, function in sorted(running):
        try:
            with run_locks(engine, [_schedule_lock(schedule_id, function)]):
                closed += _close_interrupted(engine, schedule_id, clock)
        except Conflict:
            continue  # its process is alive
    return closed


def _close_interrupted(engine: Engine, schedule_id: int, clock: Clock) -> list[int]:
    """Under the schedule's run lock no other execution of the schedule can be alive (each runs
    under that lock from before it is recorded until it has ended): one still RUNNING was killed
    with its process. Its committed pages stand; it is ended ERROR so nobody waits for it."""
    with unit_of_work(engine) as conn:
        stale = list(conn.scalars(select(executions.c.id).where(
            executions.c.schedule_id == schedule_id, executions.c.status == ExecutionStatus.RUNNING.value)))
        for execution_id in stale:
            append_log(conn, execution_id, [LogLine(LogLevel.ERROR, INTERRUPTED)], clock.now())
            finish_execution(conn, execution_id, ExecutionStatus.ERROR, clock.now())
    return stale


def is_continuous(schedule: ScheduleView) -> bool:
    """Continuous mode: an AUTOMATIC schedule of frequency 0, run again as soon as a run ends."""
    return schedule.launch == Launch.AUTOMATIC.value and schedule.frequency_minutes <= 0


def _execute(started: StartedRun) -> ExecutionRecord:
    engine, clock, schedule, execution = started.engine, started.clock, started.schedule, started.execution
    limit = started.parameters.max_length_dumped_calls_in_kbs * 1024
    dump = CallDump(limit) if limit else None
    credentials = started.credentials
    client = TixngoClient(credentials.url, credentials.login, credentials.password, transport=started.transport,
                          dump=dump, **(started.client_options or {}))
    run = Run(engine, clock, execution.id, schedule, started.interface, started.parameters, client, dump,
              started.upload)
    try:
        FUNCTIONS[schedule.function](run)
    except TixtraceError as exc:
        run.status = ExecutionStatus.ERROR
        run.log(LogLevel.ERROR, exc.message)
    except Exception as exc:  # an unexpected failure still ends the execution, with its type
        log.error("execution %s failed: %s", execution.id, failure_for_log(exc))
        run.status = ExecutionStatus.ERROR
        run.log(LogLevel.ERROR, f"unexpected error: {describe(exc)}")
    finally:
        client.close()
    run.close_log()
    try:
        with unit_of_work(engine) as conn:
            run.flush(conn)
            if dump is not None:
                conn.execute(update(executions).where(executions.c.id == run.execution_id)
                             .values(dumped_calls=dump.text()))
            finished = finish_execution(conn, run.execution_id, run.status, clock.now())
            if run.caught_up:
                mark_caught_up(conn, schedule.id, execution.started_at)
            if is_continuous(schedule):
                collapse_repeat(conn, finished)  # O4, in the transaction that ends it
    except Exception as exc:  # the report itself could not be written: still never leave it RUNNING
        log.error("execution %s: could not write its report: %s", execution.id, failure_for_log(exc))
        run.counts, run.lines, run.status = {}, [], ExecutionStatus.ERROR
        run.log(LogLevel.ERROR, f"the execution's report could not be written: {describe(exc)}")
        with unit_of_work(engine) as conn:
            run.flush(conn)
            finished = finish_execution(conn, run.execution_id, run.status, clock.now())
    if run.status is ExecutionStatus.ERROR:
        with unit_of_work(engine, write=False) as conn:
            view = get_execution(conn, run.execution_id)
        notifications.notify_error(started.interface, view)
    return finished
