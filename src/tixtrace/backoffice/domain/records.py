"""Lifecycle records from the wallet's diff feed, parsed and validated before anything is applied.

Parsing does every check that can fail (shape, status, e-mails, the C3 mapping of profiles), so
applying a parsed record cannot fail half-way: a bad record is refused whole (parked or stops the
run, per ``doContinueInCaseOfSyncError``) and nothing of it is applied.

A raw record is what the feed's decoder gives (``interfaces/tixngo/records.py``, one decode path for
pages, parked records and support files): an object exposing the feed's keys as attributes (a record,
its transfer, its profiles and their ``organizerSpectatorPreference``), ``ABSENT`` for a key it does
not carry, or a JSON value that is not an object (refused here). ``ticketHolder`` is a plain mapping
(kept as sent). No dict is built per record: a profile becomes a dict (the form kept on the ticket)
once per distinct profile, and ``Profiles`` keeps the people already checked, by value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property, lru_cache
from operator import attrgetter
from typing import Any, Final

from tixtrace.backoffice.domain.contacts import (
    CONSENT_FIELDS,
    PROFILE_TO_CONTACT_FIELDS,
    check_profile,
    contact_fields_from_profile,
    normalize_email,
)
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
#: the keys of a wallet profile (C3's mapping and the consents' object), in the order they are kept
PROFILE_KEYS: Final = (*PROFILE_TO_CONTACT_FIELDS, "organizerSpectatorPreference")
_PREFERENCE: Final = "organizerSpectatorPreference"


class _Absent:
    """A key the record does not carry: the decoder's default, equivalent to null for every check."""

    __slots__ = ()

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Final = _Absent()
_NOT_OBJECTS: Final = (str, int, float, bool, list, type(None), _Absent)


def is_object(value: Any) -> bool:
    """Whether a decoded value is an object (a struct of the decoder), not a JSON scalar or array."""
    return not isinstance(value, _NOT_OBJECTS)


def given(value: Any) -> bool:
    """Whether a decoded value says something: neither null nor absent."""
    return value is not None and value is not ABSENT


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
    raw: Mapping[str, Any]  # the profile as the wallet sent it (the ticket's wallet owner)

    @cached_property
    def fields(self) -> dict[str, Any]:
        return contact_fields_from_profile(self.raw)


@dataclass(slots=True)
class TransferInfo:
    """The record's transfer object (F3, F10): who sent it (None when the record names no sender),
    who started it (SPECTATOR when the record does not say), the organizer's reason of a W7 transfer
    and, for a FORWARD spectator transfer, when it times out. Never changed once parsed."""

    transfer_id: str
    direction: str
    initiated_by: str
    sender: Person | None
    recipient: Person
    failure_reason: str | None
    reason: str | None = None
    expires_at: datetime | None = None


@dataclass(slots=True)
class Record:
    """A parsed record; never changed once parsed."""

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


def _require(value: Any, key: str, kind: type, where: str) -> Any:
    if not isinstance(value, kind) or isinstance(value, bool) and kind is int:
        raise RecordError(f"{where}{key} is missing or not a {kind.__name__}")
    return value


def _time(value: Any, field: str) -> datetime:
    if not isinstance(value, str):
        raise RecordError(f"{field} is missing or not a time")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise RecordError(f"{field} {value!r} is not an RFC 3339 time") from exc
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


_PROFILE_VALUES: Final = attrgetter(*PROFILE_KEYS)
_CONSENT_VALUES: Final = attrgetter(*CONSENT_FIELDS)


def profile_dict(raw: Any) -> dict[str, Any]:
    """A decoded profile as the mapping the wallet sent (the keys it carried), the form kept on a ticket."""
    profile = {key: value for key, value in zip(PROFILE_KEYS, _PROFILE_VALUES(raw), strict=True)
               if value is not ABSENT}
    preference = profile.get(_PREFERENCE)
    if preference is not None and is_object(preference):
        profile[_PREFERENCE] = {consent: answer for consent, answer
                                in zip(CONSENT_FIELDS, _CONSENT_VALUES(preference), strict=True)
                                if answer is not ABSENT}
    return profile


@lru_cache(maxsize=20_000)
def _email(sent: str) -> tuple[str, str | None, str | None]:
    """An e-mail as sent: trimmed, its C1 key (None: not an address) and its defect (None: none).
    A pure function of the text, kept for the e-mails seen last (one person, many records)."""
    email = sent.strip()
    if not _EMAIL.match(email):
        return email, None, None
    if (defect := email_defect(email)) is not None:
        return email, None, defect
    return email, normalize_email(email), None


def _person(raw: Any, field: str) -> Person:
    if not is_object(raw):
        raise RecordError(f"{field} is missing or not an object")
    if not isinstance(raw.email, str):
        raise RecordError(f"{field}.email is missing or not an e-mail address")
    email, key, defect = _email(raw.email)
    if defect is not None:  # C1: never silently a new person
        raise RecordError(f"{field}.email is not an e-mail address: it {defect}")
    if key is None:
        raise RecordError(f"{field}.email is missing or not an e-mail address")
    profile = profile_dict(raw)
    try:
        check_profile(profile)
    except ValueError as exc:
        raise RecordError(f"{field}: {exc}") from exc
    complete = bool((profile.get("firstName") or "").strip() and (profile.get("lastName") or "").strip())
    return Person(email, key, complete, profile)


_CONSENT_TYPES: Final = (bool, type(None), _Absent)


def _consents_exact(raw: Any) -> bool:
    """Whether a profile's consents are booleans (or not given): what equality of profiles does not
    see (``1 == True``), so that a profile equal to a checked one is only taken for it when this holds."""
    preference = raw.organizerSpectatorPreference
    return not is_object(preference) or (isinstance(preference.allowPromoEmail, _CONSENT_TYPES)
                                         and isinstance(preference.allowThirdPartyEmail, _CONSENT_TYPES))


class Profiles:
    """The people of the profiles already checked, by the profile's value: a profile seen again (the
    same person on many records of a run) is neither checked nor mapped again. Parsing a profile is a
    pure function of it, so what is kept stays true across pages and runs; bounded (cleared when full).
    A profile that cannot be checked is never kept (its error names the field it came in)."""

    def __init__(self, limit: int = 20_000) -> None:
        self.limit = limit
        self._known: dict[Any, Person] = {}

    def person(self, raw: Any, field: str) -> Person:
        try:
            known = self._known.get(raw)
        except TypeError:  # a value no profile can have (an array, an object): refused by _person
            return _person(raw, field)
        if known is None:
            known = _person(raw, field)  # raises for anything but a sound profile: nothing kept
            if len(self._known) >= self.limit:
                self._known.clear()
            self._known[raw] = known
        elif raw.organizerSpectatorPreference is not None and not _consents_exact(raw):
            return _person(raw, field)  # equal to a sound profile but for a consent's type: refused
        return known


def parse_record(raw: Any, profiles: Profiles | None = None) -> Record:
    """A validated Record, or RecordError naming what is wrong. ``profiles``: the people already checked."""
    if not is_object(raw):
        raise RecordError("record is not an object")
    person = (profiles or Profiles()).person
    # the usual record passes on exact types; anything else goes through _require (same checks)
    record_id = raw.recordId
    if type(record_id) is not int:
        record_id = _require(record_id, "recordId", int, "")
    ticket_number = raw.ticketId
    if type(ticket_number) is not str:
        ticket_number = _require(ticket_number, "ticketId", str, "")
    status = raw.status
    if type(status) is not str:
        status = _require(status, "status", str, "")
    if status not in STATUSES:
        raise RecordError(f"status {status!r} is not a lifecycle status ({', '.join(sorted(STATUSES))})")
    occurred_at = _time(raw.occurredAt, "occurredAt")
    owner = person(raw.walletOwner, "walletOwner") if given(raw.walletOwner) else None
    holder = raw.ticketHolder
    if not given(holder):
        holder = None
    elif not isinstance(holder, Mapping):
        raise RecordError("ticketHolder is not an object")
    transfer = None
    raw_transfer = raw.transfer
    if given(raw_transfer):
        if not is_object(raw_transfer):
            raise RecordError("transfer is not an object")
        direction = _require(raw_transfer.direction, "direction", str, "transfer.")
        if direction not in DIRECTIONS:
            raise RecordError(f"transfer.direction {direction!r} is not FORWARD or BACKWARD")
        failure = raw_transfer.failureReason
        initiated_by = raw_transfer.initiatedBy or "SPECTATOR"
        if not isinstance(initiated_by, str) or initiated_by not in INITIATORS:
            raise RecordError(f"transfer.initiatedBy {initiated_by!r} is not SPECTATOR or ORGANIZER")
        reason = raw_transfer.reason
        sender = raw_transfer.sender
        expires_at = raw_transfer.expiresAt
        transfer = TransferInfo(
            transfer_id=_require(raw_transfer.transferId, "transferId", str, "transfer."),
            direction=direction,
            initiated_by=initiated_by,
            sender=person(sender, "transfer.sender") if given(sender) else None,
            recipient=person(raw_transfer.recipient, "transfer.recipient"),
            failure_reason=failure if isinstance(failure, str) else None,
            reason=(reason.strip()[:REASON_LENGTH] or None) if isinstance(reason, str) else None,
            expires_at=_time(expires_at, "transfer.expiresAt") if given(expires_at) else None,
        )
    elif status in TRANSFER_STATUSES:
        raise RecordError(f"a {status} record must carry its transfer")
    return Record(record_id, ticket_number.strip(), status, occurred_at, owner,
                  dict(holder) if holder is not None else None, transfer)
