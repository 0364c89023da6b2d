"""The search keys (domain/search.py): one folding of names, spaces out of numbers, prefix bounds."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tixtrace.backoffice.domain.search import MAX_KEY, compact_number, fold_name, name_keys, prefix_bound


def test_names_lose_case_accents_and_extra_spaces() -> None:
    assert fold_name("CHLOÉ  Lima") == fold_name("chloe lima") == "chloe lima"
    assert fold_name(" Ærø Łukasz Straße ") == "aero lukasz strasse"
    assert fold_name("Ｊｏｓé") == "jose"  # fullwidth letters (NFKD)
    assert fold_name(None) == fold_name("") == ""


def test_both_orders_are_kept() -> None:
    assert name_keys("Chloé", "Lima") == {"search_name": "chloe lima", "search_name_reversed": "lima chloe"}
    assert name_keys(None, "Acme SA") == {"search_name": "acme sa", "search_name_reversed": "acme sa"}


def test_keys_fit_their_column_even_when_folding_lengthens_a_name() -> None:
    keys = name_keys("ß" * 100, "Æ" * 100)
    assert len(keys["search_name"]) == len(keys["search_name_reversed"]) == MAX_KEY
    assert keys["search_name"].startswith("ss" * 50)


def test_numbers_read_in_groups_are_one_prefix() -> None:
    assert compact_number(" 3470 4980\t00 ") == "3470498000"


@given(st.text())
def test_folding_is_idempotent(text: str) -> None:
    assert fold_name(fold_name(text)) == fold_name(text)


@given(st.text(min_size=1), st.text())
def test_the_bound_holds_exactly_the_strings_with_the_prefix(prefix: str, rest: str) -> None:
    bound = prefix_bound(prefix)
    assert prefix <= prefix + rest < bound
    assert all(0xD800 > ord(c) or ord(c) > 0xDFFF for c in bound[-1:]), "a bound SQLite can store"
