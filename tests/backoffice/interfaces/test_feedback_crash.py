"""Crash safety of the feedback (DESIGN section 6 and invariants 3 and 6).

- a second run with nothing new reads nothing and changes nothing;
- a run killed with SIGKILL at any point (in a separate process, pages of one or two records so that
  many pages are committed before the kill) loses nothing and duplicates nothing: running again
  gives the state of one uninterrupted run into a fresh back office; and a killed run never blocks
  the next one (the lock goes with the process);
- two runs started together: one runs, the other is refused at once with RUN_ALREADY_ACTIVE.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

from tests.support.crash import Gate, Scenario
from tests.support.export import export
from tests.support.system import System
from tixtrace.backoffice.db.database import open_backoffice_database
from tixtrace.backoffice.db.tables import executions
from tixtrace.backoffice.interfaces.locks import organizer_lock_name, run_locks
from tixtrace.backoffice.interfaces.runner import run_schedule
from tixtrace.kernel.clock import SystemClock
from tixtrace.kernel.db import unit_of_work
from tixtrace.kernel.errors import Conflict

pytestmark = pytest.mark.slow  # a slow tier (SIGKILL): `make test-fast` leaves it out

#: what the subprocess runs: one execution of a schedule, against the live wallet its interface names
RUN_ONE = """
import sys
from tixtrace.backoffice.interfaces.runner import run_schedule
from tixtrace.kernel.clock import SystemClock
from tixtrace.kernel.db import make_engine
engine = make_engine(sys.argv[1])
print("ready", flush=True)
execution = run_schedule(engine, int(sys.argv[2]), clock=SystemClock())
print(execution.status, flush=True)
"""

#: holds the run lock of a schedule's wallet organizer until killed
HOLD_LOCK = """
import sys, time
from tixtrace.backoffice.interfaces.locks import run_locks
from tixtrace.kernel.db import make_engine
engine = make_engine(sys.argv[1])
with run_locks(engine, [(sys.argv[2], "a test")]):
    print("locked", flush=True)
    time.sleep(600)
"""


@pytest.fixture
def reference(system: System, tmp_path: Path) -> Iterator[System]:
    """A second, fresh back office (SQLite) on the same wallet."""
    office = System(open_backoffice_database(f"sqlite:///{tmp_path / 'reference.db'}"), system.wallet, system.base_url)
    yield office
    office.engine.dispose()


def executions_of(office: System, schedule_id: int) -> list[dict[str, Any]]:
    with unit_of_work(office.engine, write=False) as conn:
        return [dict(r) for r in conn.execute(select(executions).where(executions.c.schedule_id == schedule_id)
                                              .order_by(executions.c.id)).mappings()]


# -- (a) run twice ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("batch_size", [1, 1000])
def test_a_second_run_with_nothing_new_changes_nothing(system: System, batch_size: int) -> None:
    scenario = Scenario(system, 6, batch_size=batch_size)
    scenario.activity(random.Random(7), 30)
    first = scenario.run()
    assert first["records_read"] > 0
    before = export(system.engine)
    second = scenario.run()
    assert second["records_read"] == 0
    counters = ("tickets_updated", "contacts_created", "contacts_completed", "contacts_removed", "lines_created",
                "lines_updated", "skipped", "failed", "parked")
    assert {name: second[name] for name in counters} == dict.fromkeys(counters, 0)
    assert export(system.engine) == before


# -- (b) SIGKILL -------------------------------------------------------------------------------------------

def spawn(script: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", script, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=Path(__file__).resolve().parents[3])


def wait_for_line(process: subprocess.Popen[str], expected: str, timeout: float = 30) -> None:
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    line = process.stdout.readline()
    while line.strip() != expected:
        if not line and process.poll() is not None:
            raise AssertionError(f"subprocess ended ({process.returncode}): {process.stderr.read()}")  # type: ignore[union-attr]
        if time.monotonic() > deadline:
            raise AssertionError(f"no {expected!r} from the subprocess")
        line = process.stdout.readline()


def wait_until_run_locks_are_free(office: System, timeout: float = 30) -> None:
    """Return once no session holds a run lock in ``office``'s database.

    A killed process's file lock (SQLite) goes with the process, but PostgreSQL frees a session advisory
    lock only when it notices that the backend's client is gone, a moment after the kill; a run started
    in that moment is refused (RUN_ALREADY_ACTIVE). So wait for the lock itself, never a fixed time.
    """
    if office.engine.dialect.name != "postgresql":
        return
    deadline = time.monotonic() + timeout
    while True:
        with office.engine.connect() as conn:
            held = conn.scalar(text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
                " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"))
        if not held:
            return
        assert time.monotonic() < deadline, f"{held} run locks still held {timeout} s after the kill"
        time.sleep(0.01)


def test_a_killed_run_loses_nothing_and_duplicates_nothing(system: System, reference: System) -> None:
    rng = random.Random(20260611)
    scenario = Scenario(system, 12, batch_size=1)
    url = str(system.engine.url.render_as_string(hide_password=False))
    schedule = scenario.feedback()
    killed_mid_run = 0
    outcomes: list[tuple[Any, ...]] = []
    for attempt in range(10):
        scenario.activity(rng, 40)
        known = {e["id"] for e in executions_of(system, schedule)}
        process = spawn(RUN_ONE, url, str(schedule))
        try:
            wait_for_line(process, "ready")
            if attempt % 5 == 4:  # a blind kill: anywhere from the start-up on
                time.sleep(rng.uniform(0.05, 1.0))
            else:  # once the run has committed a random number of pages, at a random point of the next
                target = rng.randint(1, 30)
                deadline = time.monotonic() + 30
                while process.poll() is None and time.monotonic() < deadline:
                    mine = [e for e in executions_of(system, schedule) if e["id"] not in known]
                    if mine and mine[0]["records_read"] >= target:
                        break
                    time.sleep(0.002)
                time.sleep(rng.uniform(0.0, 0.02))
            process.send_signal(signal.SIGKILL)
        finally:
            if process.poll() is None:
                os.kill(process.pid, signal.SIGKILL)
            out, err = process.communicate(timeout=30)
        wait_until_run_locks_are_free(system)
        mine = [e for e in executions_of(system, schedule) if e["id"] not in known]
        if not mine:  # killed before it started its execution (not refused: the lock was free)
            assert process.returncode == -signal.SIGKILL, (process.returncode, out, err)
            outcomes.append(("killed before starting", 0))
            continue
        [execution] = mine
        if execution["status"] == "RUNNING":  # killed inside the run
            assert process.returncode == -signal.SIGKILL, (process.returncode, out, err)
            killed_mid_run += execution["records_read"] > 0
            outcomes.append(("killed", execution["records_read"]))
        else:  # the run was over before the kill landed
            assert execution["status"] == "OK", (execution, out, err)
            seconds = (execution["ended_at"] - execution["started_at"]).total_seconds()
            outcomes.append(("finished", execution["records_read"], round(seconds, 2)))
    print(f"kill outcomes (outcome, records committed by that run): {outcomes}")
    assert killed_mid_run >= 3, f"too few kills landed after a page was committed: {outcomes}"

    final = scenario.run()  # in-process, to completion: the killed runs left no lock behind
    assert final["status"] == "OK"
    assert scenario.run()["records_read"] == 0

    scenario.add_office("reference", reference)
    uninterrupted = scenario.run("reference")
    assert uninterrupted["records_read"] > 0
    assert export(system.engine) == export(reference.engine), outcomes


def test_a_killed_lock_holder_never_blocks_the_next_run(system: System) -> None:
    scenario = Scenario(system, 2)
    assert scenario.wallet.transfer("ana@example.com", scenario.numbers[0], "dan@example.com").status_code == 201
    url = str(system.engine.url.render_as_string(hide_password=False))
    name = "feedback:" + organizer_lock_name(f"{system.base_url}/organizer/tickets", system.wallet.auth[0])
    holder = spawn(HOLD_LOCK, url, name)
    try:
        wait_for_line(holder, "locked")
        with pytest.raises(Conflict) as refused:
            run_schedule(system.engine, scenario.feedback(), clock=SystemClock())
        assert refused.value.code == "RUN_ALREADY_ACTIVE"
        assert executions_of(system, scenario.feedback()) == [], "a refused start records nothing"
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.communicate(timeout=30)
    deadline = time.monotonic() + 10
    while True:  # the OS (flock) or PostgreSQL (session advisory lock) frees it with the process
        try:
            execution = scenario.run()
            break
        except Conflict:
            assert time.monotonic() < deadline, "the lock of a killed process was never released"
            time.sleep(0.05)
    assert execution["records_read"] > 0


# -- (c) two runs together -------------------------------------------------------------------------------

@pytest.mark.parametrize("second", ["same schedule", "another interface of the same organizer"])
def test_two_runs_started_together_one_runs_the_other_is_refused(system: System, second: str) -> None:
    scenario = Scenario(system, 3)
    assert scenario.wallet.transfer("ana@example.com", scenario.numbers[0], "dan@example.com").status_code == 201
    first_schedule = scenario.feedback()
    if second == "same schedule":
        other = first_schedule
    else:
        other = system.schedule(system.interface(name="tixngo bis"), "RETRIEVE_TICKET_STATUS")
    gate = Gate()
    results: dict[str, Any] = {}

    def first() -> None:
        try:
            results["first"] = asdict(run_schedule(system.engine, first_schedule, clock=SystemClock(), transport=gate))
        except BaseException as exc:  # reported below
            results["first"] = exc

    thread = threading.Thread(target=first)
    thread.start()
    try:
        assert gate.entered.wait(30), "the first run never called the wallet"
        started = time.monotonic()
        with pytest.raises(Conflict) as refused:
            run_schedule(system.engine, other, clock=SystemClock())
        assert time.monotonic() - started < 5, "refused at once, not after waiting"
        assert refused.value.code == "RUN_ALREADY_ACTIVE"
        assert "already running" in refused.value.message
    finally:
        gate.release.set()
        thread.join(30)
    execution = results["first"]
    assert not isinstance(execution, BaseException), execution
    assert execution["status"] == "OK" and execution["records_read"] > 0
    with unit_of_work(system.engine, write=False) as conn:
        count = conn.scalar(select(func.count()).select_from(executions).where(
            executions.c.schedule_id.in_([first_schedule, other])))
    assert count == 1, "the refused start recorded nothing"


def test_a_thread_holding_the_run_lock_refuses_a_run(system: System) -> None:
    scenario = Scenario(system, 1)
    name = "feedback:" + organizer_lock_name(f"{system.base_url}/organizer/tickets", system.wallet.auth[0])
    with run_locks(system.engine, [(name, "a test")]):
        with pytest.raises(Conflict) as refused:
            scenario.run()
        assert refused.value.code == "RUN_ALREADY_ACTIVE"
    assert scenario.run()["records_read"] > 0  # released with the block
