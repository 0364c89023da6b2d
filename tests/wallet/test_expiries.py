"""W6: an organizer's overdue expiries are materialized, all of them and in ``expiresAt`` order, by
every write of the organizer and every read of its feed, so when or how often the feed is read never
changes the log (issue 16 item 0).

- a concrete history: an expiry of one ticket, then a transfer of another ticket to the same person;
- a property: two organizers of one wallet receive the same actions at the same test-clock times,
  one's feed read after every action, the other's never until the end: their logs are record for
  record the same (statuses, tickets, times, people, transfers up to their ids, order);
- concurrent writers and readers never materialize one expiry twice.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from tests.support.wallet import START, Wallet, read_feed, run, ticket_payload
from tixtrace.kernel.clock import TestClock
from tixtrace.wallet.app import create_wallet_app
from tixtrace.wallet.db import tickets as tickets_repo
from tixtrace.wallet.db.database import open_wallet_database
from tixtrace.wallet.db.tables import tickets as tickets_table
from tixtrace.wallet.services import injection, spectators, transfers
from tixtrace.wallet.services.organizers import create_organizer

ANA, P1 = "ana@example.com", "p1@example.com"
HOUR = 3600


def statuses(records: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(r["ticketId"], r["status"]) for r in records]


def send(wallet: Wallet, sender: str, ticket_id: str, recipient: str) -> str:
    response = wallet.transfer(sender, ticket_id, recipient)
    assert response.status_code == 201, response.text
    return str(response.json()["transferId"])


def test_an_expiry_is_logged_before_a_later_action_on_another_ticket(wallet):
    """The issue's history, the feed read only at the end: t0's TIMEOUT comes before t1's transfer."""
    wallet.inject(ticket_payload("t0", ANA), ticket_payload("t1", ANA))
    wallet.profile(P1)
    send(wallet, ANA, "t0", P1)
    wallet.advance(HOUR + 60)  # nobody acts for an hour: t0's transfer is overdue
    transfer_id = send(wallet, ANA, "t1", P1)
    assert wallet.act(P1, transfer_id, "accept").status_code == 200
    records = wallet.all_records()
    assert statuses(records) == [("t0", "INJECTED"), ("t1", "INJECTED"), ("t0", "PENDING_TRANSFER"),
                                 ("t0", "FAILURE"), ("t1", "PENDING_TRANSFER"), ("t1", "TRANSFERRED")]
    failure = records[3]
    assert failure["transfer"]["failureReason"] == "TIMEOUT"
    assert failure["occurredAt"] == failure["transfer"]["expiresAt"]


def test_a_refused_action_and_an_injection_materialize_every_overdue_expiry(wallet):
    wallet.inject(ticket_payload("t0", ANA), ticket_payload("t1", ANA))
    send(wallet, ANA, "t0", P1)
    wallet.advance(HOUR)  # exactly expiresAt: due
    response = wallet.as_spectator(ANA, "POST", "/spectator/tickets/t1/transfers", json={"recipientEmail": ANA})
    assert response.status_code == 409  # refused, yet it commits the expiry it uncovered, of another ticket
    wallet.inject(ticket_payload("t2", ANA))
    assert statuses(wallet.all_records())[2:] == [("t0", "PENDING_TRANSFER"), ("t0", "FAILURE"),
                                                  ("t2", "INJECTED")]


def test_expiries_are_logged_in_expires_at_order_not_ticket_order(wallet):
    wallet.inject(ticket_payload("t0", ANA), ticket_payload("t1", ANA), ticket_payload("t2", ANA))
    send(wallet, ANA, "t2", P1)
    wallet.advance(60)
    send(wallet, ANA, "t0", P1)
    wallet.advance(60)
    send(wallet, ANA, "t1", P1)
    wallet.advance(2 * HOUR)
    records = wallet.all_records()
    assert statuses(records)[-3:] == [("t2", "FAILURE"), ("t0", "FAILURE"), ("t1", "FAILURE")]
    times = [r["occurredAt"] for r in records[-3:]]
    assert times == sorted(times) and times == [r["transfer"]["expiresAt"] for r in records[-3:]]


# -- the property: reading the feed never changes the log -------------------------------------------

PEOPLE = 3  # p0 and p1 have a profile (they can accept), p2 has none (PROFILE_INCOMPLETE)
TICKETS = 4

Step = tuple[Any, ...]
# ("transfer", ticket, k): its owner sends it to the k-th person after them (k = 0: to themselves, refused)
transfer_st = st.tuples(st.just("transfer"), st.integers(0, TICKETS - 1), st.sampled_from([1, 1, 2, 0]))
respond_st = st.tuples(st.just("respond"), st.integers(0, TICKETS - 1),
                       st.sampled_from(["accept", "reject", "cancel"]))
advance_st = st.tuples(st.just("advance"), st.sampled_from([3600, 1800, 60, 600, 3540, 3599, 3601, 5400, 7200]))
steps_st = st.lists(st.one_of(
    # weighted: transfers, answers and time passing make the histories the property is about
    transfer_st, transfer_st, transfer_st, transfer_st, respond_st, respond_st, advance_st, advance_st, advance_st,
    st.tuples(st.just("list"), st.integers(0, PEOPLE - 1)),
    st.tuples(st.just("holder"), st.integers(0, TICKETS - 1)),
    st.tuples(st.just("organizer_transfer"), st.integers(0, TICKETS - 1), st.integers(0, PEOPLE - 1)),
    st.tuples(st.just("control"), st.integers(0, TICKETS - 1)),
    st.tuples(st.just("delete"), st.integers(0, TICKETS - 1)),
    st.tuples(st.just("inject"), st.integers(0, PEOPLE - 1)),
), min_size=6, max_size=30)


@dataclass
class Side:
    """One organizer's wallet as the test sees it: its spectators' e-mails and what it answered."""

    wallet: Wallet
    domain: str
    read_every_step: bool
    key: str | None = None
    owner: dict[str, int] = field(default_factory=dict)  # ticket id → person
    last: dict[str, tuple[str, int, int]] = field(default_factory=dict)  # ticket id → (transfer id, sender, recipient)

    def email(self, person: int) -> str:
        return f"p{person}@{self.domain}"

    def read(self) -> None:
        while True:
            page = self.wallet.diff(self.key)
            self.key = page["paginationKey"]
            if not page["hasMore"]:
                return


def _apply(side: Side, step: Step, n_injected: int) -> int:
    """Run one step on one side; returns the HTTP status (both sides must answer the same)."""
    w, kind = side.wallet, step[0]
    if kind == "transfer":
        ticket_id = f"T{step[1]}"
        sender = side.owner[ticket_id]
        to = (sender + step[2]) % PEOPLE
        response = w.transfer(side.email(sender), ticket_id, side.email(to))
        if response.status_code == 201:
            side.last[ticket_id] = (response.json()["transferId"], sender, to)
            if response.json()["status"] == "ACCEPTED":
                side.owner[ticket_id] = to
        return int(response.status_code)
    if kind == "respond":
        ticket_id, action = f"T{step[1]}", step[2]
        if ticket_id not in side.last:
            return 0
        transfer_id, sender, recipient = side.last[ticket_id]
        response = w.act(side.email(sender if action == "cancel" else recipient), transfer_id, action)
        if response.status_code == 200 and response.json()["status"] == "ACCEPTED":
            side.owner[ticket_id] = recipient
        return int(response.status_code)
    if kind == "list":
        return int(w.as_spectator(side.email(step[1]), "GET", "/spectator/tickets").status_code)
    if kind == "holder":
        ticket_id = f"T{step[1]}"
        return int(w.as_spectator(side.email(side.owner[ticket_id]), "POST", f"/spectator/tickets/{ticket_id}/holder",
                                  json={"firstName": "Hal", "lastName": "Ng"}).status_code)
    if kind == "organizer_transfer":
        ticket_id = f"T{step[1]}"
        response = w.client.post(f"/organizer/tickets/{ticket_id}/transfer", auth=w.auth,
                                 json={"recipientEmail": side.email(step[2]), "reason": "seat change"})
        if response.status_code == 200:
            side.owner[ticket_id] = step[2]
        return int(response.status_code)
    if kind in ("control", "delete"):
        item: dict[str, Any] = {"ticketId": f"T{step[1]}"}
        if kind == "delete":
            item["showDeletedTicket"] = True
        response = w.client.post(f"/organizer/tickets/{kind}", auth=w.auth, json={"tickets": [item]})
        assert response.status_code == 200, response.text
        return int(response.status_code) * 10 + len(json.dumps(response.json()))
    if kind == "inject":
        ticket_id = f"N{n_injected}"
        w.inject(ticket_payload(ticket_id, side.email(step[1])))
        return 200
    raise AssertionError(step)


def _normalized(records: list[dict[str, Any]], domain: str) -> list[Any]:
    """The records without what legitimately differs: record ids, transfer ids (numbered by first
    appearance) and the e-mail domain of the side's people."""
    numbers: dict[str, int] = {}
    out = []
    for record in records:
        record = dict(record)
        del record["recordId"]
        if record["transfer"] is not None:
            record["transfer"] = dict(record["transfer"])
            tid = record["transfer"]["transferId"]
            record["transfer"]["transferId"] = numbers.setdefault(tid, len(numbers))
        out.append(json.loads(json.dumps(record).replace(f"@{domain}", "@people.example")))
    return out


@dataclass
class TwoOrganizers:
    engine: Engine
    clock: TestClock
    client: TestClient
    serial: Iterator[int]

    def sides(self) -> tuple[Side, Side]:
        n = next(self.serial)
        made = []
        for letter, eager in (("a", True), ("b", False)):
            organizer, api_key = run(self.engine, create_organizer, self.clock, f"org-{letter}{n}@example.org")
            wallet = Wallet(self.client, self.clock, (organizer.email, api_key))
            made.append(Side(wallet, f"{letter}{n}.example", eager))
        return made[0], made[1]


@pytest.fixture
def two_organizers(wallet_url: str) -> Iterator[TwoOrganizers]:
    engine = open_wallet_database(wallet_url)
    clock = TestClock(START)
    with TestClient(create_wallet_app(engine, clock=clock, sandbox=True)) as client:
        yield TwoOrganizers(engine, clock, client, itertools.count())
    engine.dispose()


def run_history(two: TwoOrganizers, steps: list[Step]) -> None:
    eager, lazy = two.sides()
    for side in (eager, lazy):
        side.wallet.inject(*(ticket_payload(f"T{i}", side.email(i % 2)) for i in range(TICKETS)))
        side.owner.update({f"T{i}": i % 2 for i in range(TICKETS)})
        for person in (0, 1):
            side.wallet.profile(side.email(person))
        side.read()
    injected = 0
    for step in steps:
        if step[0] == "advance":
            two.clock.advance(step[1])
        else:
            answers = [_apply(side, step, injected) for side in (eager, lazy)]
            assert answers[0] == answers[1], (step, answers)
            injected += step[0] == "inject"
        eager.read()  # the eager organizer reads its feed after every step, the lazy one never
    records = {side.domain: side.wallet.all_records() for side in (eager, lazy)}
    assert _normalized(records[eager.domain], eager.domain) == _normalized(records[lazy.domain], lazy.domain)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(steps=steps_st)
@example(steps=[("transfer", 0, 1), ("advance", 3600), ("transfer", 2, 1), ("respond", 2, "accept")])  # the issue's
def test_reading_the_feed_never_changes_the_log(two_organizers: TwoOrganizers, backend: str,
                                                steps: list[Step]) -> None:
    run_history(two_organizers, steps)


def test_the_issues_history_gives_one_log_however_often_the_feed_is_read(two_organizers):
    run_history(two_organizers, [("transfer", 0, 1), ("advance", HOUR + 60), ("transfer", 2, 1),
                                 ("respond", 2, "accept")])


# -- concurrency: one expiry is materialized once --------------------------------------------------

def test_concurrent_writers_and_readers_materialize_each_expiry_once(backend, wallet_url):
    """Readers of the feed and writers on other tickets start together when 20 transfers are overdue:
    each expiry is logged once, and before every record of the writers (the organizer's log lock)."""
    engine = open_wallet_database(wallet_url)
    clock = TestClock(START)
    organizer, _ = run(engine, create_organizer, clock, "org@wc26.example")
    people = [run(engine, spectators.authenticate, clock, run(engine, spectators.start_session, clock,
                                                                     f"s{i}@example.com", sandbox=True)).account
              for i in range(3)]
    batch = [injection.NewTicket(ticket_id=f"T{i}", event={"id": "E1"}, purchase={}, barcode=f"T{i}",
                                 spectator={"email": people[i % 3].email, "firstName": "O", "lastName": "W"})
             for i in range(63)]
    run(engine, injection.inject, clock, organizer.id, batch)
    for i in range(3, 63, 3):
        run(engine, transfers.start_transfer, clock, people[0], f"T{i}", P1)
    clock.advance(HOUR + 1)
    errors: list[BaseException] = []
    barrier = threading.Barrier(6)

    def act(job: int) -> None:
        try:
            barrier.wait()
            if job < 3:
                read_feed(engine, clock, organizer.id, None, 10)
            else:
                run(engine, transfers.start_transfer, clock, people[job - 3], f"T{job - 3}", P1)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=act, args=(job,)) for job in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert errors == []
        records = [json.loads(r) for r in read_feed(engine, clock, organizer.id, None, 1000).records]
        failures = [r["transfer"]["transferId"] for r in records if r["status"] == "FAILURE"]
        assert len(failures) == 20 and len(set(failures)) == 20
        late = [i for i, r in enumerate(records) if r["status"] == "PENDING_TRANSFER" and r["ticketId"] in
                ("T0", "T1", "T2")]
        first_failure = min(i for i, r in enumerate(records) if r["status"] == "FAILURE")
        last_failure = max(i for i, r in enumerate(records) if r["status"] == "FAILURE")
        assert len(late) == 3 and min(late) > last_failure and last_failure - first_failure == 19
    finally:
        engine.dispose()


def test_a_transfer_cannot_be_resolved_twice_even_without_the_lock(backend, wallet_url):
    """The guard under the lock (PostgreSQL, where writers run at once): two transactions that both
    loaded one overdue transfer (possible only if one skipped ``begin_write``) cannot both log its
    expiry: the second save finds it no longer PENDING and raises, so its transaction rolls back."""
    if backend != "postgresql":
        pytest.skip("SQLite admits one writer at a time: the second would not even start")
    engine = open_wallet_database(wallet_url)
    clock = TestClock(START)
    try:
        organizer, _ = run(engine, create_organizer, clock, "org@wc26.example")
        ana = run(engine, spectators.authenticate, clock,
                  run(engine, spectators.start_session, clock, ANA, sandbox=True)).account
        run(engine, injection.inject, clock, organizer.id, [injection.NewTicket(
            ticket_id="T1", event={"id": "E1"}, purchase={}, barcode="T1",
            spectator={"email": ANA, "firstName": "Ana", "lastName": "Lima"})])
        run(engine, transfers.start_transfer, clock, ana, "T1", P1)
        clock.advance(HOUR)
        now = clock.now()
        with engine.connect() as first, engine.connect() as second:
            loaded = []
            for conn in (first, second):  # both read the transfer PENDING (no lock taken)
                conn.begin()
                [stored] = tickets_repo.load(conn, tickets_table.c.ticket_id == "T1")
                loaded.append((stored, stored.ticket.expire_if_due(now)))
            assert all(len(changes) == 1 for _, changes in loaded)
            tickets_repo.save(first, organizer.id, [loaded[0]], now)
            first.commit()
            with pytest.raises(RuntimeError, match="no longer PENDING"):
                tickets_repo.save(second, organizer.id, [loaded[1]], now)
            second.rollback()
        records = [json.loads(r) for r in read_feed(engine, clock, organizer.id, None, 100).records]
        assert [r["status"] for r in records] == ["INJECTED", "PENDING_TRANSFER", "FAILURE"]
    finally:
        engine.dispose()
