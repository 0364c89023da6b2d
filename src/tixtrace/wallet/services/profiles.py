"""What a spectator's profile may hold, validated once for every way in: the organizer's injection
(spectatorDetails), the app's JSON API and the app page's forms (holder, profile). It sits below
``api/`` and ``web/`` so that both use it without importing each other.
"""

from __future__ import annotations

import unicodedata
from datetime import date
from typing import Annotated, Any

from pydantic import AfterValidator, ConfigDict, Field, StrictBool, StringConstraints

from tixtrace.kernel.web import ApiModel
from tixtrace.wallet.services.organizers import check_email


def _email(value: str) -> str:
    check_email(value)  # raises BadInput, which pydantic does not catch: convert to ValueError
    return value.strip()


def _valid_email(value: str) -> str:
    try:
        return _email(value)
    except Exception as exc:
        raise ValueError(f"{value!r} is not an e-mail address (expected name@domain.tld)") from exc


#: W13: bidi embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069): they make a name read
#: differently from what it holds, on the page, in a contact list or in the back office's export
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _plain_text(value: str) -> str:
    """W13: profile text holds no control character (Unicode Cc: C0, DEL, C1) and no bidi control,
    whatever way it comes in (injection, app, page), as the back office refuses them in its data."""
    for char in value:
        if char in _BIDI_CONTROLS:
            raise ValueError(f"must not contain the bidi control character U+{ord(char):04X}")
        if unicodedata.category(char) == "Cc":
            raise ValueError(f"must not contain the control character U+{ord(char):04X}")
    return value


PlainText = AfterValidator(_plain_text)

Email = Annotated[str, StringConstraints(max_length=320), AfterValidator(_valid_email),
                  Field(json_schema_extra={"format": "email"})]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), PlainText]
Country = Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2,3}$")]


class Preference(ApiModel):
    allow_promo_email: StrictBool
    allow_third_party_email: StrictBool


class ProfileFields(ApiModel):
    title: Annotated[str, StringConstraints(max_length=20), PlainText] | None = None
    date_of_birth: date | None = None
    nationality: Country | None = None
    id_card_number: Annotated[str, StringConstraints(max_length=50), PlainText] | None = None
    phone_number: Annotated[str, StringConstraints(max_length=30), PlainText] | None = None
    residence_country: Country | None = None
    language: Annotated[str, StringConstraints(max_length=10), PlainText] | None = None
    organizer_spectator_preference: Preference | None = None

    def wire(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)


class SpectatorDetails(ProfileFields):
    first_name: Name
    last_name: Name
    email: Email


class Holder(ProfileFields):
    model_config = ConfigDict(json_schema_extra={"examples": [{"firstName": "Ana", "lastName": "Lima"}]})

    first_name: Name
    last_name: Name
    email: Email | None = None


class ProfileUpdate(ProfileFields):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"firstName": "Ana", "lastName": "Lima", "language": "en"},
    ]})

    first_name: Name | None = None
    last_name: Name | None = None
