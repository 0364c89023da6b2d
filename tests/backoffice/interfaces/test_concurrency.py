"""Concurrency of the interface functions (DESIGN section 6, invariants 1, 2 and 4), on both backends.

- Eight starts of the feedback at the same instant, from eight processes released together by a
  barrier (half through ``tixtrace backoffice run``, half calling ``run_schedule``; half on one
  interface, half on another interface of the same wallet organizer): exactly one execution runs, to
  OK, reading the whole feed; the seven others are refused at once with RUN_ALREADY_ACTIVE and the
  clear "already running" message, record nothing, and were refused while that run was going.
- Injection and feedback running together on the same interface (threads), while spectators move the
  tickets already injected: after one more feedback the back office equals a clean sequential run
  (injection, then one feedback) into a fresh back office, by the canonical export.

Spectators writing while the feed is read on PostgreSQL is tests/wallet/test_feed.py::
test_concurrent_writers_never_make_the_reader_skip_a_record; not repeated here.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.support.export import export
from tests.support.system import FEATURE, System
from tixtrace.backoffice.db.database import open_backoffice_database
from tixtrace.backoffice.db.tables import executions
from tixtrace.backoffice.interfaces.runner import run_schedule
from tixtrace.kernel.clock import as_utc
from tixtrace.kernel.db import unit_of_work

pytestmark = pytest.mark.slow  # a slow tier (concurrency): `make test-fast` leaves it out

KNOWN = {"ana@example.com": ("Ana", "Lima"), "bea@example.com": ("Bea", "Cruz"), "cai@example.com": ("Cai", "Wong")}
UNKNOWN = {"dan@example.com": ("Dan", "Okafor"), "eve@example.com": ("Eve", "Moreau"),
           "fay@example.com": ("Fay", "Ng")}
STARTS = 8


# -- helpers -----------------------------------------------------------------------------------------------

def executions_of(office: System, *schedule_ids: int) -> list[dict[str, Any]]:
    with unit_of_work(office.engine, write=False) as conn:
        return [dict(r) for r in conn.execute(select(executions).where(executions.c.schedule_id.in_(schedule_ids))
                                              .order_by(executions.c.id)).mappings()]


def feed_size(office: System) -> int:
    return len(office.wallet.all_records())


#: one start, in its own process: get ready, wait at the barrier (a FIFO opened before saying "ready",
#: polled until the test writes to it: that one write releases every start at once), start the feedback
#: through the CLI or the library, print a JSON report
START_ONE = r"""
import json, os, select, sys, time
from tixtrace.backoffice.interfaces.runner import run_schedule
from tixtrace.backoffice.interfaces.tixngo import feedback  # imported before the barrier, like the rest
from tixtrace.kernel.clock import SystemClock
from tixtrace.kernel.db import make_engine
from tixtrace.kernel.errors import Conflict
url, schedule, barrier, via_cli = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4] == "cli"
if via_cli:
    from typer.testing import CliRunner
    from tixtrace.cli import app
engine = make_engine(url)
with engine.connect():
    pass  # a pooled connection: after the barrier the starts race for the run lock alone
gate = os.open(barrier, os.O_RDONLY | os.O_NONBLOCK)
print("ready", flush=True)
poller = select.poll()
poller.register(gate, select.POLLIN)
while not any(events & select.POLLIN for _, events in poller.poll()):
    pass
report = {"attemptedAt": time.time(), "cli": via_cli, "schedule": schedule}
if via_cli:
    outcome = CliRunner().invoke(app, ["backoffice", "run", str(schedule), "--database-url", url, "--json"])
    report.update(exitCode=outcome.exit_code, output=" ".join(outcome.output.split()))
    if outcome.exit_code == 0:
        summary = json.loads(outcome.output.strip().splitlines()[-1])
        report.update(outcome="ran", execution=summary["id"], status=summary["status"])
    else:
        report.update(outcome="refused" if "refused:" in outcome.output else "failed",
                      exception=repr(outcome.exception))
else:
    try:
        execution = run_schedule(engine, schedule, clock=SystemClock())
        report.update(outcome="ran", execution=execution.id, status=execution.status)
    except Conflict as exc:
        report.update(outcome="refused", code=exc.code, output=exc.message)
report["doneAt"] = time.time()
engine.dispose()
print(json.dumps(report), flush=True)
"""


def wait_for_ready(process: subprocess.Popen[str], timeout: float = 120) -> None:
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    while (line := process.stdout.readline()).strip() != "ready":
        if not line and process.poll() is not None:
            raise AssertionError(f"a start ended before the barrier ({process.returncode}): {process.stderr.read()}")  # type: ignore[union-attr]
        assert time.monotonic() < deadline, "a start never got ready"


# -- (1) eight starts at once ----------------------------------------------------------------------------

def test_eight_simultaneous_feedback_starts_one_runs_seven_are_refused(system: System, tmp_path: Path) -> None:
    """8 processes released by one barrier start the feedback of one wallet organizer (2 interfaces, CLI
    and library): exactly one execution exists and ends OK having read the whole feed; the 7 other
    starts are refused with RUN_ALREADY_ACTIVE / "already running" before that run ended."""
    ids = {email: system.contact(email, first, last) for email, (first, last) in KNOWN.items()}
    owners = list(ids.values())
    numbers = [f"EI-{index:03d}" for index in range(40)]
    for index, number in enumerate(numbers):
        system.ticket(owners[index % len(owners)], number=number)
    interface = system.interface()
    assert system.run(system.schedule(interface, "TICKETS_INJECTION"))["status"] == "OK"
    for index, number in enumerate(numbers[:10]):  # some transfers too, so the run creates contacts
        sender = list(KNOWN)[index % len(owners)]
        response = system.wallet.transfer(sender, number, "dan@example.com")
        assert response.status_code == 201, response.text
        if index % 2:
            system.wallet.profile("dan@example.com", "Dan", "Okafor")
            assert system.wallet.act("dan@example.com", response.json()["transferId"], "accept").status_code == 200
    records = feed_size(system)
    # pages of one record: the run lasts long after the last of the eight has started
    schedules = [system.schedule(interface, "RETRIEVE_TICKET_STATUS", batch_size=1),
                 system.schedule(system.interface(name="tixngo bis"), "RETRIEVE_TICKET_STATUS", batch_size=1)]
    url = system.engine.url.render_as_string(hide_password=False)

    barrier = tmp_path / "barrier"
    os.mkfifo(barrier)
    processes = [subprocess.Popen([sys.executable, "-c", START_ONE, url, str(schedules[n % 2]), str(barrier),
                                   "cli" if n % 4 < 2 else "call"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True, cwd=Path(__file__).resolve().parents[3]) for n in range(STARTS)]
    try:
        for process in processes:
            wait_for_ready(process)
        gate = os.open(barrier, os.O_WRONLY)  # every start holds the FIFO open for reading, and polls it
        os.write(gate, b"go")  # releases all eight together
        os.close(gate)
        outputs = [process.communicate(timeout=300) for process in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.communicate()
    assert [p.returncode for p in processes] == [0] * STARTS, outputs
    reports = [json.loads(out.strip().splitlines()[-1]) for out, _ in outputs]

    failed = [r for r in reports if r["outcome"] == "failed"]
    assert not failed, failed
    ran = [r for r in reports if r["outcome"] == "ran"]
    refused = [r for r in reports if r["outcome"] == "refused"]
    assert len(ran) == 1 and len(refused) == STARTS - 1, reports
    assert {r["cli"] for r in refused} == {True, False} and {r["schedule"] for r in refused} == set(schedules)
    for report in refused:
        assert "already running" in report["output"], report
        if report["cli"]:
            assert report["exitCode"] == 1, report
        else:
            assert report["code"] == "RUN_ALREADY_ACTIVE", report

    [execution] = executions_of(system, *schedules)  # a refused start records nothing
    assert execution["id"] == ran[0]["execution"] and execution["status"] == ran[0]["status"] == "OK"
    assert execution["records_read"] == records
    ended = as_utc(execution["ended_at"])
    for report in refused:  # every refusal came while that run was going: the starts really overlapped
        assert datetime.fromtimestamp(report["attemptedAt"], UTC) < ended, (report, execution)
    spread = max(r["attemptedAt"] for r in reports) - min(r["attemptedAt"] for r in reports)
    slowest = max(r["doneAt"] - r["attemptedAt"] for r in refused)
    print(f"{records} records; the 8 starts spread over {spread * 1000:.1f} ms; the slowest refusal took "
          f"{slowest * 1000:.0f} ms; the run lasted {(ended - as_utc(execution['started_at'])).total_seconds():.2f} s")

    again = system.run(execution["schedule_id"])  # the lock went with the run: the next start runs
    assert again["status"] == "OK" and again["records_read"] == 0


# -- (2) injection and feedback together while spectators transfer --------------------------------------

@pytest.fixture
def reference(system: System, tmp_path: Path) -> Iterator[System]:
    """A second, fresh back office (SQLite) on the same wallet: the clean sequential run."""
    office = System(open_backoffice_database(f"sqlite:///{tmp_path / 'reference.db'}"), system.wallet, system.base_url)
    yield office
    office.engine.dispose()


class Spectators:
    """Random wallet moves with every outcome (accept, reject, cancel, time-out, return) on the tickets
    injected so far; one thread, so each move sees the result of the one before."""

    def __init__(self, system: System, seed: int) -> None:
        self.wallet = system.wallet
        self.rng = random.Random(seed)
        self.profiled: set[str] = set(KNOWN)
        self.moves = 0

    def _profile(self, email: str) -> None:
        if email not in self.profiled:
            first, last = UNKNOWN[email]
            self.wallet.profile(email, first, last, language="en")
            self.profiled.add(email)

    def move(self, numbers: list[str]) -> None:
        w, rng = self.wallet, self.rng
        number = rng.choice(numbers)
        detail = w.detail(number)
        owner = detail["walletOwner"]["email"]
        pending = detail["pendingTransfer"]
        self.moves += 1
        if pending is not None:
            outcome = rng.choice(["accept", "accept", "reject", "cancel"])
            actor = owner if outcome == "cancel" else pending["recipientEmail"]
            self._profile(actor)
            response = w.act(actor, pending["transferId"], outcome)
            assert response.status_code == 200, response.text
            return
        returns = [r["transfer"]["sender"]["email"] for r in detail["statusLog"]
                   if r["status"] == "TRANSFERRED" and r["transfer"]["direction"] == "FORWARD"]
        if returns and returns[-1] != owner and rng.random() < 0.2:
            response = w.transfer(owner, number, returns[-1])  # BACKWARD if it is the previous owner
            assert response.status_code in (201, 409), response.text
            return
        recipient = rng.choice([e for e in [*KNOWN, *UNKNOWN] if e != owner])
        response = w.transfer(owner, number, recipient)
        assert response.status_code in (201, 409), response.text
        if rng.random() < 0.08:
            w.advance(3600)  # every pending transfer times out


class SlowAnswers(httpx.BaseTransport):
    """The wallet's answer to an injection call arrives late (after the wallet committed the tickets):
    the feedback may see the new tickets' records before the injection marks them PRINTED."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.method == "POST" and request.url.path.endswith("/organizer/tickets"):
            time.sleep(0.05)
        return response

    def close(self) -> None:
        self.inner.close()


def test_injection_and_feedback_together_while_spectators_transfer_equal_a_sequential_run(
        system: System, reference: System) -> None:
    """Threads: waves of new tickets are injected (one ticket per wallet call, its answer slowed down) while
    the feedback runs back to back (pages of one record) and spectators move the injected tickets; every
    run ends OK, injection and feedback runs overlapped, and after one more feedback the export equals
    injection + one feedback into a fresh back office."""
    waves, per_wave, moves_after = 4, 8, 15
    numbers = [f"IF-{wave}-{index:02d}" for wave in range(waves) for index in range(per_wave)]
    owners = list(KNOWN)

    def setup(office: System, batch_size: int, iteration_size: int) -> tuple[dict[str, int], int, int]:
        ids = {email: office.contact(email, first, last) for email, (first, last) in KNOWN.items()}
        interface = office.interface(f"{FEATURE}\nticketIterationSize={iteration_size}")
        return (ids, office.schedule(interface, "TICKETS_INJECTION"),
                office.schedule(interface, "RETRIEVE_TICKET_STATUS", batch_size=batch_size))

    # small pages and one ticket per wallet call: many commits of each function land between the other's
    ids, injection, feedback = setup(system, 1, 1)
    spectators = Spectators(system, 20260611)
    injected: list[str] = []
    lock = threading.Lock()
    injector_done, spectators_done = threading.Event(), threading.Event()
    errors: list[BaseException] = []
    outcomes: dict[str, list[str]] = {"injection": [], "feedback": []}

    def inject() -> None:
        try:
            for wave in range(waves):
                for index, number in enumerate(numbers[wave * per_wave:(wave + 1) * per_wave]):
                    system.ticket(ids[owners[(wave + index) % len(owners)]], number=number)
                execution = asdict(run_schedule(system.engine, injection, clock=system.clock, transport=SlowAnswers(),
                                                client_options={"backoff_seconds": 0.01}))
                outcomes["injection"].append(execution["status"])
                with lock:
                    injected.extend(numbers[wave * per_wave:(wave + 1) * per_wave])
        except BaseException as exc:
            errors.append(exc)
        finally:
            injector_done.set()

    def move() -> None:
        try:
            while not errors:
                with lock:
                    available = list(injected)
                if injector_done.is_set() and spectators.moves >= moves_after * waves:
                    break
                if not available:
                    time.sleep(0.01)
                    continue
                spectators.move(available)
        except BaseException as exc:
            errors.append(exc)
        finally:
            spectators_done.set()

    def run_feedback() -> None:
        try:
            while not errors and not (injector_done.is_set() and spectators_done.is_set()):
                outcomes["feedback"].append(system.run(feedback)["status"])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=target) for target in (inject, move, run_feedback)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    assert not any(thread.is_alive() for thread in threads), "a thread never finished"
    assert not errors, errors
    assert outcomes["injection"] == ["OK"] * waves
    assert len(outcomes["feedback"]) >= 2 and set(outcomes["feedback"]) == {"OK"}, outcomes

    ran = executions_of(system, injection, feedback)
    injections = [e for e in ran if e["schedule_id"] == injection]
    feedbacks = [e for e in ran if e["schedule_id"] == feedback]
    overlapping = sum(1 for i in injections for f in feedbacks
                      if f["started_at"] < i["ended_at"] and i["started_at"] < f["ended_at"])
    assert overlapping >= 1, "no injection ran while a feedback was running"

    final = system.run(feedback)
    assert final["status"] == "OK"
    assert system.run(feedback)["records_read"] == 0

    reference_ids, reference_injection, reference_feedback = setup(reference, 1000, 1000)
    for wave in range(waves):
        for index, number in enumerate(numbers[wave * per_wave:(wave + 1) * per_wave]):
            reference.ticket(reference_ids[owners[(wave + index) % len(owners)]], number=number)
    assert reference.run(reference_injection)["status"] == "OK"
    sequential = reference.run(reference_feedback)
    assert sequential["status"] == "OK" and sequential["records_read"] == feed_size(system)
    concurrent_state, sequential_state = export(system.engine), export(reference.engine)
    assert len(concurrent_state.tickets) == waves * per_wave
    assert any(ticket.lines for ticket in concurrent_state.tickets.values()), "the spectators moved nothing"
    assert concurrent_state == sequential_state
    print(f"{spectators.moves} moves, {len(feedbacks)} feedback runs, {overlapping} injection/feedback overlaps")
