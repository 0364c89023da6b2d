"""The diff feed (DESIGN sections 3 W6 and 7): every lifecycle record exactly once, in record order, each
ticket's records in causal order, whatever the batch size, also while writers keep appending."""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select, text

from tests.support.wallet import START, read_feed, run, ticket_payload
from tixtrace.kernel.clock import TestClock
from tixtrace.kernel.errors import TixtraceError
from tixtrace.wallet.db.database import open_wallet_database
from tixtrace.wallet.db.tables import status_log
from tixtrace.wallet.services import injection, spectators, transfers
from tixtrace.wallet.services import tickets as tickets_service
from tixtrace.wallet.services.organizers import create_organizer

ANA, BEA, CID = "ana@example.com", "bea@example.com", "cid@example.com"


def check_causal(records: list[dict[str, Any]]) -> None:
    """Each ticket's records, in feed order, tell a possible story (W1-W8)."""
    by_ticket: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        by_ticket[record["ticketId"]].append(record)
    for ticket_id, log in by_ticket.items():
        assert log[0]["status"] == "INJECTED", (ticket_id, log[0])
        assert all(r["status"] != "INJECTED" for r in log[1:]), ticket_id
        pending: str | None = None
        level = 0
        previous_time = None
        for record in log:
            when = datetime.fromisoformat(record["occurredAt"])
            assert previous_time is None or when >= previous_time, (ticket_id, record)
            previous_time = when
            status, transfer = record["status"], record["transfer"]
            if status == "PENDING_TRANSFER":
                assert pending is None, (ticket_id, "two pending transfers", record)
                pending = transfer["transferId"]
                assert when < datetime.fromisoformat(transfer["expiresAt"])
            elif status in ("FAILURE_TRANSFER", "FAILURE") and transfer is not None:
                assert transfer["transferId"] == pending, (ticket_id, record)
                assert transfer["failureReason"], record
                if transfer["failureReason"] == "TIMEOUT":
                    assert record["occurredAt"] == transfer["expiresAt"]
                pending = None
            elif status == "TRANSFERRED":
                if transfer["initiatedBy"] == "SPECTATOR" and transfer["direction"] == "FORWARD":
                    assert transfer["transferId"] == pending or transfer["expiresAt"] is None, record
                else:
                    assert pending is None, record
                pending = None
                level += 1 if transfer["direction"] == "FORWARD" else -1
                assert record["walletOwner"]["email"] == transfer["recipient"]["email"]
            elif status in ("CONTROLLED", "DELETION_PENDING", "DELETED"):
                assert pending is None, (ticket_id, "frozen with a pending transfer", record)
            assert record["transferLevel"] == level, (ticket_id, record)
        if any(r["status"] == "DELETED" for r in log):
            assert log[-1]["status"] == "DELETED", ticket_id


def build_history(wallet: Any) -> None:
    """A bit of everything: downloads, holders, accepts, back, rejects, cancels, time-outs, control, delete."""
    wallet.inject(*(ticket_payload(f"T{i}", ANA) for i in range(1, 9)), ticket_payload("U1", BEA))
    wallet.profile(BEA)
    wallet.profile(CID)
    assert wallet.as_spectator(ANA, "GET", "/spectator/tickets").status_code == 200
    assert wallet.as_spectator(ANA, "POST", "/spectator/tickets/T1/holder",
                               json={"firstName": "Hal", "lastName": "Ng"}).status_code == 200

    def send(sender: str, ticket_id: str, recipient: str) -> str:
        response = wallet.transfer(sender, ticket_id, recipient)
        assert response.status_code == 201, response.text
        return str(response.json()["transferId"])

    assert wallet.act(BEA, send(ANA, "T1", BEA), "accept").status_code == 200
    wallet.advance(10)
    assert wallet.act(CID, send(BEA, "T1", CID), "accept").status_code == 200
    send(CID, "T1", BEA)  # BACKWARD: immediate
    assert wallet.act(BEA, send(ANA, "T2", BEA), "reject").status_code == 200
    assert wallet.act(ANA, send(ANA, "T3", BEA), "cancel").status_code == 200
    send(ANA, "T4", CID)  # will time out
    send(ANA, "T5", CID)  # will be failed by the control
    send(ANA, "T6", CID)  # will be failed by the delete
    wallet.advance(100)
    response = wallet.client.post("/organizer/tickets/control", auth=wallet.auth,
                                  json={"tickets": [{"ticketId": "T5"}]})
    assert response.status_code == 200
    response = wallet.client.post("/organizer/tickets/delete", auth=wallet.auth, json={"tickets": [
        {"ticketId": "T6", "showDeletedTicket": True}, {"ticketId": "U1", "showDeletedTicket": False}]})
    assert response.status_code == 200
    response = wallet.client.post("/organizer/tickets/T7/transfer", auth=wallet.auth,
                                  json={"recipientEmail": CID, "reason": "upgrade"})
    assert response.status_code == 200
    wallet.advance(3600)  # T4's window closes; the feed materializes it
    assert wallet.as_spectator(ANA, "GET", "/spectator/tickets").status_code == 200  # T6 DELETED


def read_all(wallet: Any, batch_size: int) -> tuple[list[dict[str, Any]], str]:
    records: list[dict[str, Any]] = []
    key = None
    for _ in range(10_000):
        page = wallet.diff(key, batch_size=batch_size)
        assert set(page) == {"records", "paginationKey", "hasMore"}
        assert len(page["records"]) <= batch_size
        if page["hasMore"]:
            assert len(page["records"]) == batch_size
        records += page["records"]
        key = page["paginationKey"]
        assert isinstance(key, str) and key
        if not page["hasMore"]:
            return records, str(key)
    raise AssertionError("the feed never ended")


def test_an_empty_feed_keeps_its_key(wallet):
    first = wallet.diff()
    assert first["records"] == [] and first["hasMore"] is False
    again = wallet.diff(first["paginationKey"])
    assert again == first
    wallet.inject(ticket_payload("T1", ANA))
    page = wallet.diff(first["paginationKey"])
    assert [r["status"] for r in page["records"]] == ["INJECTED"]
    assert page["paginationKey"] != first["paginationKey"]


def test_every_record_exactly_once_whatever_the_batch_size(wallet):
    build_history(wallet)
    everything, end = read_all(wallet, 10_000)
    assert len(everything) >= 35
    ids = [r["recordId"] for r in everything]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert {"TRANSFERRED", "FAILURE_TRANSFER", "FAILURE", "CONTROLLED", "DELETION_PENDING", "DELETED", "ASSIGNED",
            "DOWNLOADED", "PENDING_TRANSFER"} <= {r["status"] for r in everything}
    assert {r["transfer"]["failureReason"] for r in everything if r["status"] == "FAILURE"} == {
        "TIMEOUT", "TICKET_CONTROLLED", "TICKET_DELETED"}
    check_causal(everything)

    for batch_size in (1, 2, 7, 1000):
        records, key = read_all(wallet, batch_size)
        assert records == everything, batch_size
        # nothing new: no records, the same key, again and again
        for _ in range(2):
            page = wallet.diff(key, batch_size=batch_size)
            assert page == {"records": [], "paginationKey": key, "hasMore": False}
        assert key == end

    # each ticket's records in the feed are its status log, in the same order
    for ticket_id in {r["ticketId"] for r in everything}:
        assert wallet.detail(ticket_id)["statusLog"] == [r for r in everything if r["ticketId"] == ticket_id]

    # something new after the end: exactly that, from the kept key
    wallet.inject(ticket_payload("T99", BEA))
    page = wallet.diff(end, batch_size=1)
    assert [(r["ticketId"], r["status"]) for r in page["records"]] == [("T99", "INJECTED")]
    assert page["hasMore"] is False
    assert page["records"][0]["recordId"] > everything[-1]["recordId"]


def test_a_page_boundary_at_the_exact_end(wallet):
    wallet.inject(*(ticket_payload(f"T{i}", ANA) for i in range(4)))
    page = wallet.diff(batch_size=4)
    assert len(page["records"]) == 4 and page["hasMore"] is False
    page = wallet.diff(batch_size=2)
    assert len(page["records"]) == 2 and page["hasMore"] is True
    page = wallet.diff(page["paginationKey"], batch_size=2)
    assert len(page["records"]) == 2 and page["hasMore"] is False


def test_expiries_appear_in_the_feed_in_causal_order_while_paging(wallet):
    """A transfer expiring between two pages is appended after what was already read, once."""
    wallet.inject(*(ticket_payload(f"T{i}", ANA) for i in range(6)))
    for i in range(6):
        assert wallet.transfer(ANA, f"T{i}", BEA).status_code == 201
        wallet.advance(60)
    seen: list[dict[str, Any]] = []
    page = wallet.diff(batch_size=5)
    seen += page["records"]
    wallet.advance(3600 - 5 * 60)  # the first transfer's window is over
    for _ in range(20):
        page = wallet.diff(page["paginationKey"], batch_size=5)
        seen += page["records"]
        wallet.advance(60)
        if not page["hasMore"] and all(
                any(r["status"] == "FAILURE" and r["ticketId"] == f"T{i}" for r in seen) for i in range(6)):
            break
    ids = [r["recordId"] for r in seen]
    assert ids == sorted(set(ids))
    assert ids == [r["recordId"] for r in wallet.all_records()]
    assert sum(r["status"] == "FAILURE" for r in seen) == 6
    check_causal(seen)


@pytest.mark.slow  # concurrency
def test_concurrent_writers_never_make_the_reader_skip_a_record(backend, wallet_url):
    """PostgreSQL: 4 writers inject and transfer through the services while a reader pages the feed with
    small batches; after the writers stop and a final drain, the reader saw every record id exactly once."""
    if backend != "postgresql":
        pytest.skip("concurrent commit order only matters on PostgreSQL (SQLite admits one writer at a time)")
    engine = open_wallet_database(wallet_url)
    clock = TestClock(START)
    organizer, _ = run(engine, create_organizer, clock, "org@wc26.example")
    org_id = organizer.id

    def account(email: str, complete: bool = True) -> spectators.Account:
        me = run(engine, spectators.authenticate, clock,
                 run(engine, spectators.start_session, clock, email, sandbox=True)).account
        if complete:
            run(engine, spectators.update_profile, me, {"firstName": "R", "lastName": email.split("@")[0]})
        return me

    writers, rounds = 4, 12
    owners = [account(f"owner{w}@example.com") for w in range(writers)]
    recipients = [account(f"recipient{w}@example.com") for w in range(writers)]
    errors: list[BaseException] = []
    writers_done = threading.Event()

    def write(w: int) -> None:
        owner, recipient = owners[w], recipients[w]
        try:
            for r in range(rounds):
                ids = [f"W{w}-{r}-{k}" for k in range(3)]
                batch = [injection.NewTicket(ticket_id=t, event={"id": "E1"}, purchase={}, barcode=t,
                                             spectator={"email": owner.email, "firstName": "O", "lastName": "W"})
                         for t in ids]
                assert set(run(engine, injection.inject, clock, org_id, batch).values()) == {"INJECTED"}
                accepted = run(engine, transfers.start_transfer, clock, owner, ids[0], recipient.email)
                run(engine, transfers.accept, clock, recipient, accepted.transfer_id)
                run(engine, transfers.start_transfer, clock, recipient, ids[0], owner.email)  # BACKWARD
                rejected = run(engine, transfers.start_transfer, clock, owner, ids[1], recipient.email)
                run(engine, transfers.reject, clock, recipient, rejected.transfer_id)
                if r % 3 == 0:
                    run(engine, tickets_service.organizer_transfer, clock, org_id, ids[2], recipient.email, "desk")
                elif r % 3 == 1:
                    run(engine, transfers.start_transfer, clock, owner, ids[2], recipient.email)
                    run(engine, tickets_service.control_tickets, clock, org_id, [ids[2]])
                else:
                    run(engine, tickets_service.delete_tickets, clock, org_id, [(ids[2], True)])
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    seen: list[int] = []

    def read() -> None:
        key: str | None = None
        try:
            for call in range(200_000):  # bounded; ends long before when the writers stop
                if writers_done.is_set():
                    break
                page = read_feed(engine, clock, org_id, key, 1 + call % 3)
                seen.extend(json.loads(record)["recordId"] for record in page.records)
                key = page.pagination_key
            else:
                raise AssertionError("the writers never finished")
            for _ in range(100_000):  # the final drain
                page = read_feed(engine, clock, org_id, key, 2)
                seen.extend(json.loads(record)["recordId"] for record in page.records)
                key = page.pagination_key
                if not page.has_more:
                    break
            last = read_feed(engine, clock, org_id, key, 2)
            assert last.records == [] and last.pagination_key == key
        except BaseException as exc:
            errors.append(exc)

    reader = threading.Thread(target=read)
    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    reader.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    writers_done.set()
    reader.join()
    try:
        assert errors == []
        with engine.connect() as conn:
            stored = list(conn.scalars(select(status_log.c.record_id).order_by(status_log.c.record_id)))
        # per round: 3 INJECTED, PENDING + TRANSFERRED + TRANSFERRED back, PENDING + FAILURE_TRANSFER, and
        # TRANSFERRED (organizer) | PENDING + FAILURE + CONTROLLED | DELETED
        assert len(stored) == writers * sum(8 + (3 if r % 3 == 1 else 1) for r in range(rounds))
        assert len(seen) == len(set(seen)), "a record was read twice"
        assert seen == sorted(seen), "records out of order"
        assert seen == stored, f"missed {sorted(set(stored) - set(seen))[:10]}"
    finally:
        engine.dispose()


# -- the visibility watermark (PostgreSQL: writers of one organizer run at once) -------------------

def _two_tickets(engine, clock):  # type: ignore[no-untyped-def]
    organizer, _ = run(engine, create_organizer, clock, "org@wc26.example")
    batch = [injection.NewTicket(ticket_id=t, event={"id": "E1"}, purchase={}, barcode=t,
                                 spectator={"email": ANA, "firstName": "Ana", "lastName": "Lima"})
             for t in ("T1", "T2")]
    run(engine, injection.inject, clock, organizer.id, batch)
    return organizer.id


def _feed_ids(engine, clock, org_id: int) -> list[int]:  # type: ignore[no-untyped-def]
    """Every record id the feed returns now, from the start."""
    return [json.loads(record)["recordId"] for record in read_feed(engine, clock, org_id, None, 100).records]


def _stored_ids(engine) -> list[int]:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return list(conn.scalars(select(status_log.c.record_id).order_by(status_log.c.record_id)))


def test_a_record_committed_behind_a_running_writer_waits_for_it(backend, wallet_url):
    """Writer A draws a record id and stays open; writer B, on another ticket of the same organizer,
    draws a larger one and commits. B did not wait for A (no organizer lock), but the feed must not
    return B's record while A runs: a reader would then pass A's smaller id. Once A commits, both come,
    in id order."""
    if backend != "postgresql":
        pytest.skip("SQLite admits one writer at a time: B would wait for A")
    engine = open_wallet_database(wallet_url)
    clock = TestClock(START)
    try:
        org_id = _two_tickets(engine, clock)
        injected = _feed_ids(engine, clock, org_id)
        with engine.connect() as a:
            a.begin()
            tickets_service.organizer_transfer(a, clock, org_id, "T1", BEA, "desk")  # draws its id, open
            run(engine, tickets_service.organizer_transfer, clock, org_id, "T2", CID, "desk")  # commits
            stored = _stored_ids(engine)
            assert len(stored) == len(injected) + 1, "B committed without waiting for A"
            assert _feed_ids(engine, clock, org_id) == injected, "B's record passed A's running one"
            a.commit()
        everything = _feed_ids(engine, clock, org_id)
        assert everything == _stored_ids(engine) and len(everything) == len(injected) + 2
    finally:
        engine.dispose()


def test_a_writer_with_an_early_transaction_id_neither_holds_the_feed_back_nor_is_passed(backend, wallet_url):
    """The pitfall of a watermark on transaction ids: A gets its transaction id first (a first write,
    then it may wait on a row lock) but draws its record id last; B, with a later transaction id, draws
    first and stays open. Returning the records of transactions older than the oldest running one
    ("xid < xmin") would return A's record, the larger id, and pass B's. The watermark is on the ids
    drawn, not on transaction ids: A's record waits for B; and before it draws, A holds nothing back."""
    if backend != "postgresql":
        pytest.skip("SQLite admits one writer at a time")
    engine = open_wallet_database(wallet_url)
    clock = TestClock(START)
    try:
        org_id = _two_tickets(engine, clock)
        injected = _feed_ids(engine, clock, org_id)
        with engine.connect() as a, engine.connect() as b:
            a.begin()
            xid_a = a.execute(text("SELECT pg_current_xact_id()::text::bigint")).scalar_one()  # early xid
            # A holding an xid but no record id yet does not stop the feed
            run(engine, tickets_service.organizer_transfer, clock, org_id, "T2", CID, "desk")
            first = _feed_ids(engine, clock, org_id)
            assert first == _stored_ids(engine) and len(first) == len(injected) + 1
            b.begin()
            xid_b = b.execute(text("SELECT pg_current_xact_id()::text::bigint")).scalar_one()
            assert xid_a < xid_b
            # B draws M and stays open (another recipient than A's: creating one account, A would wait for B)
            tickets_service.organizer_transfer(b, clock, org_id, "T2", "dan@example.com", "desk")
            tickets_service.organizer_transfer(a, clock, org_id, "T1", BEA, "desk")  # A draws N > M
            a.commit()  # the oldest transaction has ended: only B (newer) runs
            assert _feed_ids(engine, clock, org_id) == first, "A's record passed B's smaller running one"
            b.commit()
        everything = _feed_ids(engine, clock, org_id)
        assert everything == _stored_ids(engine) and len(everything) == len(first) + 2
    finally:
        engine.dispose()


def test_an_aborted_writer_leaves_a_gap_the_feed_steps_over(backend, wallet_url):
    """A writer that drew an id and rolled back holds nothing back once it ended: its id is never
    committed, and the records after it come."""
    if backend != "postgresql":
        pytest.skip("SQLite admits one writer at a time")
    engine = open_wallet_database(wallet_url)
    clock = TestClock(START)
    try:
        org_id = _two_tickets(engine, clock)
        with engine.connect() as a:
            a.begin()
            tickets_service.organizer_transfer(a, clock, org_id, "T1", BEA, "desk")
            run(engine, tickets_service.organizer_transfer, clock, org_id, "T2", CID, "desk")
            a.rollback()
        ids = _feed_ids(engine, clock, org_id)
        assert ids == _stored_ids(engine) and len(ids) == 3 and ids[-1] - ids[-2] == 2
    finally:
        engine.dispose()


@pytest.mark.slow  # concurrency
def test_two_spectators_racing_for_one_transfer_resolve_it_once(backend, wallet_url):
    """Without the organizer lock the ticket's row lock keeps one ticket's writers in turn: the
    recipient accepts while the sender cancels, many times at once; each transfer ends exactly once
    (one TRANSFERRED or one FAILURE_TRANSFER record), the loser is told TRANSFER_NOT_PENDING, and no
    write fails otherwise."""
    engine = open_wallet_database(wallet_url)
    clock = TestClock(START)
    try:
        organizer, _ = run(engine, create_organizer, clock, "org@wc26.example")
        people = []
        for email in (ANA, BEA):
            me = run(engine, spectators.authenticate, clock,
                     run(engine, spectators.start_session, clock, email, sandbox=True)).account
            run(engine, spectators.update_profile, me, {"firstName": "R", "lastName": email.split("@")[0]})
            people.append(me)
        ana, bea = people
        rounds = 15
        run(engine, injection.inject, clock, organizer.id, [
            injection.NewTicket(ticket_id=f"T{i}", event={"id": "E1"}, purchase={}, barcode=f"T{i}",
                                spectator={"email": ANA, "firstName": "Ana", "lastName": "Lima"})
            for i in range(rounds)])
        started = [run(engine, transfers.start_transfer, clock, ana, f"T{i}", BEA) for i in range(rounds)]
        outcomes: list[str] = []
        errors: list[BaseException] = []
        barrier = threading.Barrier(2)

        def act(who: str) -> None:
            for transfer in started:
                barrier.wait()
                try:
                    if who == "accept":
                        run(engine, transfers.accept, clock, bea, transfer.transfer_id)
                    else:
                        run(engine, transfers.cancel, clock, ana, transfer.transfer_id)
                    outcomes.append(who)
                except TixtraceError as exc:
                    outcomes.append(exc.code)
                except BaseException as exc:  # reported by the main thread
                    errors.append(exc)

        threads = [threading.Thread(target=act, args=(who,)) for who in ("accept", "cancel")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert len(outcomes) == 2 * rounds
        assert outcomes.count("TRANSFER_NOT_PENDING") == rounds
        records = [json.loads(r) for r in read_feed(engine, clock, organizer.id, None, 1000).records]
        ends = [r for r in records if r["status"] in ("TRANSFERRED", "FAILURE_TRANSFER")]
        assert sorted(r["transfer"]["transferId"] for r in ends) == sorted(t.transfer_id for t in started)
        check_causal(records)
    finally:
        engine.dispose()


@pytest.mark.slow  # concurrency
def test_two_injections_of_the_same_tickets_at_once_inject_each_once(backend, wallet_url):
    """Without the organizer lock, injections of one organizer still take turns (they decide which ids
    are new by reading them): two batches naming the same tickets, released together, inject each
    ticket once (INJECTED in one answer, ALREADY_INJECTED in the other) and fail nothing."""
    engine = open_wallet_database(wallet_url)
    clock = TestClock(START)
    try:
        organizer, _ = run(engine, create_organizer, clock, "org@wc26.example")
        batch = [injection.NewTicket(ticket_id=f"T{i}", event={"id": "E1"}, purchase={}, barcode=f"T{i}",
                                     spectator={"email": ANA, "firstName": "Ana", "lastName": "Lima"})
                 for i in range(200)]
        answers: list[dict[str, str]] = []
        errors: list[BaseException] = []
        barrier = threading.Barrier(2)

        def inject() -> None:
            try:
                barrier.wait()
                answers.append(run(engine, injection.inject, clock, organizer.id, batch))
            except BaseException as exc:  # reported by the main thread
                errors.append(exc)

        threads = [threading.Thread(target=inject) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        for item in batch:
            assert sorted(answer[item.ticket_id] for answer in answers) == ["ALREADY_INJECTED", "INJECTED"]
        records = [json.loads(r) for r in read_feed(engine, clock, organizer.id, None, 1000).records]
        assert sorted(r["ticketId"] for r in records) == sorted(item.ticket_id for item in batch)
    finally:
        engine.dispose()
