"""The wallet's ticket lifecycle as a pure state machine (DESIGN section 3, rules W1-W8).

A ``Ticket`` is identified inside one organizer by its ``ticket_id``; people are identified by
their normalized e-mail (one wallet account per e-mail). Every operation takes ``now`` and first
materializes an overdue expiry (W6), so a ticket's changes are always in causal order whatever
the order in which people act. Each operation returns the ``Change`` list it produced, one per
status reached; the service layer writes one lifecycle record per change in the same
transaction as the new state.

Invariants (checked by tests/wallet/domain):
- exactly one owner; at most one pending transfer; ``transfer_level == len(previous_owners)``;
- a pending transfer fails with FAILURE/TIMEOUT at exactly ``expires_at`` if nobody acted;
- replaying the changes (``replay``) gives the ticket's status, owner, holder and level.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from tixtrace.kernel.emails import normalize_email
from tixtrace.kernel.errors import Conflict, Forbidden
from tixtrace.wallet.domain.errors import WalletCode

DEFAULT_TRANSFER_TIMEOUT_SECONDS = 3600


class Status(StrEnum):
    INJECTED = "INJECTED"
    DOWNLOADED = "DOWNLOADED"
    ASSIGNED = "ASSIGNED"
    PENDING_TRANSFER = "PENDING_TRANSFER"
    TRANSFERRED = "TRANSFERRED"
    FAILURE_TRANSFER = "FAILURE_TRANSFER"
    FAILURE = "FAILURE"
    CONTROLLED = "CONTROLLED"
    DELETION_PENDING = "DELETION_PENDING"
    DELETED = "DELETED"


#: statuses after which a ticket can no longer move (W4, W8)
FROZEN = frozenset({Status.CONTROLLED, Status.DELETION_PENDING, Status.DELETED})


class Direction(StrEnum):
    FORWARD = "FORWARD"
    BACKWARD = "BACKWARD"


class Initiator(StrEnum):
    SPECTATOR = "SPECTATOR"
    ORGANIZER = "ORGANIZER"


class TransferState(StrEnum):
    PENDING = "PENDING"
    ACCEPTED = "ACCEPTED"
    REJECTED = "REJECTED"
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"
    FAILED = "FAILED"


class FailureReason(StrEnum):
    REJECTED = "REJECTED"
    CANCELLED_BY_SENDER = "CANCELLED_BY_SENDER"
    TIMEOUT = "TIMEOUT"
    TICKET_CONTROLLED = "TICKET_CONTROLLED"
    TICKET_DELETED = "TICKET_DELETED"


@dataclass
class Transfer:
    transfer_id: str
    ticket_id: str
    sender: str
    recipient: str
    direction: Direction
    initiated_by: Initiator
    created_at: datetime
    expires_at: datetime | None
    state: TransferState = TransferState.PENDING
    resolved_at: datetime | None = None
    failure_reason: FailureReason | None = None
    reason: str | None = None

    @property
    def is_pending(self) -> bool:
        return self.state is TransferState.PENDING


@dataclass(frozen=True)
class Change:
    """One status the ticket reached: becomes one lifecycle record.

    ``owner``/``holder``/``transfer_level`` are the ticket's values right after the change;
    ``transfer`` is a snapshot of the transfer the change concerns, if any.
    """

    ticket_id: str
    status: Status
    occurred_at: datetime
    owner: str
    holder: dict[str, Any] | None
    transfer_level: int
    transfer: Transfer | None = None


@dataclass
class Ticket:
    ticket_id: str
    owner: str
    original_owner: str
    status: Status = Status.INJECTED
    previous_owners: list[str] = field(default_factory=list)
    holder: dict[str, Any] | None = None
    downloaded: bool = False
    max_transfers: int | None = None
    transfers_done: int = 0
    show_deleted: bool = True
    pending: Transfer | None = None

    @property
    def transfer_level(self) -> int:
        return len(self.previous_owners)

    @property
    def previous_owner(self) -> str | None:
        return self.previous_owners[-1] if self.previous_owners else None

    # -- helpers -----------------------------------------------------------------------------

    def _change(self, status: Status, at: datetime, transfer: Transfer | None = None) -> Change:
        self.status = status
        snapshot = replace(transfer) if transfer is not None else None
        return Change(self.ticket_id, status, at, self.owner, self.holder, self.transfer_level, snapshot)

    def _fail_pending(self, at: datetime, reason: FailureReason, state: TransferState,
                      status: Status) -> Change:
        transfer = self.pending
        assert transfer is not None
        transfer.state = state
        transfer.failure_reason = reason
        transfer.resolved_at = at
        self.pending = None
        return self._change(status, at, transfer)

    def _move_to(self, transfer: Transfer) -> None:
        """Hand the ticket over. ``transfers_done`` counts the spectators' forward transfers only: it is
        what ``maxTransfers`` limits, and organizer transfers neither obey nor consume the limit (I3)."""
        if transfer.direction is Direction.BACKWARD:
            self.previous_owners.pop()
        else:
            self.previous_owners.append(self.owner)
            if transfer.initiated_by is Initiator.SPECTATOR:
                self.transfers_done += 1
        self.owner = transfer.recipient
        self.holder = None
        self.downloaded = False

    def _require_movable(self) -> None:
        if self.status is Status.CONTROLLED:
            raise Conflict(f"ticket {self.ticket_id} was controlled and can no longer be transferred",
                           code=WalletCode.TICKET_CONTROLLED, details={"ticketId": self.ticket_id})
        if self.status in (Status.DELETION_PENDING, Status.DELETED):
            raise Conflict(f"ticket {self.ticket_id} is deleted", code=WalletCode.TICKET_DELETED,
                           details={"ticketId": self.ticket_id})

    def _require_no_pending(self) -> None:
        if self.pending is not None:
            raise Conflict(f"ticket {self.ticket_id} already has a pending transfer "
                           f"({self.pending.transfer_id}); it must be accepted, rejected, cancelled or "
                           "expire first", code=WalletCode.TRANSFER_ALREADY_PENDING,
                           details={"ticketId": self.ticket_id, "transferId": self.pending.transfer_id})

    # -- W6: expiry is a function of (expires_at, now) ---------------------------------------

    def expire_if_due(self, now: datetime) -> list[Change]:
        transfer = self.pending
        if transfer is None or transfer.expires_at is None or transfer.expires_at > now:
            return []
        return [self._fail_pending(transfer.expires_at, FailureReason.TIMEOUT, TransferState.EXPIRED,
                                   Status.FAILURE)]

    # -- W2, W3 ------------------------------------------------------------------------------

    def sync(self, now: datetime) -> list[Change]:
        """The owner's app lists its tickets (W2, W8): INJECTED → DOWNLOADED, DELETION_PENDING → DELETED,
        and a ticket received by transfer (TRANSFERRED, not yet on the new owner's phone) → DOWNLOADED:
        opening it is what shares the new owner's profile with the organizer (W10), and this record is
        the first to carry it (docs/decisions.md, Privacy)."""
        changes = self.expire_if_due(now)
        opened = not self.downloaded
        self.downloaded = True
        if self.status is Status.INJECTED or (opened and self.status is Status.TRANSFERRED):
            changes.append(self._change(Status.DOWNLOADED, now))
        elif self.status is Status.DELETION_PENDING:
            changes.append(self._change(Status.DELETED, now))
        return changes

    def assign_holder(self, actor: str, holder: dict[str, Any], now: datetime) -> list[Change]:
        changes = self.expire_if_due(now)
        self._require_owner(actor)
        self._require_movable()
        self._require_no_pending()
        self.holder = dict(holder)
        changes.append(self._change(Status.ASSIGNED, now))
        return changes

    def _require_owner(self, actor: str) -> None:
        if actor != self.owner:
            raise Forbidden(f"ticket {self.ticket_id} is not in your wallet", code=WalletCode.NOT_TICKET_OWNER,
                            details={"ticketId": self.ticket_id})

    # -- W4, W5, W6, W7 ----------------------------------------------------------------------

    def start_transfer(self, actor: str, recipient: str, now: datetime, *,
                       timeout_seconds: int = DEFAULT_TRANSFER_TIMEOUT_SECONDS,
                       acceptance_required: bool = True,
                       transfer_id: str | None = None) -> tuple[Transfer, list[Change]]:
        """A spectator transfers the ticket (W4). BACKWARD (to the previous owner) completes at once;
        FORWARD waits for acceptance unless the organizer turned acceptance off."""
        changes = self.expire_if_due(now)
        self._require_owner(actor)
        recipient = normalize_email(recipient)
        self._require_movable()
        self._require_no_pending()
        if recipient == self.owner:
            raise Conflict("you cannot transfer a ticket to yourself", code=WalletCode.RECIPIENT_IS_SENDER,
                           details={"ticketId": self.ticket_id})
        backward = recipient == self.previous_owner
        if not backward and self.max_transfers is not None and self.transfers_done >= self.max_transfers:
            raise Conflict(f"ticket {self.ticket_id} reached its limit of {self.max_transfers} transfers",
                           code=WalletCode.MAX_TRANSFERS_REACHED,
                           details={"ticketId": self.ticket_id, "maxTransfers": self.max_transfers})
        direction = Direction.BACKWARD if backward else Direction.FORWARD
        immediate = backward or not acceptance_required
        transfer = Transfer(
            transfer_id=transfer_id or str(uuid.uuid4()), ticket_id=self.ticket_id, sender=self.owner,
            recipient=recipient, direction=direction, initiated_by=Initiator.SPECTATOR, created_at=now,
            expires_at=None if immediate else now + timedelta(seconds=timeout_seconds),
        )
        if immediate:
            changes.append(self._complete(transfer, now))
        else:
            self.pending = transfer
            changes.append(self._change(Status.PENDING_TRANSFER, now, transfer))
        return transfer, changes

    def _complete(self, transfer: Transfer, now: datetime) -> Change:
        transfer.state = TransferState.ACCEPTED
        transfer.resolved_at = now
        self.pending = None
        self._move_to(transfer)
        return self._change(Status.TRANSFERRED, now, transfer)

    def accept(self, actor: str, transfer_id: str, now: datetime, *, profile_complete: bool) -> list[Change]:
        changes = self.expire_if_due(now)
        transfer = self._pending_for(transfer_id, now)
        if actor != transfer.recipient:
            raise Forbidden("only the recipient can accept a transfer", code=WalletCode.NOT_TRANSFER_RECIPIENT,
                            details={"transferId": transfer_id})
        if not profile_complete:
            raise Conflict("complete your profile (first and last name) before accepting a ticket",
                           code=WalletCode.PROFILE_INCOMPLETE, details={"transferId": transfer_id})
        changes.append(self._complete(transfer, now))
        return changes

    def reject(self, actor: str, transfer_id: str, now: datetime) -> list[Change]:
        changes = self.expire_if_due(now)
        transfer = self._pending_for(transfer_id, now)
        if actor != transfer.recipient:
            raise Forbidden("only the recipient can reject a transfer", code=WalletCode.NOT_TRANSFER_RECIPIENT,
                            details={"transferId": transfer_id})
        changes.append(self._fail_pending(now, FailureReason.REJECTED, TransferState.REJECTED,
                                          Status.FAILURE_TRANSFER))
        return changes

    def cancel(self, actor: str, transfer_id: str, now: datetime) -> list[Change]:
        changes = self.expire_if_due(now)
        transfer = self._pending_for(transfer_id, now)
        if actor != transfer.sender:
            raise Forbidden("only the sender can cancel a transfer", code=WalletCode.NOT_TRANSFER_SENDER,
                            details={"transferId": transfer_id})
        changes.append(self._fail_pending(now, FailureReason.CANCELLED_BY_SENDER, TransferState.CANCELLED,
                                          Status.FAILURE_TRANSFER))
        return changes

    def _pending_for(self, transfer_id: str, now: datetime) -> Transfer:
        if self.pending is None or self.pending.transfer_id != transfer_id:
            raise Conflict(f"transfer {transfer_id} is not pending any more", code=WalletCode.TRANSFER_NOT_PENDING,
                           details={"transferId": transfer_id})
        return self.pending

    def organizer_transfer(self, recipient: str, reason: str | None, now: datetime,
                           transfer_id: str | None = None) -> tuple[Transfer, list[Change]]:
        """W7: the organizer moves the ticket at once, whatever maxTransfers says."""
        changes = self.expire_if_due(now)
        recipient = normalize_email(recipient)
        self._require_movable()
        self._require_no_pending()
        if recipient == self.owner:
            raise Conflict("the recipient already owns this ticket", code=WalletCode.RECIPIENT_IS_SENDER,
                           details={"ticketId": self.ticket_id})
        direction = Direction.BACKWARD if recipient == self.previous_owner else Direction.FORWARD
        transfer = Transfer(
            transfer_id=transfer_id or str(uuid.uuid4()), ticket_id=self.ticket_id, sender=self.owner,
            recipient=recipient, direction=direction, initiated_by=Initiator.ORGANIZER, created_at=now,
            expires_at=None, reason=reason,
        )
        changes.append(self._complete(transfer, now))
        return transfer, changes

    # -- W8 ----------------------------------------------------------------------------------

    def control(self, now: datetime) -> list[Change]:
        changes = self.expire_if_due(now)
        if self.status in (Status.DELETION_PENDING, Status.DELETED):
            raise Conflict(f"ticket {self.ticket_id} is deleted", code=WalletCode.TICKET_DELETED,
                           details={"ticketId": self.ticket_id})
        if self.status is Status.CONTROLLED:
            return changes
        if self.pending is not None:
            changes.append(self._fail_pending(now, FailureReason.TICKET_CONTROLLED, TransferState.FAILED,
                                              Status.FAILURE))
        changes.append(self._change(Status.CONTROLLED, now))
        return changes

    def delete(self, now: datetime, *, show_deleted: bool) -> list[Change]:
        changes = self.expire_if_due(now)
        if self.status in (Status.DELETION_PENDING, Status.DELETED):
            return changes
        if self.pending is not None:
            changes.append(self._fail_pending(now, FailureReason.TICKET_DELETED, TransferState.FAILED,
                                              Status.FAILURE))
        self.show_deleted = show_deleted
        status = Status.DELETION_PENDING if self.downloaded else Status.DELETED
        changes.append(self._change(status, now))
        return changes


@dataclass(frozen=True)
class Replayed:
    status: Status
    owner: str
    holder: dict[str, Any] | None
    transfer_level: int
    pending_transfer_id: str | None


def replay(changes: list[Change]) -> Replayed | None:
    """Fold a ticket's changes, oldest first, into the state they describe."""
    if not changes:
        return None
    last = changes[-1]
    pending = None
    for change in changes:
        if change.status is Status.PENDING_TRANSFER and change.transfer is not None:
            pending = change.transfer.transfer_id
        elif change.transfer is not None and change.transfer.transfer_id == pending:
            pending = None
    return Replayed(last.status, last.owner, last.holder, last.transfer_level, pending)
