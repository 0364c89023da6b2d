"""Contacts as the feedback sees them: e-mail matching (C1) and the wallet profile mapping (C3).

Pure rules, no storage: repositories find the candidates sharing a normalized e-mail and hand them to
`best_match`; services write what `contact_fields_from_profile` returns.

Invariants:
- Two e-mails designate the same person iff their `normalize_email` forms are equal (trimmed, NFKC,
  lower-cased: the kernel's rule, the same as the wallet's; re-exported here for the feedback).
- `best_match` is a function of the set of candidates: it ignores their order and never returns a
  STRUCTURE.
- `contact_fields_from_profile` returns every contact field of `PROFILE_TO_CONTACT_FIELDS` plus the two
  consents, None when the profile does not say; it refuses (ValueError) a value it cannot store rather
  than silently dropping it. Control and bidi characters are the exception (C3): they are dropped from
  every text, never stored, so a wallet profile cannot reorder or hide what a contact's screen shows.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Final

from tixtrace.kernel.emails import normalize_email

__all__ = [
    "CONSENT_FIELDS",
    "PROFILE_TO_CONTACT_FIELDS",
    "TEMPORARY_FIRST_NAME",
    "TEMPORARY_LAST_NAME",
    "Candidate",
    "ContactKind",
    "ContactMatch",
    "best_match",
    "check_profile",
    "contact_fields_from_profile",
    "is_complete_profile",
    "match_sort_key",
    "normalize_email",
    "temporary_contact_fields",
]

TEMPORARY_FIRST_NAME: Final = "Pending"
TEMPORARY_LAST_NAME: Final = "CREATION"


class ContactKind(StrEnum):
    INDIVIDUAL = "INDIVIDUAL"
    RELAY = "RELAY"
    STRUCTURE = "STRUCTURE"


class ContactMatch(StrEnum):
    """How a distribution line's new contact was found (C1), recorded on the line."""

    EXISTING = "EXISTING"
    CREATED_TEMPORARY = "CREATED_TEMPORARY"
    CREATED = "CREATED"
    COMPLETED = "COMPLETED"


@dataclass(frozen=True)
class Candidate:
    """What C1 needs to know of a contact sharing the recipient's e-mail.

    All `created_at` values handed to one `best_match` call must be comparable (all timezone-aware).
    """

    id: int
    kind: ContactKind
    is_temporary: bool
    has_internet_account: bool
    created_at: datetime


_KIND_RANK: Final = {ContactKind.INDIVIDUAL: 0, ContactKind.RELAY: 1}


def match_sort_key(candidate: Candidate) -> tuple[bool, bool, int, datetime, int]:
    """Ascending key of C1's preference: not temporary, internet account, INDIVIDUAL, oldest, lowest id.

    The id is the final tie-break so that the choice never depends on the order rows come back in;
    a database query can mirror it as ``ORDER BY is_temporary, has_internet_account DESC, kind,
    created_at, id``. STRUCTURE candidates have no rank: filter them out first.
    """
    return (
        candidate.is_temporary,
        not candidate.has_internet_account,
        _KIND_RANK[candidate.kind],
        candidate.created_at,
        candidate.id,
    )


def best_match(candidates: Iterable[Candidate]) -> Candidate | None:
    """The contact a recipient's e-mail designates among `candidates` (C1); None if none can match."""
    eligible = [c for c in candidates if c.kind is not ContactKind.STRUCTURE]
    return min(eligible, key=match_sort_key, default=None)


PROFILE_TO_CONTACT_FIELDS: Final[dict[str, str]] = {
    "title": "title",
    "firstName": "first_name",
    "lastName": "last_name",
    "dateOfBirth": "birth_date",
    "email": "email",
    "nationality": "nationality",
    "idCardNumber": "id_number",
    "phoneNumber": "mobile_phone",
    "residenceCountry": "country",
    "language": "language",
}
"""Wallet profile key (camelCase) → contact field, C3; the consents are in `CONSENT_FIELDS`."""

CONSENT_FIELDS: Final[dict[str, str]] = {
    "allowPromoEmail": "allow_promo_email",
    "allowThirdPartyEmail": "allow_third_party_email",
}
"""Key under the profile's ``organizerSpectatorPreference`` → contact consent field, C3."""

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


_BIDI_CONTROLS: Final = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _is_dropped(char: str) -> bool:
    """A control character (Unicode Cc: NUL, escapes, line breaks) or a bidi control (C3)."""
    return char in _BIDI_CONTROLS or unicodedata.category(char) == "Cc"


def _text(value: str | None) -> str | None:
    """A checked profile text without control or bidi characters (C3: dropped, never stored), trimmed;
    None when absent or blank (the contact shape's "unknown")."""
    if value is None:
        return None
    if not value.isprintable():  # every dropped character is unprintable: the common case costs one scan
        value = "".join(char for char in value if not _is_dropped(char))
    return value.strip() or None


def _birth_date(value: object) -> date | None:
    """``YYYY-MM-DD`` as a date; None when absent or blank. Anything else is refused, never dropped."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if value is not None and not isinstance(value, str):
        raise ValueError(f"profile field dateOfBirth must be text, got {type(value).__name__}")
    text = _text(value)
    if text is None:
        return None
    if _ISO_DATE.fullmatch(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    raise ValueError("profile field dateOfBirth must be a date YYYY-MM-DD")  # its value is personal data


_TEXT_KEYS: Final = tuple((key, field) for key, field in PROFILE_TO_CONTACT_FIELDS.items() if key != "dateOfBirth")


def _preference(profile: Mapping[str, Any]) -> Mapping[str, Any]:
    preference = profile.get("organizerSpectatorPreference")
    if preference is None:
        return {}
    if not isinstance(preference, Mapping):
        raise ValueError(
            f"profile field organizerSpectatorPreference must be an object, got {type(preference).__name__}"
        )
    return preference


_TEXT_KEY_SET: Final = frozenset(key for key, _ in _TEXT_KEYS)


def check_profile(profile: Mapping[str, Any]) -> None:
    """Refuse (ValueError naming the field) a profile whose values a contact cannot store (C3).

    Cheap, for every profile of the feed (it looks only at the keys present); the mapping,
    `contact_fields_from_profile`, is made only for the profiles that create or complete a contact."""
    for key, value in profile.items():
        if value is None:
            continue
        if key in _TEXT_KEY_SET:
            if not isinstance(value, str):
                raise ValueError(f"profile field {key} must be text, got {type(value).__name__}")
        elif key == "dateOfBirth":
            _birth_date(value)
        elif key == "organizerSpectatorPreference":
            preference = _preference(profile)
            for consent in CONSENT_FIELDS:
                answer = preference.get(consent)
                if answer is not None and not isinstance(answer, bool):
                    raise ValueError(f"profile field organizerSpectatorPreference.{consent} must be true or false, "
                                     f"got {type(answer).__name__}")


def contact_fields_from_profile(profile: Mapping[str, Any]) -> dict[str, Any]:
    """Contact fields from a wallet profile (C3); texts trimmed, absent or blank values None.

    The e-mail is kept as written (trimmed): only matching normalizes it.
    """
    check_profile(profile)
    fields: dict[str, Any] = {field: _text(profile.get(key)) for key, field in _TEXT_KEYS}
    fields["birth_date"] = _birth_date(profile.get("dateOfBirth"))
    preference = _preference(profile)
    for key, contact_field in CONSENT_FIELDS.items():
        fields[contact_field] = preference.get(key)
    return fields


def is_complete_profile(profile: Mapping[str, Any] | None) -> bool:
    """A profile a contact can be created or completed from: non-blank first name, last name, e-mail."""
    if profile is None:
        return False
    required = ("firstName", "lastName", "email")
    return all(isinstance(profile.get(key), str) and profile[key].strip() for key in required)


def temporary_contact_fields(email: str) -> dict[str, Any]:
    """Fields of the placeholder contact made for a pending recipient (glossary: temporary contact)."""
    return {
        "kind": ContactKind.INDIVIDUAL,
        "first_name": TEMPORARY_FIRST_NAME,
        "last_name": TEMPORARY_LAST_NAME,
        "email": email.strip(),
        "is_temporary": True,
        "has_internet_account": False,
    }
