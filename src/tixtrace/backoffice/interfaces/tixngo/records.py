"""The feed's lifecycle records as they come over the wire: decoded by msgspec straight into structs.

This is the one decode path of the feedback's records, whatever their source: a diff page (bytes, in
the prefetch thread), a parked record or a support file's record (JSON values already decoded: the
same structs by ``msgspec.convert``). The domain (``domain/records.py``) then checks and maps the
structs' attributes, with no dict in between; it alone decides whether a record can be applied, so
the messages of a malformed record are the domain's (``RecordError``), the same for every source.

Invariants:
- decoding never refuses a record for its content: every field is typed loosely enough to take any
  JSON value (a scalar field is ``Any``; an object field is the struct or any non-object JSON value),
  so a malformed record reaches the domain's checks and is parked or stops the run as the domain says;
  only a page that is not ``{"records": [...], "paginationKey", "hasMore"}`` is refused (a fault,
  retried like a body that is not JSON);
- a key the record does not carry is ``ABSENT`` (the domain's marker, falsy, equivalent to null for
  every check), and ``stored`` gives the record back as JSON values without it, so a parked record
  keeps the keys it came with (keys the back office does not know are not kept);
- profiles are frozen (hashable) structs: equal profiles are checked and mapped once
  (``domain.records.Profiles``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from tixtrace.backoffice.domain.records import ABSENT


class WirePreference(msgspec.Struct, frozen=True, omit_defaults=True, gc=False):
    allowPromoEmail: Any = ABSENT
    allowThirdPartyEmail: Any = ABSENT


#: any JSON value but an object, beside the struct an object decodes to: decoding never fails on it
_OR_NOT_OBJECT = str | int | float | bool | list[Any] | None

_Preference = WirePreference | _OR_NOT_OBJECT


class WireProfile(msgspec.Struct, frozen=True, omit_defaults=True, gc=False):
    """A person's profile as the wallet shows it to the organizer (W10): the keys of C3's mapping."""

    email: Any = ABSENT
    title: Any = ABSENT
    firstName: Any = ABSENT
    lastName: Any = ABSENT
    dateOfBirth: Any = ABSENT
    nationality: Any = ABSENT
    idCardNumber: Any = ABSENT
    phoneNumber: Any = ABSENT
    residenceCountry: Any = ABSENT
    language: Any = ABSENT
    organizerSpectatorPreference: _Preference = ABSENT  # type: ignore[assignment]


_Profile = WireProfile | _OR_NOT_OBJECT


class WireTransfer(msgspec.Struct, omit_defaults=True, gc=False):
    transferId: Any = ABSENT
    direction: Any = ABSENT
    initiatedBy: Any = ABSENT
    sender: _Profile = ABSENT  # type: ignore[assignment]
    recipient: _Profile = ABSENT  # type: ignore[assignment]
    expiresAt: Any = ABSENT
    failureReason: Any = ABSENT
    reason: Any = ABSENT


class WireRecord(msgspec.Struct, omit_defaults=True, gc=False):
    recordId: Any = ABSENT
    ticketId: Any = ABSENT
    status: Any = ABSENT
    occurredAt: Any = ABSENT
    transferLevel: Any = ABSENT
    walletOwner: _Profile = ABSENT  # type: ignore[assignment]
    ticketHolder: dict[str, Any] | _OR_NOT_OBJECT = ABSENT  # type: ignore[assignment]
    transfer: WireTransfer | _OR_NOT_OBJECT = ABSENT  # type: ignore[assignment]


#: a record of the feed: its struct, or the JSON value itself when it is not an object
Wire = WireRecord | _OR_NOT_OBJECT


class WirePage(msgspec.Struct, gc=False):
    records: list[Wire]
    paginationKey: Any
    hasMore: Any


PAGE_DECODER = msgspec.json.Decoder(WirePage)


def from_json_values(raw_records: Sequence[Any]) -> list[Any]:
    """Records already decoded to JSON values (a parked record, a support file's) as the feed's
    structs: the same types as a page's, so the domain reads every record the same way."""
    return msgspec.convert(list(raw_records), list[Wire])


def from_json_value(raw: Any) -> Any:
    return msgspec.convert(raw, Wire)


def stored(record: Any) -> Any:
    """A record as JSON values, to keep (parked records): the keys it came with, absent ones left out."""
    return msgspec.to_builtins(record)
