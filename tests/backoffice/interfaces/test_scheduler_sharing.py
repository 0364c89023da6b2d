"""Several schedulers on one PostgreSQL database share the AUTOMATIC schedules (issue 15 item 4, DESIGN
section 9): a schedule never runs twice at once nor twice for one due time, every schedule runs, a
scheduler refused a schedule another one runs records nothing and says nothing, each scheduler takes
its share, and the schedules of a scheduler killed mid-run are taken over by the others (its RUNNING
executions ended ERROR "interrupted"). A real wallet over HTTP with one organizer per interface;
SQLite runs one scheduler per database file (a second one is refused).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select

from tests.backoffice.interfaces.fault_proxy import Fault, FaultProxy
from tests.support.wallet import START
from tixtrace.backoffice.db.database import open_backoffice_database
from tixtrace.backoffice.db.tables import execution_logs, executions
from tixtrace.backoffice.interfaces import runner
from tixtrace.backoffice.interfaces.locks import scheduler_membership
from tixtrace.backoffice.interfaces.runner import INTERRUPTED
from tixtrace.backoffice.interfaces.scheduler import Scheduler
from tixtrace.backoffice.interfaces.tixngo.run import Run
from tixtrace.backoffice.services.interfaces import NewInterface, create_interface
from tixtrace.backoffice.services.schedules import NewSchedule, create_schedule
from tixtrace.kernel.clock import SystemClock, TestClock
from tixtrace.kernel.db import unit_of_work
from tixtrace.kernel.errors import Conflict
from tixtrace.kernel.serving import BackgroundServer
from tixtrace.wallet.app import create_wallet_app
from tixtrace.wallet.db.database import open_wallet_database
from tixtrace.wallet.services.organizers import create_organizer

FEEDBACK = "RETRIEVE_TICKET_STATUS"
PARAMETERS = "TIXNGO_LIFECYCLE_MODE=lifecycle"

postgresql = pytest.mark.parametrize("backend", [pytest.param("postgresql", marks=pytest.mark.postgres)],
                                     indirect=True)


@dataclass
class Shared:
    """One back-office database, one wallet served over HTTP, and continuous feedback schedules, each
    of an interface acting as a wallet organizer of its own (so no two share an organizer lock)."""

    engine: Engine
    url: str
    schedules: list[int]


def _organizers(wallet_url: str, count: int) -> list[tuple[str, str]]:
    engine = open_wallet_database(wallet_url)
    try:
        with unit_of_work(engine) as conn:
            made = [create_organizer(conn, TestClock(START), f"org{i}@wc26.example") for i in range(count)]
        return [(organizer.email, key) for organizer, key in made]
    finally:
        engine.dispose()


def _schedules(engine: Engine, base: str, organizers: list[tuple[str, str]]) -> list[int]:
    ids = []
    now = datetime.now(UTC)
    with unit_of_work(engine) as conn:
        for i, (login, key) in enumerate(organizers):
            interface = create_interface(conn, NewInterface(f"org{i}", "TIXNGO", f"{base}/organizer/tickets", login,
                                                            key, [], PARAMETERS), now, actor="test").id
            ids.append(create_schedule(conn, interface, NewSchedule(FEEDBACK, "AUTOMATIC", frequency_minutes=0),
                                       now, actor="test").id)
    return ids


@pytest.fixture
def wallet_app(database_url: Any) -> Iterator[tuple[Any, str]]:
    url = database_url("wallet")
    engine = open_wallet_database(url)
    app = create_wallet_app(engine, clock=TestClock(START), sandbox=True)
    yield app, url
    engine.dispose()


@pytest.fixture
def shared(database_url: Any, wallet_app: tuple[Any, str]) -> Iterator[Shared]:
    app, wallet_url = wallet_app
    url = database_url("backoffice")
    engine = open_backoffice_database(url)
    with BackgroundServer(app) as base:
        yield Shared(engine, url, _schedules(engine, base, _organizers(wallet_url, 6)))
    engine.dispose()


@dataclass(frozen=True)
class Interval:
    schedule: int
    scheduler: str
    start: datetime
    end: datetime


class NamedClock(SystemClock):
    """The system clock, named after the scheduler that owns it: a run's ``Run.clock`` says which
    scheduler runs it."""

    def __init__(self, name: str) -> None:
        self.name = name


def _record_intervals(monkeypatch: pytest.MonkeyPatch, into: list[Interval]) -> None:
    """Wrap the real feedback so that each run notes when it ran and for which scheduler, and lasts
    at least 50 ms (room for an overlap to show)."""
    real = runner.FUNCTIONS[FEEDBACK]
    guard = threading.Lock()

    def feedback(run: Run) -> None:
        start = datetime.now(UTC)
        time.sleep(0.05)
        real(run)
        with guard:
            into.append(Interval(run.schedule.id, getattr(run.clock, "name", "?"), start, datetime.now(UTC)))

    monkeypatch.setitem(runner.FUNCTIONS, FEEDBACK, feedback)


def _overlaps(intervals: list[Interval]) -> list[tuple[Interval, Interval]]:
    by_schedule: dict[int, list[Interval]] = defaultdict(list)
    for interval in intervals:
        by_schedule[interval.schedule].append(interval)
    found = []
    for runs in by_schedule.values():
        runs.sort(key=lambda r: r.start)
        found += [(a, b) for a, b in zip(runs, runs[1:], strict=False) if b.start < a.end]
    return found


def _executions(engine: Engine) -> list[dict[str, Any]]:
    with unit_of_work(engine, write=False) as conn:
        return [dict(r) for r in conn.execute(select(executions).order_by(executions.c.id)).mappings()]


@postgresql
def test_three_schedulers_share_the_schedules_without_overlap_or_double_runs(
        shared: Shared, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """Three schedulers (threads of one process, each with its own connections and membership) run six
    continuous feedbacks of six organizers (no tickets: every run finds nothing new) for a few
    seconds: no run of a schedule overlaps another of it; after a run, the next run of that schedule,
    by whichever scheduler, waits the idle pause (without the look under the lock, and with pauses
    kept per scheduler, a second scheduler ran it again at once); every schedule and every scheduler
    ran; no execution ended ERROR; and no scheduler logged a refusal."""
    caplog.set_level(logging.INFO, logger="tixtrace.backoffice.interfaces.scheduler")
    intervals: list[Interval] = []
    _record_intervals(monkeypatch, intervals)
    idle_pause = 0.3
    stop = threading.Event()
    names = ["a", "b", "c"]
    loops = [threading.Thread(target=Scheduler(shared.engine, NamedClock(name), idle_pause_seconds=idle_pause)
                              .run_forever, args=(stop, 0.1), daemon=True, name=f"scheduler-{name}")
             for name in names]
    for loop in loops:
        loop.start()
    time.sleep(6)
    stop.set()
    for loop in loops:
        loop.join(timeout=60)
    assert not any(loop.is_alive() for loop in loops)

    assert _overlaps(intervals) == []
    by_schedule: dict[int, list[Interval]] = defaultdict(list)
    for interval in sorted(intervals, key=lambda r: r.start):
        by_schedule[interval.schedule].append(interval)
    early = [(a, b) for runs in by_schedule.values() for a, b in zip(runs, runs[1:], strict=False)
             if b.start < a.end + timedelta(seconds=idle_pause)]
    assert early == [], f"{len(early)} runs started before the idle pause after the previous run ended"
    assert set(by_schedule) == set(shared.schedules)
    assert min(len(runs) for runs in by_schedule.values()) >= 3, {k: len(v) for k, v in by_schedule.items()}
    per_scheduler = Counter(interval.scheduler for interval in intervals)
    assert set(per_scheduler) == set(names), per_scheduler
    rows = _executions(shared.engine)
    assert [r["id"] for r in rows if r["status"] != "OK" or r["records_read"]] == []  # idle runs only
    refusals = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert refusals == []


@postgresql
def test_each_scheduler_runs_at_most_its_share_at_once(shared: Shared) -> None:
    """With two live schedulers and six schedules, a scheduler starts at most three at once (the first
    one to look does not take them all: the other takes the other three); alone, it may take all six."""
    first, second = Scheduler(shared.engine, SystemClock()), Scheduler(shared.engine, SystemClock())
    with scheduler_membership(shared.engine) as members_one:
        first._members = members_one
        first.due(datetime.now(UTC))
        assert first.share() == 6
        with scheduler_membership(shared.engine) as members_two:
            second._members = members_two
            assert first.share() == 3
            started = first.tick()
            assert len(started) == 3
            for thread in first._running.values():
                thread.join(timeout=60)
            second_started = second.tick()
            assert sorted(started + second_started) == sorted(shared.schedules)
            for thread in second._running.values():
                thread.join(timeout=60)
        assert first.share() == 6
    rows = _executions(shared.engine)
    assert sorted(r["schedule_id"] for r in rows) == sorted(shared.schedules)


def _scheduler_process(url: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "tixtrace.cli", "backoffice", "scheduler", "--database-url", url,
                             "--poll-seconds", "0.2"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env={**os.environ})


def _wait(what: str, condition: Any, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting: {what}"
        time.sleep(0.1)


@postgresql
def test_the_schedules_of_a_killed_scheduler_are_taken_over(database_url: Any, wallet_app: tuple[Any, str]) -> None:
    """Scheduler A (a process) runs the six schedules alone, its diff calls held by a proxy; B starts
    and stays off them (their run locks are held); A is SIGKILLed mid-run: B ends A's six executions
    ERROR ("interrupted") and runs every schedule itself, one run of a schedule at a time."""
    app, wallet_url = wallet_app
    url = database_url("backoffice")
    engine = open_backoffice_database(url)
    with BackgroundServer(app) as base, FaultProxy(base, hold_seconds=120) as proxy:
        schedules = _schedules(engine, proxy.url, _organizers(wallet_url, 6))
        proxy.plan("diff", *[Fault.hold() for _ in schedules])
        a = _scheduler_process(url)
        b: subprocess.Popen[bytes] | None = None
        try:
            _wait("A runs the six schedules",
                  lambda: len([r for r in _executions(engine) if r["status"] == "RUNNING"]) == 6)
            time.sleep(1)  # its six diff calls reach the proxy, which holds them
            a_runs = {r["id"] for r in _executions(engine)}
            b = _scheduler_process(url)
            time.sleep(2)  # B looks at the schedules several times meanwhile
            assert len(_executions(engine)) == 6, "B started a schedule A runs"
            a.send_signal(signal.SIGKILL)
            a.wait(timeout=30)
            killed_at = datetime.now(UTC)

            def taken_over() -> bool:
                rows = _executions(engine)
                later = {r["schedule_id"] for r in rows if r["status"] == "OK" and r["started_at"] is not None
                         and r["started_at"].replace(tzinfo=UTC) >= killed_at - timedelta(seconds=1)}
                return later == set(schedules) and not any(r["status"] == "RUNNING" and r["id"] in a_runs for r in rows)

            _wait("B takes the six schedules over", taken_over)
        finally:
            for process in (a, b):
                if process is not None and process.poll() is None:
                    process.terminate()
                    process.wait(timeout=60)
        rows = _executions(engine)
        first_six = [r for r in rows if r["id"] in a_runs]
        assert {r["status"] for r in first_six} == {"ERROR"}
        with unit_of_work(engine, write=False) as conn:
            messages = set(conn.scalars(select(execution_logs.c.message).where(
                execution_logs.c.execution_id.in_([r["id"] for r in first_six]))))
        assert INTERRUPTED in messages
        by_schedule: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for row in rows:
            by_schedule[row["schedule_id"]].append(row)
        for runs in by_schedule.values():  # the executions of a schedule never overlap
            for previous, following in zip(runs, runs[1:], strict=False):
                assert previous["ended_at"] is not None and following["started_at"] >= previous["ended_at"]
    engine.dispose()


def test_on_sqlite_a_second_scheduler_of_one_database_is_refused(database_url: Any, backend: str) -> None:
    """SQLite: one scheduler per database file; a second one is refused at start, and may start once
    the first has stopped."""
    if backend != "sqlite":
        pytest.skip("PostgreSQL shares the schedules between schedulers")
    engine = open_backoffice_database(database_url("backoffice"))
    stop = threading.Event()
    first = threading.Thread(target=Scheduler(engine, SystemClock()).run_forever, args=(stop, 0.1), daemon=True)
    first.start()
    try:
        time.sleep(0.5)
        with pytest.raises(Conflict) as refused:
            Scheduler(engine, SystemClock()).run_forever(threading.Event(), 0.1)
        assert refused.value.code == "SCHEDULER_ALREADY_RUNNING"
    finally:
        stop.set()
        first.join(timeout=30)
    again = threading.Event()
    again.set()
    Scheduler(engine, SystemClock()).run_forever(again, 0.1)  # the first one has stopped: accepted
    engine.dispose()
