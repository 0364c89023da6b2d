"""Contact matching by e-mail (C1) and the wallet profile mapping (C3)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tixtrace.backoffice.domain.contacts import (
    TEMPORARY_FIRST_NAME,
    TEMPORARY_LAST_NAME,
    Candidate,
    ContactKind,
    ContactMatch,
    best_match,
    contact_fields_from_profile,
    is_complete_profile,
    match_sort_key,
    normalize_email,
    temporary_contact_fields,
)

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def candidate(
    id: int,
    kind: ContactKind = ContactKind.INDIVIDUAL,
    *,
    temporary: bool = False,
    account: bool = False,
    age_days: int = 0,
) -> Candidate:
    """A candidate created `age_days` before T0 (older = larger age)."""
    return Candidate(
        id=id,
        kind=kind,
        is_temporary=temporary,
        has_internet_account=account,
        created_at=T0 - timedelta(days=age_days),
    )


# --- normalize_email -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("email", "expected"),
    [
        ("  Ana.Lopez@Example.COM \t", "ana.lopez@example.com"),
        ("ana@example.com", "ana@example.com"),
        ("STRAßE@Example.de", "straße@example.de"),  # lower, not casefold: straße and strasse are two people
        ("\nBOB@X.ORG\r\n", "bob@x.org"),
        ("\uff21lice@\uff25xample.com", "alice@example.com"),  # NFKC: fullwidth is its ASCII twin
    ],
)
def test_normalize_email_trims_nfkc_and_lowers(email: str, expected: str) -> None:
    assert normalize_email(email) == expected


def test_normalize_email_is_idempotent() -> None:
    once = normalize_email(" Ümit@Örnek.COM ")
    assert normalize_email(once) == once


# --- C1: best_match -------------------------------------------------------------------------------


def test_no_candidate_no_match() -> None:
    assert best_match([]) is None


def test_structure_never_matches() -> None:
    assert best_match([candidate(1, ContactKind.STRUCTURE, account=True, age_days=99)]) is None


def test_structure_is_skipped_even_when_it_would_rank_first() -> None:
    structure = candidate(1, ContactKind.STRUCTURE, account=True, age_days=99)
    relay = candidate(2, ContactKind.RELAY, temporary=True)
    assert best_match([structure, relay]) == relay


def test_not_temporary_beats_temporary_even_when_younger_and_without_account() -> None:
    temporary = candidate(1, temporary=True, account=True, age_days=30)
    normal = candidate(2, ContactKind.RELAY, age_days=0)
    assert best_match([temporary, normal]) == normal


def test_internet_account_beats_older_and_individual() -> None:
    old_individual = candidate(1, ContactKind.INDIVIDUAL, age_days=30)
    relay_with_account = candidate(2, ContactKind.RELAY, account=True, age_days=0)
    assert best_match([old_individual, relay_with_account]) == relay_with_account


def test_individual_beats_older_relay() -> None:
    relay = candidate(1, ContactKind.RELAY, age_days=30)
    individual = candidate(2, ContactKind.INDIVIDUAL, age_days=0)
    assert best_match([relay, individual]) == individual


def test_oldest_wins_among_equals() -> None:
    older = candidate(9, age_days=3)
    younger = candidate(1, age_days=1)
    assert best_match([younger, older]) == older


def test_lowest_id_breaks_a_tie_on_creation_time() -> None:
    assert best_match([candidate(7), candidate(3), candidate(5)]) == candidate(3)


def test_two_temporaries_follow_the_same_order() -> None:
    relay = candidate(1, ContactKind.RELAY, temporary=True, age_days=5)
    individual = candidate(2, temporary=True, age_days=1)
    assert best_match([relay, individual]) == individual


def test_accepts_any_iterable() -> None:
    assert best_match(candidate(i) for i in (4, 2)) == candidate(2)


def test_match_sort_key_orders_by_c1_preference() -> None:
    ordered = [
        candidate(1, account=True, age_days=1),
        candidate(2, ContactKind.RELAY, account=True, age_days=9),
        candidate(3, age_days=9),
        candidate(4, age_days=1),
        candidate(5, ContactKind.RELAY, age_days=9),
        candidate(6, temporary=True, account=True),
        candidate(7, temporary=True, age_days=2),
        candidate(8, temporary=True, age_days=2),
    ]
    assert sorted(reversed(ordered), key=match_sort_key) == ordered


candidates = st.builds(
    Candidate,
    id=st.integers(1, 6),
    kind=st.sampled_from(list(ContactKind)),
    is_temporary=st.booleans(),
    has_internet_account=st.booleans(),
    created_at=st.integers(0, 3).map(lambda days: T0 + timedelta(days=days)),
)


@given(st.lists(candidates, max_size=8), st.randoms(use_true_random=False))
def test_best_match_ignores_candidate_order(pool: list[Candidate], random: Any) -> None:
    shuffled = list(pool)
    random.shuffle(shuffled)
    assert best_match(shuffled) == best_match(pool) == best_match(reversed(pool))


@given(st.lists(candidates, max_size=8))
def test_best_match_is_the_preferred_eligible_candidate(pool: list[Candidate]) -> None:
    eligible = [c for c in pool if c.kind is not ContactKind.STRUCTURE]
    chosen = best_match(pool)
    if not eligible:
        assert chosen is None
        return
    assert chosen is not None and chosen in eligible
    assert all(match_sort_key(chosen) <= match_sort_key(other) for other in eligible)


# --- enums and temporary contacts -----------------------------------------------------------------


def test_enum_values_are_their_names() -> None:
    assert [k.value for k in ContactKind] == ["INDIVIDUAL", "RELAY", "STRUCTURE"]
    assert [m.value for m in ContactMatch] == ["EXISTING", "CREATED_TEMPORARY", "CREATED", "COMPLETED"]


def test_temporary_contact_fields() -> None:
    assert (TEMPORARY_FIRST_NAME, TEMPORARY_LAST_NAME) == ("Pending", "CREATION")
    assert temporary_contact_fields(" New@Example.com ") == {
        "kind": ContactKind.INDIVIDUAL,
        "first_name": "Pending",
        "last_name": "CREATION",
        "email": "New@Example.com",
        "is_temporary": True,
        "has_internet_account": False,
    }


# --- C3: profile mapping ----------------------------------------------------------------------------

FULL_PROFILE: dict[str, Any] = {
    "title": "Ms",
    "firstName": "Ana",
    "lastName": "Lopez",
    "dateOfBirth": "1990-02-28",
    "email": "Ana.Lopez@Example.com",
    "nationality": "ES",
    "idCardNumber": "X1234567",
    "phoneNumber": "+34 600 000 000",
    "residenceCountry": "FR",
    "language": "es",
    "organizerSpectatorPreference": {"allowPromoEmail": True, "allowThirdPartyEmail": False},
}

ALL_NONE = {
    "title": None,
    "first_name": None,
    "last_name": None,
    "birth_date": None,
    "email": None,
    "nationality": None,
    "id_number": None,
    "mobile_phone": None,
    "country": None,
    "language": None,
    "allow_promo_email": None,
    "allow_third_party_email": None,
}


def test_full_profile_maps_every_field() -> None:
    assert contact_fields_from_profile(FULL_PROFILE) == {
        "title": "Ms",
        "first_name": "Ana",
        "last_name": "Lopez",
        "birth_date": date(1990, 2, 28),
        "email": "Ana.Lopez@Example.com",
        "nationality": "ES",
        "id_number": "X1234567",
        "mobile_phone": "+34 600 000 000",
        "country": "FR",
        "language": "es",
        "allow_promo_email": True,
        "allow_third_party_email": False,
    }


def test_empty_profile_maps_every_field_to_none() -> None:
    assert contact_fields_from_profile({}) == ALL_NONE


def test_minimal_profile_leaves_the_rest_none() -> None:
    fields = contact_fields_from_profile({"email": "a@b.c", "firstName": "A", "lastName": "B"})
    assert fields == {**ALL_NONE, "email": "a@b.c", "first_name": "A", "last_name": "B"}


def test_texts_are_trimmed_and_blank_means_unknown() -> None:
    fields = contact_fields_from_profile(
        {"firstName": "  Ana ", "lastName": "", "title": "   ", "dateOfBirth": " ", "email": " a@b.c "}
    )
    assert (fields["first_name"], fields["last_name"], fields["title"]) == ("Ana", None, None)
    assert fields["birth_date"] is None and fields["email"] == "a@b.c"


@pytest.mark.parametrize("dropped", ["\x00", "\x1b", "\n", "\u202e", "\u2066", "\u200f", "\x7f", "\u0085"])
def test_control_and_bidi_characters_are_dropped_never_stored(dropped: str) -> None:
    """C3 (issue 12, low): a wallet profile's control or bidi characters never reach a contact."""
    fields = contact_fields_from_profile({
        "firstName": f"A{dropped}na", "lastName": f"{dropped}Lima", "title": dropped, "idCardNumber": f"X1{dropped}",
        "phoneNumber": f"+33 1{dropped}2", "email": "a@b.c", "language": "pt",
    })
    assert (fields["first_name"], fields["last_name"], fields["title"]) == ("Ana", "Lima", None)
    assert (fields["id_number"], fields["mobile_phone"]) == ("X1", "+33 12")


def test_other_unicode_text_is_kept_as_written() -> None:
    fields = contact_fields_from_profile({"firstName": "Zoë\u200dÅsa", "lastName": "عمر", "email": "a@b.c"})
    assert (fields["first_name"], fields["last_name"]) == ("Zoë\u200dÅsa", "عمر")


def test_explicit_nulls_are_unknown() -> None:
    profile = {key: None for key in FULL_PROFILE}
    assert contact_fields_from_profile(profile) == ALL_NONE


def test_partial_preferences() -> None:
    fields = contact_fields_from_profile({"organizerSpectatorPreference": {"allowThirdPartyEmail": True}})
    assert (fields["allow_promo_email"], fields["allow_third_party_email"]) == (None, True)


def test_unknown_profile_keys_are_ignored() -> None:
    assert contact_fields_from_profile({"favouriteTeam": "x", "emailAddress": "y"}) == ALL_NONE


def test_birth_date_already_a_date_is_kept() -> None:
    assert contact_fields_from_profile({"dateOfBirth": date(2000, 1, 2)})["birth_date"] == date(2000, 1, 2)


@pytest.mark.parametrize(
    "raw",
    ["2020-13-01", "2021-02-29", "01/02/2000", "20000102", "2000-W01-1", "2000-1-2", "2000-01-02T00:00", "x"],
)
def test_invalid_birth_date_is_refused_naming_the_field_not_the_value(raw: str) -> None:
    """The message reaches execution logs and parked records: it names the field, never the birth date."""
    with pytest.raises(ValueError) as caught:
        contact_fields_from_profile({"dateOfBirth": raw})
    assert str(caught.value) == "profile field dateOfBirth must be a date YYYY-MM-DD"


PREFERENCE = "organizerSpectatorPreference"


@pytest.mark.parametrize(
    ("profile", "field"),
    [
        ({"dateOfBirth": 20000102}, "dateOfBirth"),
        ({"dateOfBirth": datetime(2000, 1, 2)}, "dateOfBirth"),
        ({"phoneNumber": 33600000000}, "phoneNumber"),
        ({"firstName": ["Ana"]}, "firstName"),
        ({"organizerSpectatorPreference": "yes"}, "organizerSpectatorPreference"),
        ({PREFERENCE: {"allowPromoEmail": "true"}}, f"{PREFERENCE}.allowPromoEmail"),
        ({PREFERENCE: {"allowThirdPartyEmail": 1}}, f"{PREFERENCE}.allowThirdPartyEmail"),
    ],
)
def test_values_of_the_wrong_type_are_refused_naming_the_field(profile: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError, match=f"profile field {field} must be"):
        contact_fields_from_profile(profile)


@pytest.mark.parametrize(
    ("profile", "complete"),
    [
        ({"firstName": "Ana", "lastName": "Lopez", "email": "a@b.c"}, True),
        (FULL_PROFILE, True),
        ({"firstName": "Ana", "lastName": "Lopez"}, False),
        ({"firstName": "Ana", "email": "a@b.c"}, False),
        ({"lastName": "Lopez", "email": "a@b.c"}, False),
        ({"firstName": "  ", "lastName": "Lopez", "email": "a@b.c"}, False),
        ({"firstName": "Ana", "lastName": "Lopez", "email": ""}, False),
        ({"firstName": None, "lastName": "Lopez", "email": "a@b.c"}, False),
        ({"firstName": 1, "lastName": "Lopez", "email": "a@b.c"}, False),
        ({}, False),
        (None, False),
    ],
)
def test_is_complete_profile(profile: dict[str, Any] | None, complete: bool) -> None:
    assert is_complete_profile(profile) is complete
