"""Property test through the wallet's services on a real database (SQLite and PostgreSQL).

People act on two tickets through the services (start/accept/reject/cancel/return a transfer,
assign a holder, list their tickets), the organizer controls, deletes, transfers and reads the feed,
and the test clock moves on. After every step, for every ticket:

- folding its status log (last record's status, walletOwner.email, ticketHolder, transferLevel) gives
  the ticket as ``tickets.load`` reads it;
- the ``transfers`` table holds at most one PENDING row for it;
- its log only grows by appending, with strictly increasing record ids and causal ``occurredAt``;
- it equals a pure-domain model run alongside (once both have materialized any overdue expiry,
  which the services only do lazily).

Every example uses its own organizer, people and ticket ids, so one database serves them all.
"""

from __future__ import annotations

import copy
import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import Engine, func, select

from tests.support.wallet import read_feed, run
from tixtrace.kernel.clock import TestClock, as_utc
from tixtrace.kernel.db import unit_of_work
from tixtrace.kernel.errors import TixtraceError
from tixtrace.wallet.db import status_log
from tixtrace.wallet.db import tickets as tickets_repo
from tixtrace.wallet.db.database import open_wallet_database
from tixtrace.wallet.db.tables import tickets as tickets_table
from tixtrace.wallet.db.tables import transfers as transfers_table
from tixtrace.wallet.domain.tickets import (
    DEFAULT_TRANSFER_TIMEOUT_SECONDS,
    Status,
    Ticket,
    TransferState,
)
from tixtrace.wallet.services import spectators, transfers
from tixtrace.wallet.services import tickets as tickets_service
from tixtrace.wallet.services.injection import NewTicket, inject
from tixtrace.wallet.services.organizers import Organizer, create_organizer
from tixtrace.wallet.services.spectators import Account

pytestmark = pytest.mark.slow  # a slow tier (stateful): `make test-fast` leaves it out

START = datetime(2026, 6, 11, 18, 0, tzinfo=UTC)
NAMES = ["ana", "bea", "cai", "dan"]
N_TICKETS = 2

tickets_st = st.integers(0, N_TICKETS - 1)
people_st = st.integers(0, len(NAMES) - 1)
mostly = st.sampled_from([True, True, True, False])  # act as the party who may act, mostly


def _refused(operation: Any) -> tuple[bool, Any]:
    """(True, result) if the operation ran, (False, error) if it was refused."""
    try:
        return True, operation()
    except TixtraceError as exc:
        return False, exc


def _settled(ticket: Ticket, now: datetime) -> Ticket:
    """The ticket once any overdue expiry is materialized (what the next action or feed read will see)."""
    settled = copy.deepcopy(ticket)
    settled.expire_if_due(now)
    return settled


def _some_pending(machine: WalletServices) -> bool:
    return any(model.pending is not None for model in machine.models)


class WalletServices(RuleBasedStateMachine):
    def __init__(self, engine: Engine, clock: TestClock, run: int) -> None:
        super().__init__()
        self.engine, self.clock, self.run = engine, clock, run
        self.organizer: Organizer | None = None
        self.people = [f"{name}-{run}@example.com" for name in NAMES]
        self.accounts: list[Account] = []
        self.profiled: set[str] = set()
        self.ticket_ids = [f"R{run}-T{i}" for i in range(N_TICKETS)]
        self.models: list[Ticket] = []
        self.transfer_ids: list[list[str]] = [[] for _ in range(N_TICKETS)]
        self.seen_logs: list[list[tuple[int, str]]] = [[] for _ in range(N_TICKETS)]

    # -- set-up ----------------------------------------------------------------------------------

    @initialize(owners=st.lists(people_st, min_size=N_TICKETS, max_size=N_TICKETS),
                limits=st.lists(st.sampled_from([None, None, 1, 2]), min_size=N_TICKETS, max_size=N_TICKETS),
                profiled=st.lists(mostly, min_size=len(NAMES), max_size=len(NAMES)))
    def setup(self, owners: list[int], limits: list[int | None], profiled: list[bool]) -> None:
        self.organizer, _ = run(self.engine, create_organizer, self.clock, f"org-{self.run}@wc26.example")
        # sessions first: the accounts exist before injection, so injection leaves them without a
        # profile (W1 fills a profile on first sight only) and accepting needs an explicit profile
        for email in self.people:
            token = run(self.engine, spectators.start_session, self.clock, email, sandbox=True)
            self.accounts.append(run(self.engine, spectators.authenticate, self.clock, token).account)
        for account, complete in zip(self.accounts, profiled, strict=True):
            if complete:
                self.complete_profile(self.accounts.index(account))
        batch = [
            NewTicket(ticket_id=ticket_id, event={"id": "WC26-M01"}, purchase={"fileNumber": "F-1"},
                      barcode=f"BC-{ticket_id}", max_transfers=limit,
                      spectator={"firstName": "Ana", "lastName": "Lima", "email": self.people[owner].upper()})
            for ticket_id, owner, limit in zip(self.ticket_ids, owners, limits, strict=True)
        ]
        results = run(self.engine, inject, self.clock, self.organizer.id, batch)
        assert set(results.values()) == {"INJECTED"}
        assert set(run(self.engine, inject, self.clock, self.organizer.id, batch[:1]).values()) == {"ALREADY_INJECTED"}
        for ticket_id, owner, limit in zip(self.ticket_ids, owners, limits, strict=True):
            email = self.people[owner]
            self.models.append(Ticket(ticket_id=ticket_id, owner=email, original_owner=email, max_transfers=limit))

    @property
    def org_id(self) -> int:
        assert self.organizer is not None
        return self.organizer.id

    def now(self) -> datetime:
        return self.clock.now()

    def same_outcome(self, done: bool, model_operation: Any) -> Any:
        """Run the model's operation; it must succeed exactly when the service did."""
        model_done, result = _refused(model_operation)
        assert model_done == done, f"service {'ran' if done else 'refused'}, model: {result!r}"
        return result

    # -- spectators ------------------------------------------------------------------------------

    @rule(index=tickets_st, as_owner=mostly, someone=people_st, recipient=people_st)
    def transfer(self, index: int, as_owner: bool, someone: int, recipient: int) -> None:
        model = self.models[index]
        actor = self.accounts[self.people.index(model.owner)] if as_owner else self.accounts[someone]
        to = self.people[recipient]
        done, result = _refused(lambda: run(
            self.engine, transfers.start_transfer, self.clock, actor, self.ticket_ids[index], to.title()))
        transfer_id = result.transfer_id if done else None
        self.same_outcome(done, lambda: model.start_transfer(
            actor.email, to, self.now(), timeout_seconds=DEFAULT_TRANSFER_TIMEOUT_SECONDS, transfer_id=transfer_id))
        if done:
            self.transfer_ids[index].append(transfer_id)

    @rule(index=tickets_st)
    def return_to_previous_owner(self, index: int) -> None:
        model = self.models[index]
        if model.previous_owner is None:
            return
        actor = self.accounts[self.people.index(model.owner)]
        previous = model.previous_owner
        done, result = _refused(lambda: run(
            self.engine, transfers.start_transfer, self.clock, actor, self.ticket_ids[index], previous))
        transfer_id = result.transfer_id if done else None
        self.same_outcome(done, lambda: model.start_transfer(actor.email, previous, self.now(),
                                                             transfer_id=transfer_id))
        if done:
            assert result.direction.value == "BACKWARD" and model.owner == previous
            self.transfer_ids[index].append(transfer_id)

    def _transfer_action(self, index: int, action: str, by_party: bool, someone: int, pick: int) -> None:
        pending = [i for i, model in enumerate(self.models) if model.pending is not None]
        if by_party and pending:  # mostly aim at a ticket with a pending transfer
            index = pending[index % len(pending)]
        model = self.models[index]
        known = self.transfer_ids[index]
        if not known:
            return
        if model.pending is not None and pick % 2 == 0:
            transfer_id = model.pending.transfer_id
        else:
            transfer_id = known[pick % len(known)]
        if by_party and model.pending is not None and model.pending.transfer_id == transfer_id:
            email = model.pending.sender if action == "cancel" else model.pending.recipient
            actor = self.accounts[self.people.index(email)]
        else:
            actor = self.accounts[someone]
        service = {"accept": transfers.accept, "reject": transfers.reject, "cancel": transfers.cancel}[action]
        done, result = _refused(lambda: run(self.engine, service, self.clock, actor, transfer_id))
        now = self.now()
        if action == "accept":
            self.same_outcome(done, lambda: model.accept(actor.email, transfer_id, now,
                                                         profile_complete=actor.email in self.profiled))
        elif action == "reject":
            self.same_outcome(done, lambda: model.reject(actor.email, transfer_id, now))
        else:
            self.same_outcome(done, lambda: model.cancel(actor.email, transfer_id, now))
        if done:
            expected = {"accept": "ACCEPTED", "reject": "REJECTED", "cancel": "CANCELLED"}[action]
            assert result.transfer_id == transfer_id and result.status == expected

    @precondition(_some_pending)
    @rule(index=tickets_st, by_party=mostly, someone=people_st, pick=st.integers(0, 10))
    def accept(self, index: int, by_party: bool, someone: int, pick: int) -> None:
        self._transfer_action(index, "accept", by_party, someone, pick)

    @precondition(_some_pending)
    @rule(index=tickets_st, by_party=mostly, someone=people_st, pick=st.integers(0, 10))
    def reject(self, index: int, by_party: bool, someone: int, pick: int) -> None:
        self._transfer_action(index, "reject", by_party, someone, pick)

    @precondition(_some_pending)
    @rule(index=tickets_st, by_party=mostly, someone=people_st, pick=st.integers(0, 10))
    def cancel(self, index: int, by_party: bool, someone: int, pick: int) -> None:
        self._transfer_action(index, "cancel", by_party, someone, pick)

    @rule(person=people_st)
    def complete_profile(self, person: int) -> None:
        account = self.accounts[person]
        run(self.engine, spectators.update_profile, account, {"firstName": "Bea", "lastName": "Cruz"})
        self.profiled.add(account.email)

    @rule(index=tickets_st, as_owner=mostly, someone=people_st,
          first=st.sampled_from(["Caio", "Dora"]))
    def assign_holder(self, index: int, as_owner: bool, someone: int, first: str) -> None:
        model = self.models[index]
        actor = self.accounts[self.people.index(model.owner)] if as_owner else self.accounts[someone]
        holder = {"firstName": first, "lastName": "Reis"}
        done, _ = _refused(lambda: run(self.engine, spectators.assign_holder, self.clock, actor,
                                       self.ticket_ids[index], holder))
        self.same_outcome(done, lambda: model.assign_holder(actor.email, holder, self.now()))

    @rule(person=people_st)
    def list_my_tickets(self, person: int) -> None:
        """The app syncs (W2, W8): INJECTED → DOWNLOADED, DELETION_PENDING → DELETED."""
        account = self.accounts[person]
        items = run(self.engine, spectators.list_tickets, self.clock, account, None, 100).items
        now = self.now()
        for model in self.models:
            if model.owner == account.email:
                model.sync(now)
        expected = {
            model.ticket_id: model for model in self.models
            if model.owner == account.email and (model.status is not Status.DELETED or model.show_deleted)
        }
        assert sorted(item.ticket_id for item in items) == sorted(expected)
        for item in items:
            model = expected[item.ticket_id]
            assert item.status == model.status
            assert item.transfer_level == model.transfer_level and item.holder == model.holder
            pending = item.pending
            assert (pending and pending.transfer_id) == (model.pending and model.pending.transfer_id)

    # -- organizer and time ----------------------------------------------------------------------

    @rule(index=tickets_st, recipient=people_st)
    def organizer_transfer(self, index: int, recipient: int) -> None:
        to = self.people[recipient]
        model = self.models[index]
        done, result = _refused(lambda: run(
            self.engine, tickets_service.organizer_transfer, self.clock, self.org_id, self.ticket_ids[index], to,
            "re-seated"))
        transfer_id = result.transfer_id if done else None
        self.same_outcome(done, lambda: model.organizer_transfer(to, "re-seated", self.now(), transfer_id))
        if done:
            self.transfer_ids[index].append(transfer_id)

    @rule(index=tickets_st, delete=st.booleans(), show_deleted=st.booleans(),
          now=st.integers(0, 2))
    def organizer_withdraws(self, index: int, delete: bool, show_deleted: bool, now: int) -> None:
        """The organizer controls or deletes a ticket (W8): one rule, so that tickets stay movable longer."""
        if now != 0:  # a third of the time only: a withdrawn ticket no longer moves
            return
        if delete:
            self.delete(index, show_deleted)
        else:
            self.control(index)

    def control(self, index: int) -> None:
        model = self.models[index]
        [outcome] = run(self.engine, tickets_service.control_tickets, self.clock, self.org_id,
                        [self.ticket_ids[index]])
        self.same_outcome(outcome.result != "REFUSED", lambda: model.control(self.now()))
        if outcome.result == "REFUSED":
            assert outcome.error == "TICKET_DELETED"

    def delete(self, index: int, show_deleted: bool) -> None:
        model = self.models[index]
        [outcome] = run(self.engine, tickets_service.delete_tickets, self.clock, self.org_id,
                        [(self.ticket_ids[index], show_deleted)])
        self.same_outcome(outcome.result != "REFUSED",
                          lambda: model.delete(self.now(), show_deleted=show_deleted))
        if outcome.result not in ("UNCHANGED", "REFUSED"):
            assert outcome.result == model.status.value

    @rule()
    def read_feed(self) -> None:
        """The back office reads the diff feed, which first fails every overdue transfer (W6)."""
        page = read_feed(self.engine, self.clock, self.org_id, None, 1)
        assert page.records or not page.has_more
        for model in self.models:
            model.expire_if_due(self.now())

    @rule(seconds=st.one_of(st.sampled_from([1, 60, 1800, 3600]), st.integers(0, 7200)))
    def advance_clock(self, seconds: int) -> None:
        self.clock.advance(seconds)

    @rule(pick=tickets_st)
    def advance_to_expiry(self, pick: int) -> None:
        """Move the clock exactly to a pending transfer's expiresAt (the edge of W6)."""
        edges = sorted(m.pending.expires_at for m in self.models if m.pending and m.pending.expires_at)
        if edges and edges[pick % len(edges)] > self.now():
            self.clock.advance((edges[pick % len(edges)] - self.now()).total_seconds())

    # -- invariants ------------------------------------------------------------------------------

    @invariant()
    def database_is_consistent(self) -> None:
        if self.organizer is None:
            return
        now = self.now()
        with unit_of_work(self.engine, write=False) as conn:
            stored = tickets_repo.load(conn, tickets_table.c.organizer_id == self.org_id)
            logs = {s.pk: status_log.of_ticket(conn, s.pk) for s in stored}
            pending_rows = dict(conn.execute(
                select(transfers_table.c.ticket_pk, func.count())
                .where(transfers_table.c.organizer_id == self.org_id,
                       transfers_table.c.state == TransferState.PENDING.value)
                .group_by(transfers_table.c.ticket_pk)).all())
        assert [s.ticket.ticket_id for s in stored] == self.ticket_ids
        for index, s in enumerate(stored):
            ticket, raw_log = s.ticket, logs[s.pk]
            # the log is append-only, ids strictly increasing, times in causal order
            seen = self.seen_logs[index]
            assert raw_log[:len(seen)] == seen, "records are only ever appended"
            ids = [record_id for record_id, _ in raw_log]
            assert all(a < b for a, b in itertools.pairwise(ids))
            self.seen_logs[index] = raw_log
            records = [status_log.decode(record_id, body) for record_id, body in raw_log]
            assert records[0]["status"] == Status.INJECTED.value
            assert [r["recordId"] for r in records] == ids
            assert all(r["ticketId"] == ticket.ticket_id for r in records)
            occurred = [datetime.fromisoformat(r["occurredAt"].replace("Z", "+00:00")) for r in records]
            assert occurred == sorted(occurred) and occurred[-1] <= now
            # folding the log gives the stored ticket
            last = records[-1]
            assert last["status"] == ticket.status.value
            assert last["walletOwner"]["email"] == ticket.owner
            assert last["ticketHolder"] == ticket.holder
            assert last["transferLevel"] == ticket.transfer_level
            pending_in_log = None
            for record in records:
                transfer = record["transfer"]
                if record["status"] == Status.PENDING_TRANSFER.value:
                    pending_in_log = transfer["transferId"]
                elif transfer is not None and transfer["transferId"] == pending_in_log:
                    pending_in_log = None
            assert pending_in_log == (ticket.pending.transfer_id if ticket.pending else None)
            # at most one pending transfer row
            assert pending_rows.get(s.pk, 0) == (1 if ticket.pending is not None else 0)
            if ticket.pending is not None:
                assert ticket.status is Status.PENDING_TRANSFER and ticket.pending.sender == ticket.owner
                expires_at = ticket.pending.expires_at
                assert expires_at is not None
                assert as_utc(expires_at) == ticket.pending.created_at + timedelta(
                    seconds=DEFAULT_TRANSFER_TIMEOUT_SECONDS)
            # the database agrees with the model once both settled their overdue expiries
            assert _settled(ticket, now) == _settled(self.models[index], now)


def run_wallet_services(url: str, examples: int) -> None:
    engine = open_wallet_database(url)
    clock = TestClock(START)
    runs = itertools.count()
    try:
        run_state_machine_as_test(
            lambda: WalletServices(engine, clock, next(runs)),
            settings=settings(max_examples=examples, stateful_step_count=25, deadline=None,
                              suppress_health_check=[HealthCheck.too_slow]),
        )
    finally:
        engine.dispose()


def test_wallet_services_keep_log_and_state_together(database_url: Any, backend: str) -> None:
    run_wallet_services(database_url("wallet"), 25 if backend == "sqlite" else 10)


def test_sync_without_status_change_is_remembered(database_url: Any) -> None:
    """Regression: listing a ticket controlled before the first sync changes no status, and listing one
    received by transfer makes it DOWNLOADED (W10), but both put it on the owner's phone; a later delete
    must then wait for the app (W8)."""
    engine = open_wallet_database(database_url("wallet"))
    try:
        clock = TestClock(START)
        organizer, _ = run(engine, create_organizer, clock, "org@wc26.example")
        run(engine, inject, clock, organizer.id, [
            NewTicket(ticket_id=ticket_id, event={"id": "WC26-M01"}, purchase={"fileNumber": "F-1"},
                      barcode=f"BC-{ticket_id}", spectator={"firstName": "Ana", "lastName": "Lima",
                                                             "email": "ana@example.com"})
            for ticket_id in ("T1", "T2")
        ])
        ana, bea = (run(engine, spectators.authenticate, clock, run(engine, spectators.start_session, clock, email,
                                                                    sandbox=True)).account
                    for email in ("ana@example.com", "bea@example.com"))
        run(engine, tickets_service.control_tickets, clock, organizer.id, ["T2"])
        run(engine, spectators.list_tickets, clock, ana, None, 10)
        run(engine, tickets_service.organizer_transfer, clock, organizer.id, "T1", bea.email, "re-seated")
        clock.advance(60)
        [item] = run(engine, spectators.list_tickets, clock, bea, None, 10).items
        assert item.ticket_id == "T1" and item.status == Status.DOWNLOADED  # opened by its new owner (W10)
        outcome = run(engine, tickets_service.delete_tickets, clock, organizer.id, [("T1", True), ("T2", True)])
        assert {result.ticket_id: result.result for result in outcome} == {
            "T1": Status.DELETION_PENDING.value, "T2": Status.DELETION_PENDING.value}
        run(engine, spectators.list_tickets, clock, bea, None, 10)
        detail = run(engine, tickets_service.ticket_detail, clock, organizer.id, "T1")
        assert [r["status"] for r in detail.status_log] == [
            "INJECTED", "DOWNLOADED", "TRANSFERRED", "DOWNLOADED", "DELETION_PENDING", "DELETED"]
    finally:
        engine.dispose()
