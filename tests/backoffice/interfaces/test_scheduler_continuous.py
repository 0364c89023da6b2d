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

from sqlalchemy import select

from tests.support.system import FEATURE, System
from tests.support.wallet import START
from tixtrace.backoffice.db.tables import execution_logs, executions
from tixtrace.backoffice.interfaces.runner import INTERRUPTED
from tixtrace.backoffice.interfaces.scheduler import Scheduler
from tixtrace.backoffice.services.executions import start_execution
from tixtrace.backoffice.services.interfaces import NewInterface, create_interface
from tixtrace.backoffice.services.schedules import NewSchedule, create_schedule
from tixtrace.kernel.clock import SystemClock, TestClock
from tixtrace.kernel.db import unit_of_work

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
