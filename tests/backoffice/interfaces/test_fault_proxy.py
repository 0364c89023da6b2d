"""Wallet faults through a real HTTP proxy (DESIGN section 10, F6, house rule 5): one test per fault class.

The back office talks to a real wallet (uvicorn, ``System`` fixture) through ``FaultProxy``, a real
HTTP server on loopback that spoils scripted requests: 5xx answers, answers held past the client's
read timeout, 429 with ``Retry-After``, connections cut mid-body, truncated JSON, a diff page served
twice, an earlier diff page served after the key moved. Every test plays the same operator story
(injection, two feedback runs around spectator transfers, push cancelled, push controlled) through
the proxy, then proves three things:

- the faults happened: the proxy played every scripted fault (nothing left unplayed), and for POSTs
  cut or spoiled after the wallet acted, the proxy saw the wallet's own answer;
- the back office ends exactly as a clean back office fed by the same wallet without the proxy
  (canonical export, ``export.py``; plus ticket statuses, injection and push marks, pagination key);
- the wallet took every call once: repeated injection / delete / control calls (idempotent by
  ``ticketId``) left no second INJECTED, DELETED or CONTROLLED record.

A last test proves that a feed answering the page that was asked for over and over (``hasMore``, the
key unchanged) is bounded by the client's retry budget instead of looping.

``test_client_faults.py`` proves the client's retry policy with a fake transport (backoff growth,
budgets, refusals, unusable Retry-After values) and a wallet that goes down for good; none of that is
repeated here. Sleeps stay short through the client options (``backoff_seconds``, ``timeout``, ``sleep``).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.backoffice.interfaces.fault_proxy import Fault, FaultProxy
from tests.support.export import export
from tests.support.system import FEATURE, System
from tixtrace.backoffice.db.database import open_backoffice_database
from tixtrace.backoffice.db.tables import execution_logs, schedules, tickets
from tixtrace.backoffice.domain.tickets import TicketAction
from tixtrace.backoffice.interfaces.runner import run_schedule
from tixtrace.backoffice.services.interfaces import NewInterface, create_interface
from tixtrace.backoffice.services.tickets import apply_action
from tixtrace.kernel.clock import SystemClock
from tixtrace.kernel.db import unit_of_work
from tixtrace.wallet.services import feed

ANA, BEA, DAN, EVE, FAY = (f"{name}@example.com" for name in ("ana", "bea", "dan", "eve", "fay"))
NUMBERS = [f"FP-{i}" for i in range(1, 7)]  # odd: Ana's, even: Bea's
CANCELLED, CONTROLLED = "FP-4", "FP-5"
#: two tickets per wallet call (3 injection calls for 6 tickets), two records per diff page
PARAMETERS = FEATURE + "\nticketIterationSize=2"
FEED_BATCH = 2
#: retries in milliseconds; enough attempts for the longest script below
OPTIONS: dict[str, Any] = {"backoff_seconds": 0.001, "max_attempts": 8}
#: the stages of the story, in order; a test plans its faults before each
STAGES = ("injection", "feedback-1", "push", "feedback-2")
#: plans[stage][route]: the faults the proxy plays on that route's next requests, queued before the stage
Plans = dict[str, dict[str, list[Fault | None]]]
#: the distribution lines the story leaves, as (action, status, reason), per ticket
STORY_LINES: dict[str, list[tuple[str, str, str | None]]] = {
    "FP-1": [("DISTRIBUTE", "CONFIRMED", None), ("DISTRIBUTE", "CONFIRMED", None), ("TAKE_BACK", "CONFIRMED", None)],
    "FP-2": [("DISTRIBUTE", "CANCELLED", "REJECTED")],
    "FP-3": [("DISTRIBUTE", "CANCELLED", "TIMEOUT")],
    "FP-4": [("DISTRIBUTE", "CANCELLED", "TICKET_DELETED")],
    "FP-5": [("DISTRIBUTE", "CANCELLED", "TICKET_CONTROLLED")],
    "FP-6": [("DISTRIBUTE", "CONFIRMED", None), ("DISTRIBUTE", "CANCELLED", "CANCELLED_BY_SENDER")],
}


@dataclass(frozen=True)
class Office:
    """One back office's operator data for the story: its schedules (interface URL = wallet or proxy)."""

    system: System
    injection: int
    feedback: int
    push_cancelled: int
    push_controlled: int


def set_up(office: System, wallet_url: str) -> Office:
    ana = office.contact(ANA, "Ana", "Lima")
    bea = office.contact(BEA, "Bea", "Cruz")
    for index, number in enumerate(NUMBERS):
        office.ticket(ana if index % 2 == 0 else bea, number=number)
    with unit_of_work(office.engine) as conn:
        interface = int(create_interface(conn, NewInterface(
            "tixngo", "TIXNGO", f"{wallet_url}/organizer/tickets", *office.wallet.auth, [], PARAMETERS),
            datetime.now(UTC), actor="test").id)
    return Office(office, office.schedule(interface, "TICKETS_INJECTION"),
                  office.schedule(interface, "RETRIEVE_TICKET_STATUS", batch_size=FEED_BATCH),
                  office.schedule(interface, "PUSH_CANCELLED"), office.schedule(interface, "PUSH_CONTROLLED"))


def transfer(system: System, sender: str, number: str, recipient: str, outcome: str | None = None) -> None:
    response = system.wallet.transfer(sender, number, recipient)
    assert response.status_code == 201, response.text
    if outcome is not None:
        actor = sender if outcome == "cancel" else recipient
        answer = system.wallet.act(actor, response.json()["transferId"], outcome)
        assert answer.status_code == 200, answer.text


def first_wallet_story(system: System) -> None:
    """Accepted chain with a take-back, a rejection (temporary contact removed), a time-out, a return."""
    system.wallet.profile(DAN, "Dan", "Okafor")
    system.wallet.profile(EVE, "Eve", "Moreau")
    transfer(system, ANA, "FP-1", DAN, "accept")
    transfer(system, DAN, "FP-1", EVE, "accept")
    transfer(system, EVE, "FP-1", DAN)  # BACKWARD: TRANSFERRED at once
    transfer(system, BEA, "FP-2", FAY, "reject")
    transfer(system, ANA, "FP-3", EVE)
    system.wallet.advance(3600)  # FP-3 times out
    transfer(system, BEA, "FP-6", ANA, "accept")


def second_wallet_story(system: System) -> None:
    """Pending transfers that the pushes will fail, and a transfer cancelled by its sender."""
    transfer(system, BEA, CANCELLED, DAN)
    transfer(system, ANA, CONTROLLED, EVE)
    transfer(system, ANA, "FP-6", FAY, "cancel")


def cancel_and_control(office: System) -> None:
    with unit_of_work(office.engine) as conn:
        apply_action(conn, office.ticket_row(CANCELLED)["id"], TicketAction.CANCEL, datetime.now(UTC), actor="test")
        apply_action(conn, office.ticket_row(CONTROLLED)["id"], TicketAction.CONTROL, datetime.now(UTC), actor="test")


def run_ok(office: System, schedule: int, options: dict[str, Any]) -> dict[str, Any]:
    execution = asdict(run_schedule(office.engine, schedule, clock=SystemClock(), client_options=options))
    assert execution["status"] == "OK", log_of(office, execution["id"])
    return execution


def log_of(office: System, execution_id: int) -> list[tuple[str, str]]:
    with unit_of_work(office.engine, write=False) as conn:
        return [(r.level, r.message) for r in conn.execute(
            select(execution_logs.c.level, execution_logs.c.message)
            .where(execution_logs.c.execution_id == execution_id).order_by(execution_logs.c.id))]


def play(office: Office, options: dict[str, Any], before: Callable[[str], None] = lambda stage: None) -> None:
    """The whole story; ``before(stage)`` is called before each of STAGES (to plan the proxy's faults)."""
    system = office.system
    before("injection")
    run_ok(system, office.injection, options)
    first_wallet_story(system)
    before("feedback-1")
    run_ok(system, office.feedback, options)
    second_wallet_story(system)
    cancel_and_control(system)
    before("push")
    assert run_ok(system, office.push_cancelled, options)["tickets_updated"] == 1
    assert run_ok(system, office.push_controlled, options)["tickets_updated"] == 1
    before("feedback-2")
    run_ok(system, office.feedback, options)


def bookkeeping(office: Office) -> dict[str, Any]:
    """What the export leaves out: ticket statuses, injection and push marks, the feed's pagination key."""
    with unit_of_work(office.system.engine, write=False) as conn:
        rows = conn.execute(select(tickets.c.number, tickets.c.status, tickets.c.injected_at,
                                   tickets.c.push_cancelled_at, tickets.c.push_controlled_at)).all()
        key = conn.scalar(select(schedules.c.pagination_key).where(schedules.c.id == office.feedback))
    return {"key": key, "tickets": {r.number: (r.status, r.injected_at is not None, r.push_cancelled_at is not None,
                                               r.push_controlled_at is not None) for r in rows}}


def wallet_statuses(records: list[dict[str, Any]]) -> dict[str, Counter[str]]:
    """Per ticket, how many records of each status the wallet's whole log holds."""
    counts: dict[str, Counter[str]] = {number: Counter() for number in NUMBERS}
    for record in records:
        counts[record["ticketId"]][record["status"]] += 1
    return counts


def assert_same_as_clean(faulty: Office, clean: System) -> None:
    """The faulty office equals a clean one fed by the same wallet directly; the wallet took each call once."""
    log = faulty.system.wallet.all_records()
    records = len(log)
    wallet = wallet_statuses(log)
    assert all(counts["INJECTED"] == 1 for counts in wallet.values()), wallet
    assert (wallet[CANCELLED]["DELETED"], wallet[CANCELLED]["FAILURE"]) == (1, 1), wallet[CANCELLED]
    assert (wallet[CONTROLLED]["CONTROLLED"], wallet[CONTROLLED]["FAILURE"]) == (1, 1), wallet[CONTROLLED]

    reference = set_up(clean, faulty.system.base_url)
    run_ok(clean, reference.injection, OPTIONS)  # ALREADY_INJECTED: PRINTED like the faulty office's
    cancel_and_control(clean)
    run_ok(clean, reference.push_cancelled, OPTIONS)  # UNCHANGED in the wallet: marked processed
    run_ok(clean, reference.push_controlled, OPTIONS)
    run_ok(clean, reference.feedback, OPTIONS)

    assert len(clean.wallet.all_records()) == records, "the clean office's repeated calls were no-ops"
    assert export(faulty.system.engine) == export(clean.engine)
    assert bookkeeping(faulty) == bookkeeping(reference)
    outcomes = {number: [(line[0], line[4], line[5]) for line in ticket.lines]
                for number, ticket in export(clean.engine).tickets.items()}
    assert outcomes == STORY_LINES, "the states compared hold the story's lines (not two empty states)"


@pytest.fixture
def clean(system: System, tmp_path: Path) -> Iterator[System]:
    """A second back office (SQLite) on the same wallet, reaching it directly: the clean run."""
    office = System(open_backoffice_database(f"sqlite:///{tmp_path / 'clean.db'}"), system.wallet, system.base_url)
    yield office
    office.engine.dispose()


@pytest.fixture
def proxy(system: System) -> Iterator[FaultProxy]:
    with FaultProxy(system.base_url) as served:
        yield served


def planner(proxy: FaultProxy, plans: Plans) -> Callable[[str], None]:
    """``plans[stage][route]``: the faults to queue before that stage."""
    def before(stage: str) -> None:
        assert not proxy.unplayed(), f"faults planned before {stage} were not all played: {proxy.unplayed()}"
        for route, faults in plans.get(stage, {}).items():
            proxy.plan(route, *faults)
    return before


def play_through(proxy: FaultProxy, system: System, plans: Plans,
                 options: dict[str, Any] | None = None) -> Office:
    assert set(plans) <= set(STAGES), f"unknown stages: {set(plans) - set(STAGES)}"
    faulty = set_up(system, proxy.url)
    play(faulty, {**OPTIONS, **(options or {})}, planner(proxy, plans))
    assert proxy.unplayed() == {}, "every planned fault met a request"
    return faulty


# -- one test per fault class -------------------------------------------------------------------------------

def test_5xx_answers_before_and_after_the_wallet_acted_leave_the_clean_state(
        system: System, proxy: FaultProxy, clean: System) -> None:
    """5xx on every call kind: in front of the wallet (nothing happened) and after it acted (its answer
    replaced): each call is repeated, the repeated injection / delete / control are no-ops in the wallet,
    and the back office ends as a clean run's."""
    plans: Plans = {
        "injection": {"inject": [Fault.answer(503), Fault.answer(502, reach_wallet=True), None,
                                 Fault.answer(500, reach_wallet=True)]},
        "feedback-1": {"diff": [None, Fault.answer(503), None, Fault.answer(502, reach_wallet=True),
                                Fault.answer(504)]},
        "push": {"delete": [Fault.answer(500, reach_wallet=True)],
                 "control": [Fault.answer(503), Fault.answer(502, reach_wallet=True)]},
        "feedback-2": {"diff": [Fault.answer(500, reach_wallet=True), None, Fault.answer(503)]},
    }
    faulty = play_through(proxy, system, plans)

    assert proxy.played_on("inject") == ["503", "502-after", "500-after"]
    assert proxy.played_on("diff") == ["503", "502-after", "504", "500-after", "503"]
    assert (proxy.played_on("delete"), proxy.played_on("control")) == (["500-after"], ["503", "502-after"])
    assert all(p.wallet_status == 200 for p in proxy.played if p.label.endswith("-after")), "the wallet acted"
    assert proxy.seen["inject"] == 3 + 3 and proxy.seen["delete"] == 1 + 1 and proxy.seen["control"] == 1 + 2
    assert_same_as_clean(faulty, clean)


def test_answers_held_past_the_read_timeout_leave_the_clean_state(
        system: System, proxy: FaultProxy, clean: System) -> None:
    """The proxy forwards (the wallet acts) and holds the answer until the client's read timeout makes it
    hang up: diff pages are read again, a timed-out injection is sent again and answered ALREADY_INJECTED."""
    plans: Plans = {
        "injection": {"inject": [None, Fault.hold()]},
        "feedback-1": {"diff": [Fault.hold(), None, None, Fault.hold()]},
        "feedback-2": {"diff": [None, Fault.hold()]},
    }
    faulty = play_through(proxy, system, plans, {"timeout": 0.5})

    held = [p for p in proxy.played if p.label == "hold"]
    assert [p.route for p in held] == ["inject", "diff", "diff", "diff"]
    assert all(p.client_gave_up for p in held), "the client hung up on its own read timeout"
    assert all(p.wallet_status == 200 for p in held), "the wallet had acted on every held call"
    assert proxy.seen["inject"] >= 3 + 1
    assert_same_as_clean(faulty, clean)


def test_429_with_retry_after_is_waited_and_leaves_the_clean_state(
        system: System, proxy: FaultProxy, clean: System) -> None:
    """A rate limiter in front of the wallet answers 429 with ``Retry-After`` on every call kind: the
    client waits exactly what each answer says (the sleeps are recorded, and cut short to stay fast),
    repeats the call, and the back office ends as a clean run's."""
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        time.sleep(min(seconds, 0.01))

    plans: Plans = {
        "injection": {"inject": [None, Fault.answer(429, retry_after="1")]},
        "feedback-1": {"diff": [None, Fault.answer(429, retry_after="3"), Fault.answer(429, retry_after="1")]},
        "push": {"delete": [Fault.answer(429, retry_after="2")], "control": [Fault.answer(429, retry_after="4")]},
        "feedback-2": {"diff": [Fault.answer(429, retry_after="2")]},
    }
    faulty = play_through(proxy, system, plans, {"sleep": sleep})

    assert [(p.route, p.label, p.wallet_status) for p in proxy.played] == [
        ("inject", "429", None), ("diff", "429", None), ("diff", "429", None), ("delete", "429", None),
        ("control", "429", None), ("diff", "429", None)]
    assert slept == [1.0, 3.0, 1.0, 2.0, 4.0, 2.0], "one wait per 429, of its Retry-After"
    assert proxy.seen["inject"] == 3 + 1
    assert_same_as_clean(faulty, clean)


def test_connections_cut_mid_body_after_the_wallet_acted_leave_the_clean_state(
        system: System, proxy: FaultProxy, clean: System) -> None:
    """The wallet acts, the proxy sends the head (full Content-Length) and half the body, then closes:
    injection, delete and control are sent again and are no-ops in the wallet; diff pages are read again."""
    plans: Plans = {
        "injection": {"inject": [None, Fault.cut(), None, Fault.cut()]},
        "feedback-1": {"diff": [None, Fault.cut(), Fault.cut(), None, Fault.cut()]},
        "push": {"delete": [Fault.cut()], "control": [Fault.cut()]},
        "feedback-2": {"diff": [Fault.cut()]},
    }
    faulty = play_through(proxy, system, plans)

    assert [(p.route, p.label) for p in proxy.played] == [
        ("inject", "cut"), ("inject", "cut"), ("diff", "cut"), ("diff", "cut"), ("diff", "cut"),
        ("delete", "cut"), ("control", "cut"), ("diff", "cut")]
    assert all(p.wallet_status == 200 for p in proxy.played), "every cut call had been processed by the wallet"
    assert proxy.seen["inject"] == 3 + 2 and proxy.seen["delete"] == 2 and proxy.seen["control"] == 2
    assert_same_as_clean(faulty, clean)


def test_truncated_json_answers_leave_the_clean_state(system: System, proxy: FaultProxy, clean: System) -> None:
    """Complete HTTP answers whose JSON body is cut in half: diff pages (first page, middle pages, two in
    a row) are read again whole, nothing of a half page is applied; an injection and a delete whose
    answers were spoiled after the wallet acted are sent again as no-ops; the back office ends as a clean
    run's."""
    plans: Plans = {
        "injection": {"inject": [None, Fault.truncate()]},
        "feedback-1": {"diff": [Fault.truncate(), None, None, Fault.truncate(), Fault.truncate()]},
        "push": {"delete": [Fault.truncate()]},
        "feedback-2": {"diff": [None, Fault.truncate()]},
    }
    faulty = play_through(proxy, system, plans)

    assert proxy.played_on("diff") == ["truncate"] * 4
    assert (proxy.played_on("inject"), proxy.played_on("delete")) == (["truncate"], ["truncate"])
    assert all(p.wallet_status == 200 for p in proxy.played), "the wallet answered in full; the proxy cut it"
    assert proxy.seen["inject"] == 3 + 1 and proxy.seen["delete"] == 1 + 1
    assert_same_as_clean(faulty, clean)


def test_a_diff_page_served_twice_leaves_the_clean_state(system: System, proxy: FaultProxy, clean: System) -> None:
    """The proxy answers a request for the next page with the previous page again (a stale cache): the
    answer hands back the key that was asked for with ``hasMore``, so the client counts it as a fault and
    asks again (within its retry budget); nothing is doubled, the back office ends as a clean run's."""
    plans: Plans = {
        "feedback-1": {"diff": [None, Fault.replay(), None, None, Fault.replay(), Fault.replay()]},
        "feedback-2": {"diff": [None, Fault.replay()]},
    }
    faulty = play_through(proxy, system, plans)

    replays = [p for p in proxy.played if p.label == "replay"]
    assert len(replays) == 4
    assert all(p.answered_key == p.requested_key for p in replays), "the page answering a key is served again"
    assert_same_as_clean(faulty, clean)


def test_an_earlier_page_after_the_key_moved_leaves_the_clean_state(
        system: System, proxy: FaultProxy, clean: System) -> None:
    """The proxy answers a later request with an earlier page, already applied: twice within a run, and
    at the start of the next run with a page of the previous one. The key goes back, the pages after it
    are read again, their records are ignored, and the key ends where a clean run's does. Last, the
    first page's records are delivered again in front of a new page (old records under the current key,
    after their tickets' later records were applied): they are ignored, nothing rolls back."""
    plans: Plans = {
        "feedback-1": {"diff": [None, None, None, Fault.stale(0), None, Fault.stale(0)]},
        "feedback-2": {"diff": [Fault.stale(1), *[None] * 8, Fault.stale(0, with_new=True)]},
    }
    faulty = play_through(proxy, system, plans)

    stale = [p for p in proxy.played if p.label.startswith("stale")]
    assert [p.label for p in stale] == ["stale-0", "stale-0", "stale-1", "stale-0-with-new"]

    def position(key: str | None) -> int:
        parsed = feed.parse_key(key or None, 1)
        return parsed.record_id if parsed else 0

    *moved_back, with_new = stale
    assert all(position(p.answered_key) < position(p.requested_key) for p in moved_back), "the key went back"
    first_page = {record["ticketId"]: record["recordId"] for record in system.wallet.diff(None, FEED_BATCH)["records"]}
    last_of = {r["ticketId"]: r["recordId"] for r in system.wallet.all_records() if r["ticketId"] in first_page}
    assert all(position(with_new.requested_key) >= last for last in last_of.values()), \
        "the first page came again after its tickets' last records were applied"
    assert_same_as_clean(faulty, clean)


def test_a_feed_that_keeps_answering_the_page_asked_for_is_bounded(
        system: System, proxy: FaultProxy, clean: System) -> None:
    """A page answered again and again for the next key (``hasMore`` true, the key it was asked for: no
    progress) is a fault with a budget, not a loop: after ``max_attempts`` such answers the run ends ERROR
    keeping the pages before it, and the next clean run ends as a clean office's."""
    faulty = set_up(system, proxy.url)
    run_ok(system, faulty.injection, OPTIONS)
    first_wallet_story(system)
    proxy.plan("diff", None, *[Fault.replay()] * 4)

    stuck = asdict(run_schedule(system.engine, faulty.feedback, clock=SystemClock(),
                                client_options={**OPTIONS, "max_attempts": 4}))

    assert stuck["status"] == "ERROR" and proxy.unplayed() == {} and proxy.seen["diff"] == 1 + 4
    errors = [message for level, message in log_of(system, stuck["id"]) if level == "ERROR"]
    assert len(errors) == 1 and "failed after 4 attempts" in errors[0] and "no progress" in errors[0], errors
    assert stuck["records_read"] == FEED_BATCH, "the page before the stuck one is kept"
    run_ok(system, faulty.feedback, OPTIONS)
    reference = set_up(clean, system.base_url)
    run_ok(clean, reference.injection, OPTIONS)
    run_ok(clean, reference.feedback, OPTIONS)
    assert export(system.engine) == export(clean.engine)
    assert bookkeeping(faulty) == bookkeeping(reference)
