"""C1's e-mail rule, the one both services use (wallet accounts and back-office contacts must agree)."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tixtrace.backoffice.domain import contacts as backoffice_contacts
from tixtrace.backoffice.services.validation import Checker
from tixtrace.kernel.emails import email_defect, normalize_email
from tixtrace.wallet.domain import tickets as wallet_tickets
from tixtrace.wallet.services.organizers import check_email

SAME = [("straße@example.com", "STRAẞE@EXAMPLE.COM"), ("\uff41lice@example.com", "Alice@example.com"),
        (" bob@x.org\n", "BOB@X.ORG"), ("ﬁ@example.com", "fi@example.com")]
DIFFERENT = [("straße@example.com", "strasse@example.com"), ("ı@example.com", "i@example.com")]
INVALID = ["alice\u200b@example.com", "alice\ufeff@example.com", "al\u202eice@example.com", "alice\u2066@x.org",
           "al\x00ice@x.org", "al\tice@x.org", "al\u2028ice@x.org", "al\ue000ice@x.org"]


@pytest.mark.parametrize(("one", "other"), SAME)
def test_one_person(one: str, other: str) -> None:
    assert normalize_email(one) == normalize_email(other)


@pytest.mark.parametrize(("one", "other"), DIFFERENT)
def test_two_people(one: str, other: str) -> None:
    assert normalize_email(one) != normalize_email(other)


@pytest.mark.parametrize("bad", INVALID)
def test_invisible_characters_are_a_defect_named_without_the_address(bad: str) -> None:
    defect = email_defect(bad)
    assert defect is not None and "alice" not in defect and "U+" in defect


def test_surrounding_white_space_is_trimmed_not_a_defect() -> None:
    assert email_defect("  alice@example.com\r\n") is None


def test_both_services_use_this_one_rule() -> None:
    assert wallet_tickets.normalize_email is normalize_email
    assert backoffice_contacts.normalize_email is normalize_email


@pytest.mark.parametrize("bad", INVALID)
def test_both_services_refuse_the_same_addresses(bad: str) -> None:
    with pytest.raises(Exception, match="not an e-mail address"):
        check_email(bad)
    checker = Checker()
    assert checker.email("email", bad) is None and checker.problems


@given(st.text(max_size=40))
def test_normalize_is_idempotent_and_keeps_a_clean_address_clean(value: str) -> None:
    once = normalize_email(value)
    if email_defect(value) is None:
        assert email_defect(once) is None
        assert normalize_email(once) == once


@given(st.text(max_size=40) | st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=40))
def test_the_printable_ascii_shortcut_agrees_with_the_full_scan(value: str) -> None:
    """email_defect skips its scan for printable ASCII (issue 15: it ran for every profile of the feed
    and every injected ticket); the scan itself must find nothing there either."""
    scanned = next((char for char in unicodedata.normalize("NFKC", value).strip()
                    if unicodedata.category(char) in {"Cc", "Cf", "Zl", "Zp", "Co", "Cs", "Cn"}), None)
    assert (email_defect(value) is None) == (scanned is None)
