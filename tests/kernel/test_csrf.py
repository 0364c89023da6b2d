"""kernel/csrf.py: a token matches only its anchor (and key), and nothing matches a missing anchor or token."""

from __future__ import annotations

from tixtrace.kernel.csrf import csrf_ok, csrf_token, new_nonce


def test_a_token_matches_its_anchor_only() -> None:
    anchor, other = new_nonce(), new_nonce()
    assert anchor != other
    assert csrf_ok(anchor, csrf_token(anchor))
    assert not csrf_ok(other, csrf_token(anchor))
    assert not csrf_ok(anchor, csrf_token(anchor) + "x")


def test_a_key_changes_the_token_and_is_needed_to_check_it() -> None:
    anchor = new_nonce()
    keyed = csrf_token(anchor, b"secret")
    assert keyed != csrf_token(anchor) and keyed != csrf_token(anchor, b"other")
    assert csrf_ok(anchor, keyed, b"secret")
    assert not csrf_ok(anchor, keyed) and not csrf_ok(anchor, keyed, b"other")


def test_missing_or_empty_anchor_or_token_never_matches() -> None:
    assert not csrf_ok(None, csrf_token(""))
    assert not csrf_ok("", csrf_token(""))
    assert not csrf_ok("anchor", None)
    assert not csrf_ok("anchor", "")
    assert not csrf_ok("anchor", "\udcff")  # text no browser sends is refused, not an error
