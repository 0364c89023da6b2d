"""Lifecycle records from the wallet's diff feed, parsed and validated before anything is applied.

Parsing does every check that can fail (shape, status, e-mails, the C3 mapping of profiles), so
applying a parsed record cannot fail half-way: a bad record is refused whole (parked or stops the
run, per ``doContinueInCaseOfSyncError``) and nothing of it is applied.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from tixtrace.backoffice.domain.contacts import check_profile, contact_fields_from_profile, normalize_email
from tixtrace.kernel.emails import email_defect

STATUSES = frozenset({
    "INJECTED", "DOWNLOADED", "ASSIGNED", "PENDING_TRANSFER", "TRANSFERRED", "FAILURE_TRANSFER", "FAILURE",
    "CONTROLLED", "DELETION_PENDING", "DELETED",
})
#: statuses whose record describes a transfer (and must carry one)
TRANSFER_STATUSES = frozenset({"PENDING_TRANSFER", "TRANSFERRED", "FAILURE_TRANSFER"})
FAILED_STATUSES = frozenset({"FAILURE_TRANSFER", "FAILURE"})
DIRECTIONS = frozenset({"FORWARD", "BACKWARD"})
INITIATORS = frozenset({"SPECTATOR", "ORGANIZER"})
#: the longest organizer reason kept on a line (the wallet takes up to 500 characters)
REASON_LENGTH = 500
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class RecordError(ValueError):
    """A record that cannot be applied; the message names the field and the value (never personal data)."""


@dataclass(frozen=True)
class Person:
    """A profile from the feed: the e-mail key for matching (C1) and the contact fields (C3).

    The profile was checked when parsed, so its mapping cannot fail; it is made only for the few
    profiles that create or complete a contact (most records only refresh a ticket)."""

    email: str  # as written, trimmed
    email_key: str  # kernel.emails.normalize_email (C1)
    complete: bool  # non-blank first name, last name and e-mail (is_complete_profile)
    raw: Mapping[str, Any]

    @cached_property
    def fields(self) -> dict[str, Any]:
        return contact_fields_from_profile(self.raw)


@dataclass(frozen=True)
class TransferInfo:
    """The record's transfer object (F3, F10): who sent it (None when the record names no sender),
    who started it (SPECTATOR when the record does not say), the organizer's reason of a W7 transfer
    and, for a FORWARD spectator transfer, when it times out."""

    transfer_id: str
    direction: str
    initiated_by: str
    sender: Person | None
    recipient: Person
    failure_reason: str | None
    reason: str | None = None
    expires_at: datetime | None = None


@dataclass(frozen=True)
class Record:
    record_id: int
    ticket_number: str
    status: str
    occurred_at: datetime
    wallet_owner: Person | None
    ticket_holder: dict[str, Any] | None
    transfer: TransferInfo | None

    @property
    def failed(self) -> bool:
        return self.status in FAILED_STATUSES


def _require(raw: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    value = raw.get(key)
    if not isinstance(value, kind) or isinstance(value, bool) and kind is int:
        raise RecordError(f"{where}{key} is missing or not a {getattr(kind, '__name__', kind)}")
    return value


def _time(value: Any, field: str) -> datetime:
    if not isinstance(value, str):
        raise RecordError(f"{field} is missing or not a time")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise RecordError(f"{field} {value!r} is not an RFC 3339 time") from exc
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _person(raw: Any, field: str) -> Person:
    if not isinstance(raw, Mapping):
        raise RecordError(f"{field} is missing or not an object")
    email = raw.get("email")
    if not isinstance(email, str) or not _EMAIL.match(email := email.strip()):
        raise RecordError(f"{field}.email is missing or not an e-mail address")
    if (defect := email_defect(email)) is not None:  # C1: never silently a new person
        raise RecordError(f"{field}.email is not an e-mail address: it {defect}")
    try:
        check_profile(raw)
    except ValueError as exc:
        raise RecordError(f"{field}: {exc}") from exc
    complete = bool((raw.get("firstName") or "").strip() and (raw.get("lastName") or "").strip())
    return Person(email, normalize_email(email), complete, raw)


def parse_record(raw: Any) -> Record:
    """A validated Record, or RecordError naming what is wrong."""
    if not isinstance(raw, Mapping):
        raise RecordError("record is not an object")
    record_id = _require(raw, "recordId", int, "")
    ticket_number = _require(raw, "ticketId", str, "")
    status = _require(raw, "status", str, "")
    if status not in STATUSES:
        raise RecordError(f"status {status!r} is not a lifecycle status ({', '.join(sorted(STATUSES))})")
    occurred_at = _time(raw.get("occurredAt"), "occurredAt")
    owner = _person(raw["walletOwner"], "walletOwner") if raw.get("walletOwner") is not None else None
    holder = raw.get("ticketHolder")
    if holder is not None and not isinstance(holder, Mapping):
        raise RecordError("ticketHolder is not an object")
    transfer = None
    raw_transfer = raw.get("transfer")
    if raw_transfer is not None:
        if not isinstance(raw_transfer, Mapping):
            raise RecordError("transfer is not an object")
        direction = _require(raw_transfer, "direction", str, "transfer.")
        if direction not in DIRECTIONS:
            raise RecordError(f"transfer.direction {direction!r} is not FORWARD or BACKWARD")
        failure = raw_transfer.get("failureReason")
        initiated_by = raw_transfer.get("initiatedBy") or "SPECTATOR"
        if initiated_by not in INITIATORS:
            raise RecordError(f"transfer.initiatedBy {initiated_by!r} is not SPECTATOR or ORGANIZER")
        reason = raw_transfer.get("reason")
        sender = raw_transfer.get("sender")
        expires_at = raw_transfer.get("expiresAt")
        transfer = TransferInfo(
            transfer_id=_require(raw_transfer, "transferId", str, "transfer."),
            direction=direction,
            initiated_by=initiated_by,
            sender=_person(sender, "transfer.sender") if sender is not None else None,
            recipient=_person(raw_transfer.get("recipient"), "transfer.recipient"),
            failure_reason=failure if isinstance(failure, str) else None,
            reason=(reason.strip()[:REASON_LENGTH] or None) if isinstance(reason, str) else None,
            expires_at=_time(expires_at, "transfer.expiresAt") if expires_at is not None else None,
        )
    elif status in TRANSFER_STATUSES:
        raise RecordError(f"a {status} record must carry its transfer")
    return Record(record_id, ticket_number.strip(), status, occurred_at, owner,
                  dict(holder) if holder is not None else None, transfer)
