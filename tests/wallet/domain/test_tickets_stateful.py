"""Property test: any sequence of wallet actions on a few tickets keeps the domain's invariants.

People act on three tickets in any order (transfer, accept, reject, cancel, return, assign a holder,
sync), the organizer controls, deletes and transfers, and the clock moves on. Refusals are allowed
outcomes; they must leave the ticket as it was apart from the expiry they uncovered (W6).
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from tixtrace.kernel.errors import TixtraceError
from tixtrace.wallet.domain.tickets import (
    FROZEN,
    Change,
    Direction,
    FailureReason,
    Status,
    Ticket,
    Transfer,
    TransferState,
    replay,
)

pytestmark = pytest.mark.slow  # a slow tier (stateful): `make test-fast` leaves it out

T0 = datetime(2026, 6, 11, 18, 0, tzinfo=UTC)
PEOPLE = ["ana@example.com", "bea@example.com", "cai@example.com", "dan@example.com", "eve@example.com"]
N_TICKETS = 3

tickets_st = st.integers(0, N_TICKETS - 1)
people_st = st.sampled_from(PEOPLE)
mostly = st.sampled_from([True, True, True, False])  # act as the party who may act, mostly
holders_st = st.fixed_dictionaries({"firstName": st.sampled_from(["Ana", "Bea", "Zoe"]),
                                    "lastName": st.sampled_from(["Lima", "Cruz"])})

#: the refusal codes each operation may answer with (anything else is a bug)
ALLOWED = {
    "transfer": {"NOT_TICKET_OWNER", "TICKET_CONTROLLED", "TICKET_DELETED", "TRANSFER_ALREADY_PENDING",
                 "RECIPIENT_IS_SENDER", "MAX_TRANSFERS_REACHED"},
    "accept": {"TRANSFER_NOT_PENDING", "NOT_TRANSFER_RECIPIENT", "PROFILE_INCOMPLETE"},
    "reject": {"TRANSFER_NOT_PENDING", "NOT_TRANSFER_RECIPIENT"},
    "cancel": {"TRANSFER_NOT_PENDING", "NOT_TRANSFER_SENDER"},
    "assign": {"NOT_TICKET_OWNER", "TICKET_CONTROLLED", "TICKET_DELETED", "TRANSFER_ALREADY_PENDING"},
    "organizer": {"TICKET_CONTROLLED", "TICKET_DELETED", "TRANSFER_ALREADY_PENDING", "RECIPIENT_IS_SENDER"},
    "control": {"TICKET_DELETED"},
    "delete": set(),
    "sync": set(),
}


def _some_pending(machine: WalletTickets) -> bool:
    return any(ticket.pending is not None for ticket in machine.tickets)


class WalletTickets(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = T0
        self.tickets: list[Ticket] = []
        self.logs: list[list[Change]] = []
        self.transfers: list[dict[str, Transfer]] = []  # every transfer ever made, live objects
        self.forward_done: list[int] = []

    @initialize(owners=st.lists(people_st, min_size=N_TICKETS, max_size=N_TICKETS),
                limits=st.lists(st.sampled_from([None, None, 0, 1, 2, 3]), min_size=N_TICKETS, max_size=N_TICKETS))
    def inject(self, owners: list[str], limits: list[int | None]) -> None:
        for index, (owner, limit) in enumerate(zip(owners, limits, strict=True)):
            ticket_id = f"T{index}"
            self.tickets.append(Ticket(ticket_id=ticket_id, owner=owner, original_owner=owner, max_transfers=limit))
            self.logs.append([Change(ticket_id, Status.INJECTED, self.now, owner, None, 0)])
            self.transfers.append({})
            self.forward_done.append(0)

    # -- the one path every action takes -------------------------------------------------------

    def act(self, index: int, kind: str, operation: Any) -> Any:
        """Run ``operation(ticket, now)`` → (result, changes) and check what any action must do."""
        ticket = self.tickets[index]
        before = copy.deepcopy(ticket)
        due = before.pending is not None and before.pending.expires_at is not None \
            and before.pending.expires_at <= self.now
        expected = copy.deepcopy(ticket)
        expiry = expected.expire_if_due(self.now)
        if due:
            assert before.pending is not None
            [timeout] = expiry
            assert timeout.status is Status.FAILURE and timeout.occurred_at == before.pending.expires_at
            assert timeout.transfer is not None and timeout.transfer.transfer_id == before.pending.transfer_id
            assert timeout.transfer.failure_reason is FailureReason.TIMEOUT
            assert timeout.transfer.state is TransferState.EXPIRED
            assert timeout.transfer.resolved_at == before.pending.expires_at
        else:
            assert expiry == []
        try:
            result, changes = operation(ticket, self.now)
        except TixtraceError as exc:
            assert exc.code in ALLOWED[kind], (kind, exc.code, exc.message)
            assert ticket == expected, "a refusal changes nothing but the expiry it uncovered"
            changes, result = expiry, None
            self.logs[index] += changes
        else:
            assert changes[:len(expiry)] == expiry, "an action first materializes the overdue expiry"
            rest = changes[len(expiry):]
            assert all(change.occurred_at == self.now for change in rest)
            assert not any(change.transfer is not None and change.transfer.failure_reason is FailureReason.TIMEOUT
                           for change in rest)
            self.logs[index] += changes
        for change in changes:
            assert change.ticket_id == ticket.ticket_id
            assert change.transfer is None or change.transfer.ticket_id == ticket.ticket_id
        if before.status in FROZEN:
            assert ticket.status in FROZEN
        if before.status is Status.DELETED:
            assert ticket.status is Status.DELETED
        return result

    def remember(self, index: int, transfer: Transfer | None) -> None:
        if transfer is not None:
            self.transfers[index][transfer.transfer_id] = transfer

    def target(self, index: int, use_pending: bool) -> int:
        """Mostly aim at a ticket that has a pending transfer, if there is one."""
        pending = [i for i, ticket in enumerate(self.tickets) if ticket.pending is not None]
        return pending[index % len(pending)] if use_pending and pending else index

    def pick_transfer_id(self, index: int, use_pending: bool, pick: int) -> str:
        ticket = self.tickets[index]
        if use_pending and ticket.pending is not None:
            return ticket.pending.transfer_id
        known = list(self.transfers[index])  # insertion order: uuid4 ids would make replays differ
        return known[pick % len(known)] if known else "no-such-transfer"

    # -- spectators ------------------------------------------------------------------------------

    @rule(index=tickets_st, as_owner=mostly, someone=people_st, recipient=people_st,
          timeout=st.sampled_from([60, 1800, 3600]), acceptance_required=st.sampled_from([True, True, True, False]))
    def transfer(self, index: int, as_owner: bool, someone: str, recipient: str, timeout: int,
                 acceptance_required: bool) -> None:
        ticket = self.tickets[index]
        actor = ticket.owner if as_owner else someone
        owner, previous, done = ticket.owner, ticket.previous_owner, ticket.transfers_done
        transfer = self.act(index, "transfer", lambda t, now: t.start_transfer(
            actor, recipient, now, timeout_seconds=timeout, acceptance_required=acceptance_required))
        if transfer is None:
            return
        self.remember(index, transfer)
        assert actor == owner and recipient != owner and transfer.sender == owner
        assert transfer.created_at == self.now
        if recipient == previous:
            assert transfer.direction is Direction.BACKWARD and ticket.owner == recipient
            assert transfer.state is TransferState.ACCEPTED and transfer.expires_at is None
        else:
            assert transfer.direction is Direction.FORWARD
            assert ticket.max_transfers is None or done < ticket.max_transfers
            if acceptance_required:
                assert transfer.expires_at == self.now + timedelta(seconds=timeout)
                assert ticket.pending is transfer and ticket.owner == owner
                assert ticket.status is Status.PENDING_TRANSFER
            else:
                assert ticket.owner == recipient and ticket.pending is None
                self.forward_done[index] += 1

    @rule(index=tickets_st)
    def return_to_previous_owner(self, index: int) -> None:
        ticket = self.tickets[index]
        previous, owner, level = ticket.previous_owner, ticket.owner, ticket.transfer_level
        if previous is None:
            return
        transfer = self.act(index, "transfer", lambda t, now: t.start_transfer(owner, previous, now))
        if transfer is None:
            return
        self.remember(index, transfer)
        assert transfer.direction is Direction.BACKWARD
        assert ticket.owner == previous and ticket.transfer_level == level - 1
        assert ticket.status is Status.TRANSFERRED

    @precondition(_some_pending)
    @rule(index=tickets_st, as_recipient=mostly, someone=people_st, use_pending=mostly,
          pick=st.integers(0, 20), profile_complete=st.sampled_from([True, True, True, False]))
    def accept(self, index: int, as_recipient: bool, someone: str, use_pending: bool, pick: int,
               profile_complete: bool) -> None:
        index = self.target(index, use_pending)
        ticket = self.tickets[index]
        transfer_id = self.pick_transfer_id(index, use_pending, pick)
        transfer = self.transfers[index].get(transfer_id)
        actor = transfer.recipient if as_recipient and transfer is not None else someone
        owner, level = ticket.owner, ticket.transfer_level
        done = self.act(index, "accept", lambda t, now: (True, t.accept(
            actor, transfer_id, now, profile_complete=profile_complete)))
        if done:
            assert transfer is not None and transfer.state is TransferState.ACCEPTED
            assert profile_complete and actor == transfer.recipient and transfer.resolved_at == self.now
            assert ticket.owner == actor and ticket.previous_owner == owner and ticket.transfer_level == level + 1
            self.forward_done[index] += 1

    @precondition(_some_pending)
    @rule(index=tickets_st, as_recipient=mostly, someone=people_st, use_pending=mostly,
          pick=st.integers(0, 20))
    def reject(self, index: int, as_recipient: bool, someone: str, use_pending: bool, pick: int) -> None:
        index = self.target(index, use_pending)
        transfer_id = self.pick_transfer_id(index, use_pending, pick)
        transfer = self.transfers[index].get(transfer_id)
        actor = transfer.recipient if as_recipient and transfer is not None else someone
        owner = self.tickets[index].owner
        done = self.act(index, "reject", lambda t, now: (True, t.reject(actor, transfer_id, now)))
        if done:
            assert transfer is not None and transfer.failure_reason is FailureReason.REJECTED
            assert self.tickets[index].owner == owner and self.tickets[index].status is Status.FAILURE_TRANSFER

    @precondition(_some_pending)
    @rule(index=tickets_st, as_sender=mostly, someone=people_st, use_pending=mostly,
          pick=st.integers(0, 20))
    def cancel(self, index: int, as_sender: bool, someone: str, use_pending: bool, pick: int) -> None:
        index = self.target(index, use_pending)
        transfer_id = self.pick_transfer_id(index, use_pending, pick)
        transfer = self.transfers[index].get(transfer_id)
        actor = transfer.sender if as_sender and transfer is not None else someone
        owner = self.tickets[index].owner
        done = self.act(index, "cancel", lambda t, now: (True, t.cancel(actor, transfer_id, now)))
        if done:
            assert transfer is not None and transfer.failure_reason is FailureReason.CANCELLED_BY_SENDER
            assert self.tickets[index].owner == owner and self.tickets[index].status is Status.FAILURE_TRANSFER

    @rule(index=tickets_st, as_owner=mostly, someone=people_st, holder=holders_st)
    def assign_holder(self, index: int, as_owner: bool, someone: str, holder: dict[str, str]) -> None:
        ticket = self.tickets[index]
        actor = ticket.owner if as_owner else someone
        done = self.act(index, "assign", lambda t, now: (True, t.assign_holder(actor, holder, now)))
        if done:
            assert ticket.holder == holder and ticket.status is Status.ASSIGNED

    @rule(index=tickets_st)
    def sync(self, index: int) -> None:
        ticket = self.tickets[index]
        status = ticket.status
        self.act(index, "sync", lambda t, now: (None, t.sync(now)))
        assert ticket.downloaded
        if status is Status.INJECTED:
            assert ticket.status is Status.DOWNLOADED
        if status is Status.DELETION_PENDING:
            assert ticket.status is Status.DELETED

    # -- organizer and time ----------------------------------------------------------------------

    @rule(index=tickets_st, recipient=people_st, reason=st.sampled_from([None, "re-seat"]))
    def organizer_transfer(self, index: int, recipient: str, reason: str | None) -> None:
        ticket = self.tickets[index]
        previous = ticket.previous_owner
        transfer = self.act(index, "organizer", lambda t, now: t.organizer_transfer(recipient, reason, now))
        if transfer is None:
            return
        self.remember(index, transfer)
        assert ticket.owner == recipient and ticket.status is Status.TRANSFERRED and ticket.pending is None
        if recipient == previous:
            assert transfer.direction is Direction.BACKWARD
        else:
            assert transfer.direction is Direction.FORWARD  # I3: not counted towards maxTransfers

    @rule(index=tickets_st, delete=st.booleans(), show_deleted=st.booleans(),
          now=st.integers(0, 2))
    def organizer_withdraws(self, index: int, delete: bool, show_deleted: bool, now: int) -> None:
        """The organizer controls (W8) or deletes (W8) a ticket: one rule, so that tickets stay movable longer."""
        if now != 0:  # a third of the time only: a withdrawn ticket no longer moves
            return
        if delete:
            self.delete(index, show_deleted)
        else:
            self.control(index)

    def control(self, index: int) -> None:
        ticket = self.tickets[index]
        pending = ticket.pending
        expired = pending is not None and pending.expires_at is not None and pending.expires_at <= self.now
        done = self.act(index, "control", lambda t, now: (True, t.control(now)))
        if done:
            assert ticket.status is Status.CONTROLLED and ticket.pending is None
            if pending is not None and not expired:
                assert pending.failure_reason is FailureReason.TICKET_CONTROLLED

    def delete(self, index: int, show_deleted: bool) -> None:
        ticket = self.tickets[index]
        pending, downloaded, status = ticket.pending, ticket.downloaded, ticket.status
        expired = pending is not None and pending.expires_at is not None and pending.expires_at <= self.now
        self.act(index, "delete", lambda t, now: (None, t.delete(now, show_deleted=show_deleted)))
        assert ticket.pending is None
        if status in (Status.DELETION_PENDING, Status.DELETED):
            assert ticket.status is status
        else:
            assert ticket.status is (Status.DELETION_PENDING if downloaded else Status.DELETED)
            assert ticket.show_deleted is show_deleted
            if pending is not None and not expired:
                assert pending.failure_reason is FailureReason.TICKET_DELETED

    @rule(seconds=st.one_of(st.sampled_from([0, 1, 60, 1800, 3600]), st.integers(0, 7200)))
    def advance_clock(self, seconds: int) -> None:
        self.now += timedelta(seconds=seconds)

    @rule(pick=st.integers(0, N_TICKETS - 1), microseconds_before=st.sampled_from([0, 0, 1]))
    def advance_to_expiry(self, pick: int, microseconds_before: int) -> None:
        """Move the clock to (just before) a pending transfer's expiresAt: the edge of W6."""
        edges = sorted(ticket.pending.expires_at for ticket in self.tickets
                       if ticket.pending is not None and ticket.pending.expires_at is not None)
        if edges:
            edge = edges[pick % len(edges)] - timedelta(microseconds=microseconds_before)
            self.now = max(self.now, edge)

    @rule(index=tickets_st)
    def expire(self, index: int) -> None:
        """A sweeper (the feed) passes by."""
        self.act(index, "sync", lambda t, now: (None, t.expire_if_due(now)))

    # -- invariants ------------------------------------------------------------------------------

    @invariant()
    def one_owner_and_consistent_levels(self) -> None:
        for index, ticket in enumerate(self.tickets):
            assert isinstance(ticket.owner, str) and ticket.owner in PEOPLE
            assert ticket.transfer_level == len(ticket.previous_owners)
            assert ticket.previous_owner != ticket.owner
            assert all(a != b for a, b in zip(ticket.previous_owners, ticket.previous_owners[1:], strict=False))
            assert ticket.transfers_done == self.forward_done[index]
            assert ticket.original_owner == self.logs[index][0].owner

    @invariant()
    def at_most_one_pending_transfer(self) -> None:
        for index, ticket in enumerate(self.tickets):
            pending = [t for t in self.transfers[index].values() if t.is_pending]
            assert len(pending) <= 1
            assert pending == ([ticket.pending] if ticket.pending is not None else [])
            if ticket.pending is not None:
                assert pending[0] is ticket.pending
                assert ticket.status is Status.PENDING_TRANSFER
                assert ticket.pending.sender == ticket.owner
                assert ticket.pending.expires_at is not None
            else:
                assert ticket.status is not Status.PENDING_TRANSFER
            for transfer in self.transfers[index].values():
                if not transfer.is_pending and transfer.state is not TransferState.ACCEPTED:
                    assert transfer.failure_reason is not None
                    if transfer.failure_reason is FailureReason.TIMEOUT:
                        assert transfer.resolved_at == transfer.expires_at

    @invariant()
    def replay_gives_the_state(self) -> None:
        for index, ticket in enumerate(self.tickets):
            log = self.logs[index]
            replayed = replay(log)
            assert replayed is not None
            assert replayed.status is ticket.status
            assert replayed.owner == ticket.owner
            assert replayed.holder == ticket.holder
            assert replayed.transfer_level == ticket.transfer_level
            assert replayed.pending_transfer_id == (ticket.pending.transfer_id if ticket.pending else None)
            times = [change.occurred_at for change in log]
            assert times == sorted(times), "each ticket's log is in causal order"
            assert all(change.occurred_at <= self.now for change in log)


WalletTickets.TestCase.settings = settings(max_examples=200, stateful_step_count=40, deadline=None)
test_wallet_tickets = WalletTickets.TestCase
