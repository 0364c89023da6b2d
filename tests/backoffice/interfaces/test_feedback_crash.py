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

import httpx
import pytest
from sqlalchemy import func, select

from tests.backoffice.interfaces.conftest import System
from tests.backoffice.interfaces.export import export
from tixtrace.backoffice.db.database import open_backoffice_database
from tixtrace.backoffice.db.tables import executions
from tixtrace.backoffice.interfaces.locks import run_locks
from tixtrace.backoffice.interfaces.runner import run_schedule
from tixtrace.kernel.clock import SystemClock
from tixtrace.kernel.db import unit_of_work
from tixtrace.kernel.errors import Conflict

KNOWN = {"ana@example.com": ("Ana", "Lima"), "bea@example.com": ("Bea", "Cruz"), "cai@example.com": ("Cai", "Wong")}
UNKNOWN = ["dan@example.com", "eve@example.com", "fay@example.com", "gus@example.com"]
PROFILES = {"dan@example.com": ("Dan", "Okafor"), "eve@example.com": ("Eve", "Moreau"),
            "fay@example.com": ("Fay", "Ng"), "gus@example.com": ("Gus", "Berg")}

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


class Scenario:
    """The same operator data in several back offices, and a wallet that moves tickets around."""

    def __init__(self, main: System, tickets: int, *, batch_size: int | None = None) -> None:
        self.main = main
        self.wallet = main.wallet
        self.numbers = [f"CR-{index:03d}" for index in range(tickets)]
        self.offices: dict[str, tuple[System, int]] = {}
        self.profiled = set(KNOWN)
        self.batch_size = batch_size
        self.add_office("main", main)

    def add_office(self, name: str, office: System, batch_size: int | None = None) -> int:
        ids = {email: office.contact(email, first, last) for email, (first, last) in KNOWN.items()}
        owners = list(KNOWN)
        for index, number in enumerate(self.numbers):
            office.ticket(ids[owners[index % len(owners)]], number=number)
        interface = office.interface()
        injection = office.schedule(interface, "TICKETS_INJECTION")
        execution = office.run(injection)
        assert execution["status"] == "OK", execution
        size = batch_size if batch_size is not None else (self.batch_size if name == "main" else None)
        extra = {"batch_size": size} if size else {}
        feedback = office.schedule(interface, "RETRIEVE_TICKET_STATUS", **extra)
        self.offices[name] = (office, feedback)
        return feedback

    def feedback(self, name: str = "main") -> int:
        return self.offices[name][1]

    def run(self, name: str = "main") -> dict[str, Any]:
        office, schedule = self.offices[name]
        execution = office.run(schedule)
        assert execution["status"] == "OK", execution
        return execution

    def owner(self, number: str) -> str:
        return str(self.wallet.detail(number)["walletOwner"]["email"])

    def activity(self, rng: random.Random, moves: int) -> None:
        """Random transfers with every outcome (accept, reject, cancel, time-out, returns, left pending)."""
        w = self.wallet
        for _ in range(moves):
            number = rng.choice(self.numbers)
            detail = w.detail(number)
            owner = detail["walletOwner"]["email"]
            pending = detail["pendingTransfer"]
            if pending is not None:
                outcome = rng.choice(["accept", "accept", "reject", "cancel"])
                actor = owner if outcome == "cancel" else pending["recipientEmail"]
                self._profile(actor)
                assert w.act(actor, pending["transferId"], outcome).status_code == 200
                continue
            previous = previous_owners(detail)
            if previous and rng.random() < 0.25:
                assert w.transfer(owner, number, previous[-1]).status_code == 201  # a return: BACKWARD
                continue
            recipient = rng.choice([e for e in [*KNOWN, *UNKNOWN, *UNKNOWN] if e != owner])
            response = w.transfer(owner, number, recipient)
            assert response.status_code in (201, 409), response.text
            if rng.random() < 0.1:
                w.advance(rng.choice([600, 3600]))

    def _profile(self, email: str) -> None:
        if email not in self.profiled:
            first, last = PROFILES[email]
            self.wallet.profile(email, first, last, language="en")
            self.profiled.add(email)


def previous_owners(detail: dict[str, Any]) -> list[str]:
    stack: list[str] = []
    for record in detail["statusLog"]:
        if record["status"] == "TRANSFERRED":
            if record["transfer"]["direction"] == "FORWARD":
                stack.append(record["transfer"]["sender"]["email"])
            else:
                stack.pop()
    return stack


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
    name = f"feedback:{system.base_url}/organizer/tickets:{system.wallet.auth[0].casefold()}"
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

class Gate(httpx.BaseTransport):
    """Holds the first request until released (a run that is busy talking to the wallet)."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.entered = threading.Event()
        self.release = threading.Event()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.entered.set()
        assert self.release.wait(30)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


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
    name = f"feedback:{system.base_url}/organizer/tickets:{system.wallet.auth[0].casefold()}"
    with run_locks(system.engine, [(name, "a test")]):
        with pytest.raises(Conflict) as refused:
            scenario.run()
        assert refused.value.code == "RUN_ALREADY_ACTIVE"
    assert scenario.run()["records_read"] > 0  # released with the block
