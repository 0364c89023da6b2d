"""The scheduler's continuous mode (issue 7): an AUTOMATIC feedback schedule of frequency 0 runs back
to back while the wallet has new records, pauses when a run found nothing new (no busy loop against a
quiet wallet), and waits longer after a run that ended ERROR. Through both services, over HTTP, on
SQLite and PostgreSQL; pauses are checked on a test clock, never on wall time.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.support.system import FEATURE, System
from tests.support.wallet import START
from tixtrace.backoffice.db.tables import execution_logs, executions
from tixtrace.backoffice.domain.executions import LogLevel
from tixtrace.backoffice.interfaces import runner
from tixtrace.backoffice.interfaces.runner import INTERRUPTED
from tixtrace.backoffice.interfaces.scheduler import Scheduler
from tixtrace.backoffice.services.executions import start_execution
from tixtrace.backoffice.services.interfaces import NewInterface, create_interface
from tixtrace.backoffice.services.schedules import NewSchedule, create_schedule
from tixtrace.kernel.clock import SystemClock, TestClock
from tixtrace.kernel.db import unit_of_work
from tixtrace.kernel.errors import BadInput

ANA, BOB = "ana@example.com", "bob@example.com"


def _continuous_feedback(system: System, interface_id: int | None = None) -> int:
    """A wallet with one injected ticket offered to Bob, and an AUTOMATIC frequency-0 feedback."""
    if interface_id is None:
        ticket = system.ticket(system.contact(ANA))
        interface_id = system.interface(FEATURE)
        assert system.run(system.schedule(interface_id, "TICKETS_INJECTION"))["status"] == "OK"
        assert system.wallet.transfer(ANA, ticket["number"], BOB).status_code == 201
    with unit_of_work(system.engine) as conn:
        row = create_schedule(conn, interface_id, NewSchedule("RETRIEVE_TICKET_STATUS", "AUTOMATIC",
                                                              frequency_minutes=0), datetime.now(UTC), actor="test")
    return int(row.id)


def _runs(system: System, schedule_id: int) -> list[dict[str, Any]]:
    with unit_of_work(system.engine, write=False) as conn:
        return [dict(r) for r in conn.execute(select(executions).where(executions.c.schedule_id == schedule_id)
                                              .order_by(executions.c.id)).mappings()]


def _tick_and_wait(scheduler: Scheduler) -> list[int]:
    started = scheduler.tick()
    for thread in list(scheduler._running.values()):
        thread.join(timeout=60)
    return started


def test_runs_back_to_back_while_there_is_news_then_pauses_when_idle(system: System) -> None:
    """After a run that applied records the schedule is due again at once; after a run that found
    nothing it is not due until the idle pause has passed on the scheduler's clock."""
    feedback = _continuous_feedback(system)
    clock = TestClock(START)
    scheduler = Scheduler(system.engine, clock, idle_pause_seconds=5, error_pause_seconds=60)

    assert _tick_and_wait(scheduler) == [feedback]
    assert _runs(system, feedback)[-1]["records_read"] > 0
    assert scheduler.due(clock.now()) == [feedback]  # news: no pause

    assert _tick_and_wait(scheduler) == [feedback]
    assert _runs(system, feedback)[-1]["records_read"] == 0
    assert scheduler.due(clock.now()) == []  # nothing new: idle pause
    clock.advance(4.9)
    assert scheduler.tick() == []
    clock.advance(0.2)
    assert scheduler.due(clock.now()) == [feedback]
    assert len(_runs(system, feedback)) == 2


def test_of_back_to_back_idle_runs_only_the_latest_is_kept(system: System) -> None:
    """A quiet wallet must not leave one execution per idle run (tens of thousands a day): an idle run
    replaces the idle run just before it; productive runs, and the idle run after one, stay."""
    feedback = _continuous_feedback(system)
    clock = TestClock(START)
    scheduler = Scheduler(system.engine, clock, idle_pause_seconds=1)
    assert _tick_and_wait(scheduler) == [feedback]
    productive = _runs(system, feedback)[-1]
    assert productive["records_read"] > 0
    newest = []
    for _ in range(3):
        clock.advance(2)
        assert _tick_and_wait(scheduler) == [feedback]
        newest.append(_runs(system, feedback)[-1]["id"])
    runs = _runs(system, feedback)
    assert [r["id"] for r in runs] == [productive["id"], newest[-1]]
    assert runs[1]["records_read"] == 0 and runs[1]["status"] == "OK"


def test_waits_the_error_pause_after_a_failed_run(system: System) -> None:
    """A run that ends ERROR (here: the wallet refuses the interface's password) is not repeated back to
    back: the schedule waits the error pause, then tries again."""
    with unit_of_work(system.engine) as conn:
        interface = create_interface(conn, NewInterface("refused", "TIXNGO", f"{system.base_url}/organizer/tickets",
                                                        system.wallet.auth[0], "wrong-key", [], FEATURE),
                                     datetime.now(UTC), actor="test").id
    feedback = _continuous_feedback(system, interface)
    clock = TestClock(START)
    scheduler = Scheduler(system.engine, clock, idle_pause_seconds=1, error_pause_seconds=60)

    assert _tick_and_wait(scheduler) == [feedback]
    assert _runs(system, feedback)[-1]["status"] == "ERROR"
    clock.advance(30)
    assert scheduler.due(clock.now()) == []  # longer than the idle pause
    clock.advance(31)
    assert scheduler.due(clock.now()) == [feedback]


def test_run_forever_starts_the_next_run_as_soon_as_a_productive_one_ends(system: System) -> None:
    """With a poll interval of an hour, the second run still starts right after the first (which
    applied records): the loop wakes when a run ends. The second found nothing, so the loop then
    sleeps: no third run, and only one more tick (no busy loop)."""
    feedback = _continuous_feedback(system)
    scheduler = Scheduler(system.engine, SystemClock(), idle_pause_seconds=3600)
    ticks = 0
    tick = scheduler.tick

    def counted_tick() -> list[int]:
        nonlocal ticks
        ticks += 1
        return tick()

    scheduler.tick = counted_tick  # type: ignore[method-assign]
    stop = threading.Event()
    loop = threading.Thread(target=scheduler.run_forever, args=(stop, 3600.0), daemon=True)
    loop.start()
    try:
        deadline = time.monotonic() + 60
        while not (len(runs := _runs(system, feedback)) >= 2 and runs[1]["status"] != "RUNNING"):
            assert time.monotonic() < deadline, "the second run never started"
            time.sleep(0.05)
        time.sleep(0.5)  # room for a wrong extra run or a spinning loop to show
    finally:
        stop.set()
        loop.join(timeout=30)
    assert not loop.is_alive()
    runs = _runs(system, feedback)
    assert [r["records_read"] > 0 for r in runs] == [True, False]
    assert ticks <= 4


def test_the_scheduler_first_ends_executions_left_running_by_dead_processes(system: System) -> None:
    """An execution left RUNNING by a killed process (no process holds its schedule's run lock) is
    ended ERROR "interrupted" when the scheduler starts, even if its schedule never runs again."""
    interface_id = system.interface(FEATURE)
    manual = system.schedule(interface_id, "TICKETS_INJECTION")
    with unit_of_work(system.engine) as conn:
        orphan = start_execution(conn, manual, START).id
    stop = threading.Event()
    stop.set()  # no tick: only the start-up sweep runs
    Scheduler(system.engine, TestClock(START)).run_forever(stop)
    [run] = _runs(system, manual)
    assert run["id"] == orphan and run["status"] == "ERROR"
    with unit_of_work(system.engine, write=False) as conn:
        assert [line.message for line in conn.execute(select(execution_logs.c.message).where(
            execution_logs.c.execution_id == orphan))] == [INTERRUPTED]


# -- O4: continuous mode keeps only the latest of consecutive executions that ended the same way --------

class Script:
    """Interface functions that end each run as the test says: ``outcomes`` is a list of
    ``(status, message)``; an OK run with no message counts nothing (idle)."""

    def __init__(self, outcomes: list[tuple[str, str | None]]) -> None:
        self.outcomes = iter(outcomes)

    def __call__(self, run: Any) -> None:
        status, message = next(self.outcomes)
        if status == "ERROR":
            raise BadInput(message or "failed")
        if status == "WARNING":
            run.count("parked", 1)
            run.log(LogLevel.WARNING, message or "parked", "1000000000000001")
        elif message:
            run.count("records_read", 1)
            run.log(LogLevel.INFO, message)


def _scripted_schedule(engine: Any, monkeypatch: pytest.MonkeyPatch, outcomes: list[tuple[str, str | None]],
                       frequency_minutes: int = 0) -> int:
    monkeypatch.setitem(runner.FUNCTIONS, "RETRIEVE_TICKET_STATUS", Script(outcomes))
    with unit_of_work(engine) as conn:
        interface = create_interface(conn, NewInterface("scripted", "TIXNGO", "http://127.0.0.1:9/organizer/tickets",
                                                        "org@wc26.example", "key", [], FEATURE), START, actor="test").id
        schedule = NewSchedule("RETRIEVE_TICKET_STATUS", "AUTOMATIC", frequency_minutes=frequency_minutes)
        return int(create_schedule(conn, interface, schedule, START, actor="test").id)


def _statuses(engine: Any, schedule_id: int) -> list[tuple[int, str]]:
    with unit_of_work(engine, write=False) as conn:
        return [(row.id, row.status) for row in conn.execute(
            select(executions.c.id, executions.c.status).where(executions.c.schedule_id == schedule_id)
            .order_by(executions.c.id))]


def test_n_idle_runs_of_a_continuous_schedule_leave_one_row(engine: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 13: "15 rows in 15 s". Ten idle runs, each ended by the runner: one row, the latest."""
    schedule = _scripted_schedule(engine, monkeypatch, [("OK", None)] * 10)
    last = None
    for _ in range(10):
        last = runner.run_schedule(engine, schedule, clock=TestClock(START), launched_by="scheduler")
    assert last is not None and _statuses(engine, schedule) == [(last.id, "OK")]


def test_repeated_warning_and_error_runs_collapse_and_a_different_status_breaks_the_streak(
        engine: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    outcomes = [("ERROR", "wallet down"), ("ERROR", "wallet down"), ("ERROR", "wallet down"),
                ("WARNING", "record 7 parked"), ("WARNING", "record 7 parked"),
                ("ERROR", "wallet down"),  # the same log as before, but not consecutive: kept
                ("ERROR", "wallet refused the key"),  # the same status, another log: kept
                ("OK", "read 1 record"), ("OK", None), ("OK", None),  # productive, then idle twice
                ("OK", "read 1 record"), ("OK", "read 1 record")]  # same counters and log: a repeat too
    schedule = _scripted_schedule(engine, monkeypatch, outcomes)
    ended = [runner.run_schedule(engine, schedule, clock=TestClock(START), launched_by="scheduler")
             for _ in outcomes]
    assert [e.status for e in ended] == [status for status, _ in outcomes]
    kept = [ended[i].id for i in (2, 4, 5, 6, 7, 9, 11)]
    assert [row_id for row_id, _ in _statuses(engine, schedule)] == kept
    with unit_of_work(engine, write=False) as conn:  # the deleted ones took their log with them
        orphans = conn.scalar(select(func.count()).select_from(execution_logs).where(
            execution_logs.c.execution_id.not_in(select(executions.c.id))))
    assert orphans == 0


def test_a_person_s_run_now_is_not_folded_into_the_scheduler_s(engine: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    schedule = _scripted_schedule(engine, monkeypatch, [("OK", None)] * 4)
    ended = [runner.run_schedule(engine, schedule, clock=TestClock(START), launched_by=who)
             for who in ("scheduler", "ana", "ana", "scheduler")]
    assert [row_id for row_id, _ in _statuses(engine, schedule)] == [ended[0].id, ended[2].id, ended[3].id]


def test_a_schedule_that_is_not_continuous_keeps_every_execution(engine: Any,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    schedule = _scripted_schedule(engine, monkeypatch, [("OK", None)] * 3, frequency_minutes=5)
    for _ in range(3):
        runner.run_schedule(engine, schedule, clock=TestClock(START), launched_by="scheduler")
    assert len(_statuses(engine, schedule)) == 3


def test_the_scheduler_s_repeated_error_runs_leave_one_row(system: System) -> None:
    """Through the scheduler and a real wallet that refuses the key: each failed run replaces the
    previous one (same status, same log), and every execution says the scheduler launched it."""
    with unit_of_work(system.engine) as conn:
        interface = create_interface(conn, NewInterface("refused", "TIXNGO", f"{system.base_url}/organizer/tickets",
                                                        system.wallet.auth[0], "wrong-key", [], FEATURE),
                                     datetime.now(UTC), actor="test").id
    feedback = _continuous_feedback(system, interface)
    clock = TestClock(START)
    scheduler = Scheduler(system.engine, clock, idle_pause_seconds=1, error_pause_seconds=1)
    for _ in range(4):
        assert _tick_and_wait(scheduler) == [feedback]
        clock.advance(2)
    [run] = _runs(system, feedback)
    assert run["status"] == "ERROR" and run["launched_by"] == "scheduler"
