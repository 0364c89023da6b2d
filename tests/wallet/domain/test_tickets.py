"""The wallet's ticket lifecycle (DESIGN section 3, W1-W8) on the pure domain, with explicit times."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

import pytest

from tixtrace.kernel.errors import Conflict, Forbidden
from tixtrace.wallet.domain.tickets import (
    DEFAULT_TRANSFER_TIMEOUT_SECONDS,
    Change,
    Direction,
    FailureReason,
    Initiator,
    Status,
    Ticket,
    TransferState,
    replay,
)

T0 = datetime(2026, 6, 11, 18, 0, tzinfo=UTC)
ANA, BEA, CAI, DAN = "ana@example.com", "bea@example.com", "cai@example.com", "dan@example.com"
HOUR = timedelta(seconds=DEFAULT_TRANSFER_TIMEOUT_SECONDS)
US = timedelta(microseconds=1)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def injected(owner: str = ANA, *, max_transfers: int | None = None,
             ticket_id: str = "T1") -> tuple[Ticket, list[Change]]:
    """A freshly injected ticket and its INJECTED change, as the injection service records it."""
    ticket = Ticket(ticket_id=ticket_id, owner=owner, original_owner=owner, max_transfers=max_transfers)
    return ticket, [Change(ticket_id, Status.INJECTED, T0, owner, None, 0)]


def downloaded(owner: str = ANA, **kwargs: object) -> tuple[Ticket, list[Change]]:
    ticket, log = injected(owner, **kwargs)  # type: ignore[arg-type]
    log += ticket.sync(at(1))
    return ticket, log


def statuses(changes: list[Change]) -> list[Status]:
    return [change.status for change in changes]


def assert_replays(ticket: Ticket, log: list[Change]) -> None:
    replayed = replay(log)
    assert replayed is not None
    assert replayed.status is ticket.status
    assert replayed.owner == ticket.owner
    assert replayed.holder == ticket.holder
    assert replayed.transfer_level == ticket.transfer_level
    assert replayed.pending_transfer_id == (ticket.pending.transfer_id if ticket.pending else None)


def refused(exc_type: type[Exception], code: str, ticket: Ticket, operation, *args, **kwargs):  # type: ignore[no-untyped-def]
    """Run an operation that must be refused with ``code`` and leave the ticket as it was."""
    before = copy.deepcopy(ticket)
    with pytest.raises(exc_type) as info:
        operation(*args, **kwargs)
    assert info.value.code == code  # type: ignore[attr-defined]
    assert ticket == before
    return info.value


# -- W1 -------------------------------------------------------------------------------------------


def test_w1_injected_ticket_is_owned_by_spectator() -> None:
    ticket, log = injected(ANA)
    assert ticket.status is Status.INJECTED
    assert ticket.owner == ANA and ticket.original_owner == ANA
    assert ticket.transfer_level == 0 and ticket.previous_owners == []
    assert ticket.pending is None and ticket.holder is None and not ticket.downloaded
    assert_replays(ticket, log)


def test_replay_of_nothing_is_none() -> None:
    assert replay([]) is None


# -- W2 -------------------------------------------------------------------------------------------


def test_w2_first_sync_marks_downloaded() -> None:
    ticket, log = injected()
    changes = ticket.sync(at(5))
    assert statuses(changes) == [Status.DOWNLOADED]
    assert changes[0].occurred_at == at(5) and changes[0].owner == ANA
    assert ticket.status is Status.DOWNLOADED and ticket.downloaded


def test_w2_second_sync_changes_nothing() -> None:
    ticket, _ = downloaded()
    before = copy.deepcopy(ticket)
    assert ticket.sync(at(10)) == []
    assert ticket == before


# -- W3 -------------------------------------------------------------------------------------------


def test_w3_holder_assignment() -> None:
    ticket, log = downloaded()
    holder = {"firstName": "Caio", "lastName": "Reis"}
    changes = ticket.assign_holder(ANA, holder, at(10))
    log += changes
    assert statuses(changes) == [Status.ASSIGNED]
    assert ticket.status is Status.ASSIGNED and ticket.holder == holder
    assert changes[0].holder == holder and changes[0].occurred_at == at(10)
    holder["firstName"] = "changed later"
    assert ticket.holder == {"firstName": "Caio", "lastName": "Reis"}, "the ticket keeps its own copy"
    assert_replays(ticket, log)


def test_w3_only_owner_assigns_holder() -> None:
    ticket, _ = downloaded()
    refused(Forbidden, "NOT_TICKET_OWNER", ticket, ticket.assign_holder, BEA, {"firstName": "X"}, at(10))


def test_w3_holder_refused_when_pending() -> None:
    ticket, _ = downloaded()
    ticket.start_transfer(ANA, BEA, at(10))
    refused(Conflict, "TRANSFER_ALREADY_PENDING", ticket, ticket.assign_holder, ANA, {"firstName": "X"}, at(20))


def test_w3_holder_refused_when_controlled() -> None:
    ticket, _ = downloaded()
    ticket.control(at(10))
    refused(Conflict, "TICKET_CONTROLLED", ticket, ticket.assign_holder, ANA, {"firstName": "X"}, at(20))


def test_w3_holder_cleared_by_transfer() -> None:
    ticket, log = downloaded()
    log += ticket.assign_holder(ANA, {"firstName": "Caio"}, at(10))
    transfer, changes = ticket.start_transfer(ANA, BEA, at(20))
    log += changes
    assert ticket.holder == {"firstName": "Caio"}, "the holder stays while the transfer is pending"
    log += ticket.accept(BEA, transfer.transfer_id, at(30), profile_complete=True)
    assert ticket.holder is None
    assert_replays(ticket, log)


# -- W4 -------------------------------------------------------------------------------------------


def test_w4_refused_when_controlled() -> None:
    ticket, _ = downloaded()
    ticket.control(at(10))
    refused(Conflict, "TICKET_CONTROLLED", ticket, ticket.start_transfer, ANA, BEA, at(20))


def test_w4_refused_when_deleted() -> None:
    ticket, _ = injected()
    ticket.delete(at(10), show_deleted=True)
    assert ticket.status is Status.DELETED
    refused(Conflict, "TICKET_DELETED", ticket, ticket.start_transfer, ANA, BEA, at(20))


def test_w4_refused_when_deletion_pending() -> None:
    ticket, _ = downloaded()
    ticket.delete(at(10), show_deleted=True)
    assert ticket.status is Status.DELETION_PENDING
    refused(Conflict, "TICKET_DELETED", ticket, ticket.start_transfer, ANA, BEA, at(20))


def test_w4_refused_when_pending() -> None:
    ticket, _ = downloaded()
    first, _ = ticket.start_transfer(ANA, BEA, at(10))
    error = refused(Conflict, "TRANSFER_ALREADY_PENDING", ticket, ticket.start_transfer, ANA, CAI, at(20))
    assert error.details["transferId"] == first.transfer_id  # type: ignore[attr-defined]
    assert ticket.pending is not None and ticket.pending.transfer_id == first.transfer_id


def test_w4_refused_when_max_transfers() -> None:
    ticket, _ = downloaded(max_transfers=1)
    transfer, _ = ticket.start_transfer(ANA, BEA, at(10))
    ticket.accept(BEA, transfer.transfer_id, at(20), profile_complete=True)
    assert ticket.transfers_done == 1
    refused(Conflict, "MAX_TRANSFERS_REACHED", ticket, ticket.start_transfer, BEA, CAI, at(30))


def test_w4_max_transfers_zero_refuses_first_transfer() -> None:
    ticket, _ = downloaded(max_transfers=0)
    refused(Conflict, "MAX_TRANSFERS_REACHED", ticket, ticket.start_transfer, ANA, BEA, at(10))


def test_w4_failed_transfers_do_not_count_towards_max() -> None:
    ticket, _ = downloaded(max_transfers=1)
    transfer, _ = ticket.start_transfer(ANA, BEA, at(10))
    ticket.reject(BEA, transfer.transfer_id, at(20))
    transfer, _ = ticket.start_transfer(ANA, CAI, at(30))
    ticket.cancel(ANA, transfer.transfer_id, at(40))
    ticket.start_transfer(ANA, DAN, at(50))
    ticket.expire_if_due(at(50) + HOUR)
    assert ticket.transfers_done == 0
    transfer, _ = ticket.start_transfer(ANA, BEA, at(50) + 2 * HOUR)
    ticket.accept(BEA, transfer.transfer_id, at(50) + 2 * HOUR, profile_complete=True)
    assert ticket.transfers_done == 1 and ticket.owner == BEA


def test_w4_refused_to_self() -> None:
    ticket, _ = downloaded()
    refused(Conflict, "RECIPIENT_IS_SENDER", ticket, ticket.start_transfer, ANA, ANA, at(10))


def test_w4_refused_to_self_whatever_the_case_and_spaces() -> None:
    ticket, _ = downloaded()
    refused(Conflict, "RECIPIENT_IS_SENDER", ticket, ticket.start_transfer, ANA, "  Ana@Example.COM ", at(10))


def test_w4_recipient_email_is_normalized() -> None:
    ticket, _ = downloaded()
    transfer, _ = ticket.start_transfer(ANA, " Bea@Example.com", at(10))
    assert transfer.recipient == BEA


def test_w4_only_owner_transfers() -> None:
    ticket, _ = downloaded()
    refused(Forbidden, "NOT_TICKET_OWNER", ticket, ticket.start_transfer, BEA, CAI, at(10))


def test_w4_forward_expires_at_now_plus_timeout() -> None:
    ticket, log = downloaded()
    transfer, changes = ticket.start_transfer(ANA, BEA, at(10), transfer_id="tr-1")
    log += changes
    assert transfer.transfer_id == "tr-1"
    assert transfer.direction is Direction.FORWARD and transfer.initiated_by is Initiator.SPECTATOR
    assert transfer.state is TransferState.PENDING and transfer.created_at == at(10)
    assert transfer.expires_at == at(10) + HOUR
    assert statuses(changes) == [Status.PENDING_TRANSFER]
    assert changes[0].transfer is not None and changes[0].transfer.expires_at == at(10) + HOUR
    assert ticket.status is Status.PENDING_TRANSFER and ticket.pending is transfer
    assert ticket.owner == ANA and ticket.transfer_level == 0, "the ticket stays with the sender until accepted"
    assert_replays(ticket, log)


def test_w4_forward_uses_organizer_timeout() -> None:
    ticket, _ = downloaded()
    transfer, _ = ticket.start_transfer(ANA, BEA, at(10), timeout_seconds=120)
    assert transfer.expires_at == at(130)


def test_w4_forward_without_acceptance_is_immediate() -> None:
    ticket, log = downloaded()
    transfer, changes = ticket.start_transfer(ANA, BEA, at(10), acceptance_required=False)
    log += changes
    assert statuses(changes) == [Status.TRANSFERRED]
    assert transfer.direction is Direction.FORWARD and transfer.expires_at is None
    assert ticket.owner == BEA and ticket.transfer_level == 1 and ticket.pending is None
    assert_replays(ticket, log)


def test_w4_backward_transfer_is_immediate() -> None:
    ticket, log = downloaded()
    forward, changes = ticket.start_transfer(ANA, BEA, at(10))
    log += changes
    log += ticket.accept(BEA, forward.transfer_id, at(20), profile_complete=True)
    assert ticket.owner == BEA and ticket.transfer_level == 1
    back, changes = ticket.start_transfer(BEA, ANA, at(30))
    log += changes
    assert back.direction is Direction.BACKWARD and back.expires_at is None
    assert back.state is TransferState.ACCEPTED and back.resolved_at == at(30)
    assert statuses(changes) == [Status.TRANSFERRED]
    assert changes[0].owner == ANA and changes[0].transfer_level == 0
    assert ticket.owner == ANA and ticket.transfer_level == 0 and ticket.pending is None
    assert ticket.transfers_done == 1, "a return does not count as a transfer"
    assert_replays(ticket, log)


def test_w4_backward_transfer_allowed_at_max_transfers() -> None:
    ticket, _ = downloaded(max_transfers=1)
    forward, _ = ticket.start_transfer(ANA, BEA, at(10))
    ticket.accept(BEA, forward.transfer_id, at(20), profile_complete=True)
    back, changes = ticket.start_transfer(BEA, ANA, at(30))
    assert statuses(changes) == [Status.TRANSFERRED] and back.direction is Direction.BACKWARD


# -- W5 -------------------------------------------------------------------------------------------


def test_w5_accept_moves_owner_and_level() -> None:
    ticket, log = downloaded()
    transfer, changes = ticket.start_transfer(ANA, BEA, at(10))
    log += changes
    changes = ticket.accept(BEA, transfer.transfer_id, at(20), profile_complete=True)
    log += changes
    assert statuses(changes) == [Status.TRANSFERRED]
    change = changes[0]
    assert change.occurred_at == at(20) and change.owner == BEA and change.transfer_level == 1
    assert change.transfer is not None and change.transfer.state is TransferState.ACCEPTED
    assert change.transfer.resolved_at == at(20)
    assert ticket.owner == BEA and ticket.previous_owners == [ANA] and ticket.previous_owner == ANA
    assert ticket.transfer_level == 1 and ticket.transfers_done == 1
    assert ticket.pending is None and ticket.status is Status.TRANSFERRED
    assert ticket.original_owner == ANA
    assert not ticket.downloaded, "the new owner's app has not synced it yet"
    assert_replays(ticket, log)


def test_w5_accept_needs_profile() -> None:
    ticket, _ = downloaded()
    transfer, _ = ticket.start_transfer(ANA, BEA, at(10))
    refused(Conflict, "PROFILE_INCOMPLETE", ticket, ticket.accept, BEA, transfer.transfer_id, at(20),
            profile_complete=False)
    assert ticket.pending is transfer


def test_w5_only_recipient_accepts() -> None:
    ticket, _ = downloaded()
    transfer, _ = ticket.start_transfer(ANA, BEA, at(10))
    refused(Forbidden, "NOT_TRANSFER_RECIPIENT", ticket, ticket.accept, ANA, transfer.transfer_id, at(20),
            profile_complete=True)
    refused(Forbidden, "NOT_TRANSFER_RECIPIENT", ticket, ticket.accept, CAI, transfer.transfer_id, at(20),
            profile_complete=True)


def test_w5_accept_unknown_transfer_is_not_pending() -> None:
    ticket, _ = downloaded()
    ticket.start_transfer(ANA, BEA, at(10))
    refused(Conflict, "TRANSFER_NOT_PENDING", ticket, ticket.accept, BEA, "no-such-transfer", at(20),
            profile_complete=True)


def test_w5_accept_twice_is_not_pending() -> None:
    ticket, _ = downloaded()
    transfer, _ = ticket.start_transfer(ANA, BEA, at(10))
    ticket.accept(BEA, transfer.transfer_id, at(20), profile_complete=True)
    refused(Conflict, "TRANSFER_NOT_PENDING", ticket, ticket.accept, BEA, transfer.transfer_id, at(30),
            profile_complete=True)


# -- W6 -------------------------------------------------------------------------------------------


def test_w6_reject() -> None:
    ticket, log = downloaded()
    transfer, changes = ticket.start_transfer(ANA, BEA, at(10))
    log += changes
    changes = ticket.reject(BEA, transfer.transfer_id, at(20))
    log += changes
    assert statuses(changes) == [Status.FAILURE_TRANSFER]
    snapshot = changes[0].transfer
    assert snapshot is not None and snapshot.failure_reason is FailureReason.REJECTED
    assert snapshot.state is TransferState.REJECTED and snapshot.resolved_at == at(20)
    assert changes[0].owner == ANA and changes[0].transfer_level == 0
    assert ticket.owner == ANA and ticket.pending is None and ticket.status is Status.FAILURE_TRANSFER
    assert_replays(ticket, log)


def test_w6_only_recipient_rejects() -> None:
    ticket, _ = downloaded()
    transfer, _ = ticket.start_transfer(ANA, BEA, at(10))
    refused(Forbidden, "NOT_TRANSFER_RECIPIENT", ticket, ticket.reject, ANA, transfer.transfer_id, at(20))


def test_w6_cancel_by_sender() -> None:
    ticket, log = downloaded()
    transfer, changes = ticket.start_transfer(ANA, BEA, at(10))
    log += changes
    changes = ticket.cancel(ANA, transfer.transfer_id, at(20))
    log += changes
    assert statuses(changes) == [Status.FAILURE_TRANSFER]
    snapshot = changes[0].transfer
    assert snapshot is not None and snapshot.failure_reason is FailureReason.CANCELLED_BY_SENDER
    assert snapshot.state is TransferState.CANCELLED and snapshot.resolved_at == at(20)
    assert ticket.owner == ANA and ticket.pending is None
    assert_replays(ticket, log)


def test_w6_only_sender_cancels() -> None:
    ticket, _ = downloaded()
    transfer, _ = ticket.start_transfer(ANA, BEA, at(10))
    refused(Forbidden, "NOT_TRANSFER_SENDER", ticket, ticket.cancel, BEA, transfer.transfer_id, at(20))
    refused(Forbidden, "NOT_TRANSFER_SENDER", ticket, ticket.cancel, CAI, transfer.transfer_id, at(20))


def test_w6_timeout_exactly_at_expires_at() -> None:
    ticket, log = downloaded()
    transfer, changes = ticket.start_transfer(ANA, BEA, at(10))
    log += changes
    assert transfer.expires_at is not None
    before = copy.deepcopy(ticket)
    assert ticket.expire_if_due(transfer.expires_at - US) == []
    assert ticket == before and ticket.pending is transfer
    changes = ticket.expire_if_due(transfer.expires_at)
    log += changes
    assert statuses(changes) == [Status.FAILURE]
    change = changes[0]
    assert change.occurred_at == transfer.expires_at
    assert change.transfer is not None and change.transfer.failure_reason is FailureReason.TIMEOUT
    assert change.transfer.state is TransferState.EXPIRED and change.transfer.resolved_at == transfer.expires_at
    assert ticket.status is Status.FAILURE and ticket.pending is None and ticket.owner == ANA
    assert_replays(ticket, log)


def test_w6_accept_one_microsecond_before_expiry_succeeds() -> None:
    ticket, _ = downloaded()
    transfer, _ = ticket.start_transfer(ANA, BEA, at(10))
    assert transfer.expires_at is not None
    changes = ticket.accept(BEA, transfer.transfer_id, transfer.expires_at - US, profile_complete=True)
    assert statuses(changes) == [Status.TRANSFERRED] and ticket.owner == BEA


def test_w6_late_expiry_is_dated_at_expires_at() -> None:
    ticket, _ = downloaded()
    transfer, _ = ticket.start_transfer(ANA, BEA, at(10))
    changes = ticket.expire_if_due(at(10) + 5 * HOUR)
    assert [c.occurred_at for c in changes] == [transfer.expires_at]
    assert ticket.expire_if_due(at(10) + 6 * HOUR) == [], "expiry happens once"


def test_w6_action_after_expiry_sees_timeout_first() -> None:
    ticket, log = downloaded()
    transfer, changes = ticket.start_transfer(ANA, BEA, at(10))
    log += changes
    assert transfer.expires_at is not None
    later = transfer.expires_at + timedelta(minutes=5)
    # the recipient is too late: the refusal comes after the expiry was materialized
    with pytest.raises(Conflict) as info:
        ticket.accept(BEA, transfer.transfer_id, later, profile_complete=True)
    assert info.value.code == "TRANSFER_NOT_PENDING"
    assert ticket.status is Status.FAILURE and ticket.pending is None and ticket.owner == ANA
    # the sender acts next: the same expiry is not produced twice, the new transfer follows it
    again, log2 = downloaded()
    t2, changes = again.start_transfer(ANA, BEA, at(10), transfer_id=transfer.transfer_id)
    log2 += changes
    t3, changes = again.start_transfer(ANA, CAI, later)
    log2 += changes
    assert statuses(changes) == [Status.FAILURE, Status.PENDING_TRANSFER]
    assert changes[0].occurred_at == transfer.expires_at and changes[1].occurred_at == later
    assert changes[0].transfer is not None and changes[0].transfer.transfer_id == t2.transfer_id
    assert changes[0].transfer.failure_reason is FailureReason.TIMEOUT
    assert again.pending is t3
    assert_replays(again, log2)


@pytest.mark.parametrize("action", ["sync", "assign", "reject", "cancel", "control", "delete", "organizer"])
def test_w6_every_action_materializes_expiry_first(action: str) -> None:
    ticket, log = downloaded()
    transfer, changes = ticket.start_transfer(ANA, BEA, at(10))
    log += changes
    assert transfer.expires_at is not None
    later = transfer.expires_at + timedelta(seconds=1)
    operations = {
        "sync": lambda: ticket.sync(later),
        "assign": lambda: ticket.assign_holder(ANA, {"firstName": "Caio"}, later),
        "reject": lambda: ticket.reject(BEA, transfer.transfer_id, later),
        "cancel": lambda: ticket.cancel(ANA, transfer.transfer_id, later),
        "control": lambda: ticket.control(later),
        "delete": lambda: ticket.delete(later, show_deleted=True),
        "organizer": lambda: ticket.organizer_transfer(CAI, "re-seat", later)[1],
    }
    if action in ("reject", "cancel"):
        with pytest.raises(Conflict) as info:
            operations[action]()
        assert info.value.code == "TRANSFER_NOT_PENDING"
        assert ticket.status is Status.FAILURE and ticket.pending is None
        return
    changes = operations[action]()
    log += changes
    assert changes[0].status is Status.FAILURE and changes[0].occurred_at == transfer.expires_at
    assert changes[0].transfer is not None and changes[0].transfer.failure_reason is FailureReason.TIMEOUT
    assert all(c.occurred_at == later for c in changes[1:])
    assert_replays(ticket, log)


# -- W7 -------------------------------------------------------------------------------------------


def test_w7_organizer_transfer_immediate_ignores_max_transfers() -> None:
    ticket, log = downloaded(max_transfers=0)
    refused(Conflict, "MAX_TRANSFERS_REACHED", ticket, ticket.start_transfer, ANA, BEA, at(5))
    transfer, changes = ticket.organizer_transfer(" Bea@Example.com ", "re-seated by the organizer", at(10))
    log += changes
    assert statuses(changes) == [Status.TRANSFERRED]
    assert transfer.initiated_by is Initiator.ORGANIZER and transfer.direction is Direction.FORWARD
    assert transfer.recipient == BEA and transfer.sender == ANA and transfer.expires_at is None
    assert transfer.reason == "re-seated by the organizer" and transfer.state is TransferState.ACCEPTED
    assert ticket.owner == BEA and ticket.transfer_level == 1 and ticket.transfers_done == 0
    transfer, changes = ticket.organizer_transfer(CAI, None, at(20))
    log += changes
    assert ticket.owner == CAI and ticket.transfer_level == 2 and ticket.transfers_done == 0
    assert_replays(ticket, log)


def test_i3_organizer_transfers_do_not_consume_max_transfers() -> None:
    """I3: a ticket whose only move was an organizer transfer may still be transferred once by a spectator
    when maxTransfers=1, and an organizer transfer after the spectator's leaves the limit reached."""
    ticket, _ = downloaded(max_transfers=1)
    ticket.organizer_transfer(BEA, "re-seat", at(10))
    ticket.sync(at(11))
    transfer, _ = ticket.start_transfer(BEA, CAI, at(20))
    ticket.accept(CAI, transfer.transfer_id, at(30), profile_complete=True)
    assert ticket.owner == CAI and ticket.transfers_done == 1
    refused(Conflict, "MAX_TRANSFERS_REACHED", ticket, ticket.start_transfer, CAI, DAN, at(40))
    ticket.organizer_transfer(DAN, None, at(50))
    assert ticket.owner == DAN and ticket.transfers_done == 1
    refused(Conflict, "MAX_TRANSFERS_REACHED", ticket, ticket.start_transfer, DAN, ANA, at(60))


def test_w7_organizer_transfer_to_previous_owner_is_backward() -> None:
    ticket, log = downloaded()
    log += ticket.organizer_transfer(BEA, None, at(10))[1]
    transfer, changes = ticket.organizer_transfer(ANA, "returned", at(20))
    log += changes
    assert transfer.direction is Direction.BACKWARD
    assert ticket.owner == ANA and ticket.transfer_level == 0 and ticket.previous_owners == []
    assert_replays(ticket, log)


def test_w7_organizer_transfer_refusals() -> None:
    ticket, _ = downloaded()
    refused(Conflict, "RECIPIENT_IS_SENDER", ticket, ticket.organizer_transfer, ANA, None, at(10))
    ticket.start_transfer(ANA, BEA, at(20))
    refused(Conflict, "TRANSFER_ALREADY_PENDING", ticket, ticket.organizer_transfer, CAI, None, at(30))
    ticket.control(at(40))
    refused(Conflict, "TICKET_CONTROLLED", ticket, ticket.organizer_transfer, CAI, None, at(50))
    other, _ = downloaded()
    other.delete(at(10), show_deleted=False)
    refused(Conflict, "TICKET_DELETED", other, other.organizer_transfer, CAI, None, at(20))


# -- W8 -------------------------------------------------------------------------------------------


def test_w8_control_fails_pending_first() -> None:
    ticket, log = downloaded()
    transfer, changes = ticket.start_transfer(ANA, BEA, at(10))
    log += changes
    changes = ticket.control(at(20))
    log += changes
    assert statuses(changes) == [Status.FAILURE, Status.CONTROLLED]
    assert changes[0].occurred_at == at(20) and changes[1].occurred_at == at(20)
    snapshot = changes[0].transfer
    assert snapshot is not None and snapshot.transfer_id == transfer.transfer_id
    assert snapshot.failure_reason is FailureReason.TICKET_CONTROLLED and snapshot.state is TransferState.FAILED
    assert changes[1].transfer is None
    assert ticket.status is Status.CONTROLLED and ticket.pending is None and ticket.owner == ANA
    refused(Conflict, "TRANSFER_NOT_PENDING", ticket, ticket.accept, BEA, transfer.transfer_id, at(30),
            profile_complete=True)
    assert_replays(ticket, log)


def test_w8_control_is_idempotent_and_final() -> None:
    ticket, log = downloaded()
    log += ticket.control(at(10))
    before = copy.deepcopy(ticket)
    assert ticket.control(at(20)) == []
    assert ticket == before
    refused(Conflict, "TICKET_CONTROLLED", ticket, ticket.start_transfer, ANA, BEA, at(30))
    assert ticket.sync(at(40)) == []
    assert ticket.status is Status.CONTROLLED
    assert_replays(ticket, log)


def test_w8_control_refused_when_deleted() -> None:
    ticket, _ = injected()
    ticket.delete(at(10), show_deleted=True)
    refused(Conflict, "TICKET_DELETED", ticket, ticket.control, at(20))


def test_w8_delete_pending_then_deleted_on_sync() -> None:
    ticket, log = downloaded()
    transfer, changes = ticket.start_transfer(ANA, BEA, at(10))
    log += changes
    changes = ticket.delete(at(20), show_deleted=False)
    log += changes
    assert statuses(changes) == [Status.FAILURE, Status.DELETION_PENDING]
    snapshot = changes[0].transfer
    assert snapshot is not None and snapshot.transfer_id == transfer.transfer_id
    assert snapshot.failure_reason is FailureReason.TICKET_DELETED and snapshot.state is TransferState.FAILED
    assert ticket.status is Status.DELETION_PENDING and ticket.pending is None and not ticket.show_deleted
    assert ticket.delete(at(25), show_deleted=True) == [], "deleting again changes nothing"
    assert not ticket.show_deleted
    changes = ticket.sync(at(30))
    log += changes
    assert statuses(changes) == [Status.DELETED] and changes[0].occurred_at == at(30)
    assert ticket.status is Status.DELETED
    assert ticket.sync(at(40)) == []
    assert_replays(ticket, log)


def test_w8_delete_never_downloaded_is_immediate() -> None:
    ticket, log = injected()
    changes = ticket.delete(at(10), show_deleted=True)
    log += changes
    assert statuses(changes) == [Status.DELETED] and changes[0].occurred_at == at(10)
    assert ticket.status is Status.DELETED and ticket.show_deleted
    assert ticket.sync(at(20)) == []
    assert_replays(ticket, log)


def test_w8_delete_after_transfer_depends_on_new_owners_sync() -> None:
    ticket, _ = downloaded()
    transfer, _ = ticket.start_transfer(ANA, BEA, at(10))
    ticket.accept(BEA, transfer.transfer_id, at(20), profile_complete=True)
    synced = copy.deepcopy(ticket)
    assert statuses(ticket.delete(at(30), show_deleted=True)) == [Status.DELETED]
    # W10: the new owner opening it is a DOWNLOADED record (the first to carry their profile)
    assert statuses(synced.sync(at(25))) == [Status.DOWNLOADED]
    assert synced.downloaded and synced.sync(at(26)) == []
    assert statuses(synced.delete(at(30), show_deleted=True)) == [Status.DELETION_PENDING]


def test_w8_controlled_ticket_can_be_deleted() -> None:
    ticket, log = downloaded()
    log += ticket.control(at(10))
    log += ticket.delete(at(20), show_deleted=True)
    assert ticket.status is Status.DELETION_PENDING
    assert_replays(ticket, log)


# -- chains ---------------------------------------------------------------------------------------


def test_chain_forward_then_return_with_levels() -> None:
    ticket, log = downloaded()
    levels = []
    for sender, recipient, minute in ((ANA, BEA, 1), (BEA, CAI, 2)):
        transfer, changes = ticket.start_transfer(sender, recipient, at(60 * minute))
        log += changes
        assert transfer.direction is Direction.FORWARD
        log += ticket.accept(recipient, transfer.transfer_id, at(60 * minute + 30), profile_complete=True)
        levels.append((ticket.owner, ticket.transfer_level))
    assert levels == [(BEA, 1), (CAI, 2)]
    assert ticket.previous_owners == [ANA, BEA] and ticket.transfers_done == 2
    for sender, recipient, minute in ((CAI, BEA, 3), (BEA, ANA, 4)):
        transfer, changes = ticket.start_transfer(sender, recipient, at(60 * minute))
        log += changes
        assert transfer.direction is Direction.BACKWARD
        assert statuses(changes) == [Status.TRANSFERRED]
        levels.append((ticket.owner, ticket.transfer_level))
    assert levels == [(BEA, 1), (CAI, 2), (BEA, 1), (ANA, 0)]
    assert ticket.previous_owners == [] and ticket.transfers_done == 2
    assert [(c.status, c.owner, c.transfer_level) for c in log] == [
        (Status.INJECTED, ANA, 0), (Status.DOWNLOADED, ANA, 0),
        (Status.PENDING_TRANSFER, ANA, 0), (Status.TRANSFERRED, BEA, 1),
        (Status.PENDING_TRANSFER, BEA, 1), (Status.TRANSFERRED, CAI, 2),
        (Status.TRANSFERRED, BEA, 1), (Status.TRANSFERRED, ANA, 0),
    ]
    assert_replays(ticket, log)


def test_chain_transfer_to_earlier_owner_is_forward() -> None:
    """Only the immediately previous owner gets a BACKWARD transfer; A→B→C→A is a new forward one."""
    ticket, log = downloaded()
    for sender, recipient in ((ANA, BEA), (BEA, CAI)):
        transfer, changes = ticket.start_transfer(sender, recipient, at(10))
        log += changes
        log += ticket.accept(recipient, transfer.transfer_id, at(20), profile_complete=True)
    transfer, changes = ticket.start_transfer(CAI, ANA, at(30))
    log += changes
    assert transfer.direction is Direction.FORWARD and statuses(changes) == [Status.PENDING_TRANSFER]
    log += ticket.accept(ANA, transfer.transfer_id, at(40), profile_complete=True)
    assert ticket.owner == ANA and ticket.transfer_level == 3 and ticket.previous_owners == [ANA, BEA, CAI]
    assert_replays(ticket, log)


def test_former_owner_can_no_longer_act() -> None:
    ticket, _ = downloaded()
    transfer, _ = ticket.start_transfer(ANA, BEA, at(10))
    ticket.accept(BEA, transfer.transfer_id, at(20), profile_complete=True)
    refused(Forbidden, "NOT_TICKET_OWNER", ticket, ticket.start_transfer, ANA, CAI, at(30))
    refused(Forbidden, "NOT_TICKET_OWNER", ticket, ticket.assign_holder, ANA, {"firstName": "X"}, at(30))
    transfer, _ = ticket.start_transfer(BEA, CAI, at(40))
    refused(Forbidden, "NOT_TRANSFER_SENDER", ticket, ticket.cancel, ANA, transfer.transfer_id, at(50))
    refused(Forbidden, "NOT_TRANSFER_RECIPIENT", ticket, ticket.reject, ANA, transfer.transfer_id, at(50))


def test_replay_equals_state_through_a_long_story() -> None:
    ticket, log = downloaded(max_transfers=3)
    log += ticket.assign_holder(ANA, {"firstName": "Ana", "lastName": "Lima"}, at(10))
    transfer, changes = ticket.start_transfer(ANA, BEA, at(20))
    log += changes
    assert_replays(ticket, log)
    log += ticket.reject(BEA, transfer.transfer_id, at(30))
    transfer, changes = ticket.start_transfer(ANA, BEA, at(40))
    log += changes
    log += ticket.accept(BEA, transfer.transfer_id, at(50), profile_complete=True)
    log += ticket.sync(at(55))
    log += ticket.assign_holder(BEA, {"firstName": "Bea"}, at(60))
    transfer, changes = ticket.start_transfer(BEA, CAI, at(70))
    log += changes
    log += ticket.expire_if_due(at(70) + HOUR)
    transfer, changes = ticket.start_transfer(BEA, DAN, at(70) + 2 * HOUR)
    log += changes
    assert_replays(ticket, log)
    log += ticket.control(at(70) + 2 * HOUR + timedelta(seconds=1))
    assert_replays(ticket, log)
    assert statuses(log) == [
        Status.INJECTED, Status.DOWNLOADED, Status.ASSIGNED, Status.PENDING_TRANSFER, Status.FAILURE_TRANSFER,
        Status.PENDING_TRANSFER, Status.TRANSFERRED, Status.DOWNLOADED, Status.ASSIGNED, Status.PENDING_TRANSFER,
        Status.FAILURE, Status.PENDING_TRANSFER, Status.FAILURE, Status.CONTROLLED,
    ]
    occurred = [c.occurred_at for c in log]
    assert occurred == sorted(occurred), "a ticket's log is in causal order"


def test_changes_hold_snapshots_not_live_transfers() -> None:
    ticket, _ = downloaded()
    transfer, changes = ticket.start_transfer(ANA, BEA, at(10))
    pending_snapshot = changes[0].transfer
    ticket.reject(BEA, transfer.transfer_id, at(20))
    assert pending_snapshot is not None and pending_snapshot.state is TransferState.PENDING
    assert pending_snapshot.failure_reason is None and pending_snapshot is not transfer
