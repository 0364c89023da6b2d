"""Crash safety of every interface function (DESIGN invariant 6, sections 6 and 10), for real.

Each function (injection, feedback, push cancelled, push controlled) runs in a child PROCESS (a
``forkserver`` child calling ``run_schedule``, so 20 kills cost 20 forks, not 20 interpreter
start-ups) that is SIGKILLed, 20 times in a row, as 20 kill-and-resume steps of one long catch-up
(pages of one or two tickets/records, so there are many commit points). Each step picks, from a
seeded random generator (a failure is reproducible from the seed it prints), where the kill lands:

- ``blind``: after a random delay from the fork (start-up, lock, queries, calls, commits: anywhere);
- ``before call``: while the n-th wallet call is on the wire, before the wallet handled it;
- ``after call``: the wallet did the n-th call's work and is answering, the back office never learns;
- ``after commit``: right after the run committed its n-th record (plus a random jitter of ms).

The two middle ones are fired by the wallet itself (an ASGI middleware in front of the served
wallet knows the child's pid). After the 20 kills one run goes to completion, and the end state is
compared with a world where the same function ran once, uninterrupted: the canonical export of the
back office (contacts, tickets, distribution lines), the back office's printing and processed
markers, and for injection and pushes the wallet's side of every ticket (status, owner, status log).

It also proves the clean-up of interrupted executions and its safety: every execution a kill left
RUNNING is ended ERROR ("interrupted") by the next run of its schedule, and a RUNNING execution of
a live process is never closed (the run locks refuse the second start instead); a start-up sweep
(``close_interrupted_executions``) ends the dead ones of any schedule and leaves the live ones alone.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from tests.support.crash import KNOWN, Gate, Scenario
from tests.support.export import Export, export
from tests.support.system import FEATURE, System
from tests.support.wallet import START, Wallet
from tixtrace.backoffice.db.database import open_backoffice_database
from tixtrace.backoffice.db.tables import execution_logs, executions, interfaces, tickets
from tixtrace.backoffice.domain.tickets import TicketAction
from tixtrace.backoffice.interfaces.locks import run_locks
from tixtrace.backoffice.interfaces.runner import (
    INTERRUPTED,
    close_interrupted_executions,
    run_locks_of,
    run_schedule,
)
from tixtrace.backoffice.services.interfaces import interface_credentials
from tixtrace.backoffice.services.schedules import get_schedule
from tixtrace.backoffice.services.tickets import NewTicket, apply_action, create_ticket
from tixtrace.kernel.clock import SystemClock, TestClock
from tixtrace.kernel.db import make_engine, unit_of_work
from tixtrace.kernel.errors import Conflict
from tixtrace.kernel.serving import BackgroundServer
from tixtrace.wallet.app import create_wallet_app
from tixtrace.wallet.db.database import open_wallet_database
from tixtrace.wallet.services.organizers import create_organizer

pytestmark = pytest.mark.slow  # a slow tier (crash): `make test-fast` leaves it out

KILLS = 20
MODES = ("blind", "before call", "after call", "after commit")
#: pages of two tickets (one for the injection) per wallet call: many calls and commits to land in
SMALL_PAGES = FEATURE + "\nticketIterationSize=2"
ONE_BY_ONE = FEATURE + "\nticketIterationSize=1"

_FORKS = multiprocessing.get_context("forkserver")
# the forkserver imports these once; each child then only forks
_FORKS.set_forkserver_preload([__name__, "tixtrace.backoffice.interfaces.tixngo.injection",
                               "tixtrace.backoffice.interfaces.tixngo.feedback",
                               "tixtrace.backoffice.interfaces.tixngo.push"])


def _noop() -> None:
    """A child that does nothing: the first fork starts the fork server, which is not what is measured."""


def _warm_up() -> None:
    process = _FORKS.Process(target=_noop)
    process.start()
    process.join(120)


def _child(url: str, schedule_id: int) -> None:
    """The killed process: one execution of the schedule, as ``tixtrace backoffice run`` does it."""
    engine = make_engine(url)
    run_schedule(engine, schedule_id, clock=SystemClock(), client_options={"backoff_seconds": 0.01})


# -- a wallet that can kill its caller -----------------------------------------------------------------

class KillSwitch:
    """ASGI middleware in front of the served wallet: when armed, SIGKILLs the given process on the
    n-th organizer call, either before the wallet handles it or once the wallet has done the work and
    starts answering (the caller then never learns the outcome)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._lock = threading.Lock()
        self._armed: list[Any] | None = None
        self.fired = threading.Event()
        self.first_call: float | None = None  # when the first organizer call since ``watch`` came in

    def watch(self) -> None:
        self.first_call = None

    def arm(self, process: Any, nth: int, when: str) -> None:
        with self._lock:
            self._armed = [process, nth, when]
            self.fired.clear()

    def disarm(self) -> None:
        with self._lock:
            self._armed = None

    def _kill(self, process: Any) -> None:
        try:
            os.kill(process.pid, signal.SIGKILL)
        except ProcessLookupError:  # it had ended already
            pass
        self.fired.set()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        trigger = None
        if scope["type"] == "http" and scope["path"].startswith("/organizer/tickets"):
            if self.first_call is None:
                self.first_call = time.monotonic()
            with self._lock:
                if self._armed is not None and self._armed[0].pid is not None:
                    self._armed[1] -= 1
                    if self._armed[1] == 0:
                        trigger, self._armed = (self._armed[0], self._armed[2]), None
        if trigger is None:
            await self.app(scope, receive, send)
            return
        process, when = trigger
        if when == "before call":
            self._kill(process)
            await send({"type": "http.response.start", "status": 503, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return

        async def killing_send(message: Any) -> None:
            if message["type"] == "http.response.start":
                self._kill(process)
            await send(message)

        await self.app(scope, receive, killing_send)


@dataclass
class World:
    office: System
    switch: KillSwitch


@contextmanager
def open_world(wallet_url: str, backoffice_url: str) -> Iterator[World]:
    """A back office and a wallet (served over HTTP behind a KillSwitch; the test drives the wallet
    through the bare app, so only the back office's calls can trip the switch)."""
    wallet_engine = open_wallet_database(wallet_url)
    backoffice_engine = open_backoffice_database(backoffice_url)
    clock = TestClock(START)
    with unit_of_work(wallet_engine) as conn:
        organizer, api_key = create_organizer(conn, clock, "org@wc26.example")
    app = create_wallet_app(wallet_engine, clock=clock, sandbox=True)
    switch = KillSwitch(app)
    try:
        with BackgroundServer(switch) as base_url, TestClient(app) as client:
            yield World(System(backoffice_engine, Wallet(client, clock, (organizer.email, api_key)), base_url), switch)
    finally:
        backoffice_engine.dispose()
        wallet_engine.dispose()


@pytest.fixture
def crashed(database_url: Any) -> Iterator[World]:
    """The world whose function is killed: both databases on the backend under test."""
    with open_world(database_url("wallet"), database_url("backoffice")) as world:
        yield world


@pytest.fixture
def clean(tmp_path: Path) -> Iterator[World]:
    """The reference world where the function runs uninterrupted (SQLite)."""
    with open_world(f"sqlite:///{tmp_path / 'clean-wallet.db'}", f"sqlite:///{tmp_path / 'clean-bo.db'}") as world:
        yield world


# -- kill and resume ---------------------------------------------------------------------------------

def database_url_of(engine: Engine) -> str:
    return str(engine.url.render_as_string(hide_password=False))


def lock_names(engine: Engine, schedule_id: int) -> list[tuple[str, str]]:
    with unit_of_work(engine, write=False) as conn:
        schedule = get_schedule(conn, schedule_id)
        return run_locks_of(schedule, interface_credentials(conn, schedule.interface_id))


def wait_until_unlocked(engine: Engine, names: list[tuple[str, str]]) -> None:
    """The locks of a killed run go with its process (flock at once; PostgreSQL when its backend
    sees the connection close): wait for that, bounded."""
    deadline = time.monotonic() + 15
    while True:
        try:
            with run_locks(engine, names):
                return
        except Conflict:
            assert time.monotonic() < deadline, "the run lock of a killed process was never released"
            time.sleep(0.02)


def executions_of(engine: Engine, schedule_id: int) -> list[dict[str, Any]]:
    with unit_of_work(engine, write=False) as conn:
        return [dict(r) for r in conn.execute(select(executions).where(executions.c.schedule_id == schedule_id)
                                              .order_by(executions.c.id)).mappings()]


def messages_of(engine: Engine, execution_id: int) -> list[str]:
    with unit_of_work(engine, write=False) as conn:
        return list(conn.scalars(select(execution_logs.c.message).where(execution_logs.c.execution_id == execution_id)
                                 .order_by(execution_logs.c.id)))


def kill_and_resume(world: World, schedule_id: int, rng: random.Random, *, kills: int = KILLS,
                    between: Callable[[int], None] | None = None) -> list[tuple[str, str]]:
    """``kills`` steps: start the schedule in a child process, SIGKILL it where the step's mode says,
    wait for its locks to go. Returns (mode, outcome) per step; outcome is "mid-run" (its execution
    was left RUNNING), "before its execution" (killed before it recorded one) or "finished"."""
    engine = world.office.engine
    url = database_url_of(engine)
    names = lock_names(engine, schedule_id)
    _warm_up()
    outcomes: list[tuple[str, str]] = []
    startups = [0.3]  # seconds from the fork to the first wallet call, as measured: scales the blind kills
    for step in range(kills):
        if between is not None:
            between(step)
        wait_until_unlocked(engine, names)
        known = {e["id"] for e in executions_of(engine, schedule_id)}
        mode, nth = rng.choice(MODES), rng.randint(1, 2)
        process = _FORKS.Process(target=_child, args=(url, schedule_id), daemon=True)
        if mode in ("before call", "after call"):
            world.switch.arm(process, nth, mode)
        elif mode == "after commit":  # a backstop: on a loaded machine this process may notice the commit
            # late; the child is then killed before its (nth + 2)-th call (the feedback fetches a page ahead)
            world.switch.arm(process, nth + 2, "before call")
        world.switch.watch()
        started = time.monotonic()
        try:
            process.start()
            if mode == "blind":  # from the fork to a little after the first call, whatever the machine's speed;
                # "a little" is absolute: on a loaded machine the fork's start-up is seconds, and a share of it
                # after the first call was enough for a whole run (a CI run once saw a push finish in it)
                time.sleep(rng.uniform(0.0, sorted(startups)[len(startups) // 2] + 0.05))
            elif mode == "after commit":
                deadline = time.monotonic() + 30
                while process.is_alive() and time.monotonic() < deadline:
                    mine = [e for e in executions_of(engine, schedule_id) if e["id"] not in known]
                    if mine and mine[0]["records_read"] >= nth:
                        break
                    time.sleep(0.002)
                time.sleep(rng.uniform(0.0, 0.01))
            else:
                deadline = time.monotonic() + 30
                while process.is_alive() and not world.switch.fired.is_set() and time.monotonic() < deadline:
                    time.sleep(0.002)
        finally:
            world.switch.disarm()
            process.kill()
            process.join(30)
        if world.switch.first_call is not None:
            startups.append(world.switch.first_call - started)
        mine = [e for e in executions_of(engine, schedule_id) if e["id"] not in known]
        if not mine:
            outcome = "before its execution"
        elif mine[0]["status"] == "RUNNING":
            outcome = "mid-run"
        else:
            assert mine[0]["status"] in ("OK", "WARNING"), mine[0]
            outcome = "finished"
        outcomes.append((mode, outcome))
    wait_until_unlocked(engine, names)
    return outcomes


def finish_and_check_executions(world: World, schedule_id: int, outcomes: list[tuple[str, str]]) -> dict[str, Any]:
    """Run the schedule to completion in-process; every execution a kill left RUNNING is now ERROR
    "interrupted", and the kills landed in enough different places to mean something."""
    engine = world.office.engine
    final = world.office.run(schedule_id)
    assert final["status"] in ("OK", "WARNING"), final
    mid_run = sum(outcome == "mid-run" for _, outcome in outcomes)
    assert mid_run >= KILLS // 2, f"too few kills landed inside a run: {outcomes}"
    assert {mode for mode, outcome in outcomes if outcome == "mid-run"} >= set(MODES) - {"blind"}, outcomes
    previous = [e for e in executions_of(engine, schedule_id) if e["id"] != final["id"]]
    assert all(e["status"] != "RUNNING" for e in previous), "an interrupted execution stayed RUNNING"
    interrupted = [e for e in previous if INTERRUPTED in messages_of(engine, e["id"])]
    assert len(interrupted) == mid_run, (len(interrupted), outcomes)
    assert all(e["status"] == "ERROR" and e["ended_at"] is not None for e in interrupted)
    return final


# -- the state compared --------------------------------------------------------------------------------

def markers(engine: Engine) -> dict[str, tuple[Any, ...]]:
    """Per ticket number: back-office status and whether each processed marker is set."""
    with unit_of_work(engine, write=False) as conn:
        rows = conn.execute(select(tickets.c.number, tickets.c.status, tickets.c.injected_at,
                                   tickets.c.push_cancelled_at, tickets.c.push_controlled_at)).all()
    return {row.number: (row.status, row.injected_at is not None, row.push_cancelled_at is not None,
                         row.push_controlled_at is not None) for row in rows}


def without_transfer_ids(state: Export) -> Export:
    """Two wallets make different transfer ids for the same moves: compare lines without them."""
    return replace(state, tickets={number: replace(t, lines=tuple(line[:7] + ("",) for line in t.lines))
                                   for number, t in state.tickets.items()})


def wallet_side(world: World) -> dict[str, Any]:
    """Every ticket the wallet holds for the organizer (from its whole status feed), as its organizer
    detail without ids: status, owner, level, pending recipient, and its status log."""
    wallet = world.office.wallet
    numbers = sorted({record["ticketId"] for record in wallet.all_records()})
    state = {}
    for number in numbers:
        detail = wallet.detail(number)
        pending = detail["pendingTransfer"]
        state[number] = (
            detail["status"], detail["walletOwner"]["email"], detail["transferLevel"],
            pending and pending["recipientEmail"],
            tuple((r["status"], r["walletOwner"]["email"], (r["transfer"] or {}).get("failureReason"))
                  for r in detail["statusLog"]),
        )
    return state


def assert_same_end_state(crashed: World, clean: World) -> None:
    assert markers(crashed.office.engine) == markers(clean.office.engine)
    assert wallet_side(crashed) == wallet_side(clean)
    assert without_transfer_ids(export(crashed.office.engine)) == without_transfer_ids(export(clean.office.engine))


# -- the seeded worlds -----------------------------------------------------------------------------

EXTRA = {"hal@example.com": ("Hal", "Diaz"), "ida@example.com": ("Ida", "Sato"), "jon@example.com": ("Jon", "Ruiz")}
PEOPLE = {**KNOWN, **EXTRA}
NEWCOMER = "zoe@example.com"


@dataclass
class Seeded:
    interface: int
    numbers: list[str]
    ids: dict[str, int]


def seed_office(office: System, tickets_count: int, parameters: str = SMALL_PAGES) -> Seeded:
    """The same operator data in any back office: six contacts, tickets spread over them, and one
    ticket whose contact has no e-mail, which the wallet refuses."""
    contact_ids = [office.contact(email, first, last) for email, (first, last) in PEOPLE.items()]
    no_email = office.contact(None, "Nil", "Mail")  # type: ignore[arg-type]
    numbers = [f"KX-{index:03d}" for index in range(tickets_count)]
    owners = {number: contact_ids[index % len(contact_ids)] for index, number in enumerate(numbers)}
    owners["KX-NOMAIL"] = no_email
    numbers.append("KX-NOMAIL")
    with unit_of_work(office.engine) as conn:  # one transaction: seeding is not what is measured
        ids = {number: int(create_ticket(conn, NewTicket("WC26-M01", contact, number=number),
                                         datetime.now(UTC)).id) for number, contact in owners.items()}
    return Seeded(office.interface(parameters), numbers, ids)


def act_in_office(office: System, seeded: Seeded, action: TicketAction, numbers: list[str]) -> None:
    with unit_of_work(office.engine) as conn:
        for number in numbers:
            apply_action(conn, seeded.ids[number], action, datetime.now(UTC), actor="test")


def spectators_touch(office: System, seeded: Seeded) -> None:
    """Wallet activity the pushes must cope with: half the owners open their app (DOWNLOADED, so a
    delete is DELETION_PENDING), and every fifth ticket has a transfer pending (failed by the push)."""
    wallet = office.wallet
    for email in list(PEOPLE)[::2]:
        assert wallet.as_spectator(email, "GET", "/spectator/tickets").status_code == 200
    for number in seeded.numbers[:-1:5]:
        owner = wallet.detail(number)["walletOwner"]["email"]
        assert wallet.transfer(owner, number, NEWCOMER).status_code == 201


def inject_all(world: World) -> None:
    """Inject every ticket in one call, through an interface with the default page size."""
    bulk = world.office.interface(FEATURE, name="bulk")
    assert world.office.run(world.office.schedule(bulk, "TICKETS_INJECTION"))["status"] == "WARNING"


def close_the_loop(world: World, seeded: Seeded) -> None:
    """One feedback run, so that the back office's export also shows what the wallet made of it."""
    assert world.office.run(world.office.schedule(seeded.interface, "RETRIEVE_TICKET_STATUS"))["status"] == "OK"


# -- (a) the four functions, killed 20 times each --------------------------------------------------------

def test_injection_killed_20_times_ends_as_one_clean_injection(crashed: World, clean: World) -> None:
    """Injection (one ticket per call) SIGKILLed 20 times before, during and after wallet calls and commits,
    then run to completion: the same tickets PRINTED and injected (the refused one NOT_PRINTED and
    not marked sent), each wallet ticket injected exactly once to the same person, and the same
    back-office state after a feedback, as one uninterrupted injection."""
    rng = random.Random(6_001)
    seeded = seed_office(crashed.office, 120, ONE_BY_ONE)
    schedule = crashed.office.schedule(seeded.interface, "TICKETS_INJECTION")
    outcomes = kill_and_resume(crashed, schedule, rng)
    print(f"seed 6001 kill outcomes: {outcomes}")
    final = finish_and_check_executions(crashed, schedule, outcomes)
    assert final["status"] == "WARNING"  # the refused ticket, every run

    reference = seed_office(clean.office, 120)
    inject_all(clean)
    assert markers(crashed.office.engine)["KX-NOMAIL"] == ("NOT_PRINTED", False, False, False)
    for record_statuses in (s[4] for s in wallet_side(crashed).values()):
        assert [status for status, _, _ in record_statuses] == ["INJECTED"], "injected more than once"
    close_the_loop(crashed, seeded)
    close_the_loop(clean, reference)
    assert_same_end_state(crashed, clean)


@pytest.mark.parametrize("function", ["PUSH_CANCELLED", "PUSH_CONTROLLED"])
def test_push_killed_20_times_ends_as_one_clean_push(crashed: World, clean: World, function: str) -> None:
    """Push cancelled (cancelled and invalidated tickets, some downloaded, some with a pending
    transfer) or push controlled, one ticket per call, SIGKILLed 20 times at random points then run to
    completion: the wallet holds the same statuses and status logs (each delete/control once, the
    pending transfers failed once), the same tickets are marked processed, and the back office ends
    as after one uninterrupted push."""
    seed = 6_002 if function == "PUSH_CANCELLED" else 6_003
    rng = random.Random(seed)

    def prepare(world: World) -> Seeded:
        seeded = seed_office(world.office, 150, ONE_BY_ONE)  # 100 calls: no kill finds the push done
        inject_all(world)
        spectators_touch(world.office, seeded)
        targets = seeded.numbers[:-1]
        if function == "PUSH_CANCELLED":
            act_in_office(world.office, seeded, TicketAction.CANCEL, targets[0::3])
            act_in_office(world.office, seeded, TicketAction.INVALIDATE, targets[1::3])
        else:
            act_in_office(world.office, seeded, TicketAction.CONTROL, targets[0::3] + targets[1::3])
        return seeded

    seeded = prepare(crashed)
    schedule = crashed.office.schedule(seeded.interface, function)
    outcomes = kill_and_resume(crashed, schedule, rng)
    print(f"seed {seed} kill outcomes: {outcomes}")
    finish_and_check_executions(crashed, schedule, outcomes)

    reference = prepare(clean)
    assert clean.office.run(clean.office.schedule(reference.interface, function))["status"] in ("OK", "WARNING")
    marker = 2 if function == "PUSH_CANCELLED" else 3
    assert sum(state[marker] for state in markers(crashed.office.engine).values()) == 100
    close_the_loop(crashed, seeded)
    close_the_loop(clean, reference)
    assert_same_end_state(crashed, clean)


def test_feedback_killed_20_times_ends_as_one_clean_feedback(crashed: World, tmp_path: Path) -> None:
    """The feedback (pages of 2 records) SIGKILLed 20 times while spectators keep moving tickets
    (transfers accepted, rejected, cancelled, timed out, returned), then run to completion: the
    back office equals a fresh back office that read the same wallet once, uninterrupted."""
    rng = random.Random(6_004)
    activity = random.Random(6_005)
    scenario = Scenario(crashed.office, 12, batch_size=2)
    scenario.activity(activity, 90)
    schedule = scenario.feedback()

    def more_moves(step: int) -> None:
        if step % 4 == 3:
            scenario.activity(activity, 12)

    outcomes = kill_and_resume(crashed, schedule, rng, between=more_moves)
    print(f"seed 6004 kill outcomes: {outcomes}")
    finish_and_check_executions(crashed, schedule, outcomes)
    assert crashed.office.run(schedule)["records_read"] == 0

    office = System(open_backoffice_database(f"sqlite:///{tmp_path / 'reference.db'}"), crashed.office.wallet,
                    crashed.office.base_url)
    try:
        scenario.add_office("reference", office)
        assert scenario.run("reference")["records_read"] > 0
        assert export(crashed.office.engine) == export(office.engine), outcomes
    finally:
        office.engine.dispose()


# -- RUNNING executions: the clean-up and its safety ---------------------------------------------------

@pytest.mark.parametrize("function", ["TICKETS_INJECTION", "PUSH_CANCELLED", "PUSH_CONTROLLED",
                                      "RETRIEVE_TICKET_STATUS"])
def test_an_execution_killed_during_a_wallet_call_is_ended_by_the_next_run(crashed: World, function: str) -> None:
    """A process killed while its first wallet call is on the wire leaves its execution RUNNING; the
    next run of the schedule ends it ERROR with the "interrupted" line, then runs normally."""
    office = crashed.office
    seeded = seed_office(office, 4)
    if function != "TICKETS_INJECTION":
        inject_all(crashed)
        act_in_office(office, seeded, TicketAction.CANCEL if function == "PUSH_CANCELLED" else TicketAction.CONTROL,
                      seeded.numbers[:2])
    schedule = office.schedule(seeded.interface, function)
    process = _FORKS.Process(target=_child, args=(database_url_of(office.engine), schedule), daemon=True)
    crashed.switch.arm(process, 1, "before call")
    process.start()
    process.join(30)
    assert crashed.switch.fired.is_set() and process.exitcode == -signal.SIGKILL
    [killed] = executions_of(office.engine, schedule)
    assert killed["status"] == "RUNNING"

    wait_until_unlocked(office.engine, lock_names(office.engine, schedule))
    after = office.run(schedule)
    assert after["status"] in ("OK", "WARNING") and after["records_read"] > 0
    [ended, _] = executions_of(office.engine, schedule)
    assert ended["id"] == killed["id"] and ended["status"] == "ERROR" and ended["ended_at"] is not None
    assert messages_of(office.engine, killed["id"])[-1] == INTERRUPTED


def test_a_live_injection_is_never_closed_and_blocks_other_sends_of_its_organizer(crashed: World) -> None:
    """While an injection is inside a wallet call (a thread, held at the transport): a second run of
    its schedule, an injection of another interface of the same wallet organizer, and a push
    cancelled of the same organizer are all refused at once with RUN_ALREADY_ACTIVE and record
    nothing; the live execution stays RUNNING (nobody closed it) and then ends OK; the feedback of the
    organizer is not blocked by it."""
    office = crashed.office
    seeded = seed_office(office, 3)
    schedule = office.schedule(seeded.interface, "TICKETS_INJECTION")
    other_interface = office.interface(SMALL_PAGES, name="tixngo bis")
    others = [schedule, office.schedule(other_interface, "TICKETS_INJECTION"),
              office.schedule(seeded.interface, "PUSH_CANCELLED")]
    gate = Gate()
    result: dict[str, Any] = {}

    def live() -> None:
        try:
            result["execution"] = asdict(run_schedule(office.engine, schedule, clock=SystemClock(), transport=gate))
        except BaseException as exc:  # reported below
            result["execution"] = exc

    thread = threading.Thread(target=live)
    thread.start()
    try:
        assert gate.entered.wait(30), "the live run never called the wallet"
        [running] = executions_of(office.engine, schedule)
        for other in others:
            with pytest.raises(Conflict) as refused:
                run_schedule(office.engine, other, clock=SystemClock())
            assert refused.value.code == "RUN_ALREADY_ACTIVE" and "already running" in refused.value.message
        assert [e["status"] for e in executions_of(office.engine, schedule)] == ["RUNNING"]
        assert executions_of(office.engine, others[1]) == executions_of(office.engine, others[2]) == []
        feedback = office.run(office.schedule(seeded.interface, "RETRIEVE_TICKET_STATUS"))
        assert feedback["status"] == "OK"
    finally:
        gate.release.set()
        thread.join(30)
    execution = result["execution"]
    assert not isinstance(execution, BaseException), execution
    assert execution["id"] == running["id"] and execution["status"] == "WARNING"  # KX-NOMAIL refused
    assert INTERRUPTED not in messages_of(office.engine, running["id"])
    assert office.run(schedule)["status"] == "WARNING"  # and the locks went with it


def test_a_stale_lock_name_cannot_close_a_live_execution_after_the_interface_moved(crashed: World) -> None:
    """An operator edits the interface's URL while its injection runs: the organizer lock is now
    another one, but the schedule's own lock still refuses a second run, so the live execution is
    not mistaken for a killed one."""
    office = crashed.office
    seeded = seed_office(office, 2)
    schedule = office.schedule(seeded.interface, "TICKETS_INJECTION")
    gate = Gate()
    result: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: result.update(execution=run_schedule(
        office.engine, schedule, clock=SystemClock(), transport=gate)))
    thread.start()
    try:
        assert gate.entered.wait(30)
        with unit_of_work(office.engine) as conn:
            conn.execute(interfaces.update().where(interfaces.c.id == seeded.interface)
                         .values(url=office.base_url.replace("127.0.0.1", "localhost") + "/organizer/tickets"))
        with pytest.raises(Conflict) as refused:
            run_schedule(office.engine, schedule, clock=SystemClock(), transport=httpx.MockTransport(
                lambda request: httpx.Response(500)))
        assert refused.value.code == "RUN_ALREADY_ACTIVE"
        assert [e["status"] for e in executions_of(office.engine, schedule)] == ["RUNNING"]
    finally:
        gate.release.set()
        thread.join(30)
    assert result["execution"].status == "WARNING"
    assert INTERRUPTED not in messages_of(office.engine, result["execution"].id)


def test_a_start_up_sweep_ends_the_dead_executions_and_only_them(crashed: World) -> None:
    """``close_interrupted_executions`` (for a scheduler or server start-up: a schedule that is never
    run again) ends ERROR "interrupted" the execution of a killed injection process, while the
    execution of a feedback that is alive (held inside its wallet call) stays RUNNING and ends OK."""
    office = crashed.office
    seeded = seed_office(office, 3)
    dead_schedule = office.schedule(seeded.interface, "TICKETS_INJECTION")
    process = _FORKS.Process(target=_child, args=(database_url_of(office.engine), dead_schedule), daemon=True)
    crashed.switch.arm(process, 1, "before call")
    process.start()
    process.join(30)
    [dead] = executions_of(office.engine, dead_schedule)
    assert dead["status"] == "RUNNING"
    wait_until_unlocked(office.engine, lock_names(office.engine, dead_schedule))

    live_schedule = office.schedule(seeded.interface, "RETRIEVE_TICKET_STATUS")
    gate = Gate()
    result: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: result.update(execution=run_schedule(
        office.engine, live_schedule, clock=SystemClock(), transport=gate)))
    thread.start()
    try:
        assert gate.entered.wait(30)
        [live] = executions_of(office.engine, live_schedule)
        assert close_interrupted_executions(office.engine, SystemClock()) == [dead["id"]]
        assert [e["status"] for e in executions_of(office.engine, live_schedule)] == ["RUNNING"]
        assert executions_of(office.engine, dead_schedule)[0]["status"] == "ERROR"
        assert messages_of(office.engine, dead["id"])[-1] == INTERRUPTED
    finally:
        gate.release.set()
        thread.join(30)
    assert result["execution"].id == live["id"] and result["execution"].status == "OK"
    assert close_interrupted_executions(office.engine, SystemClock()) == []
