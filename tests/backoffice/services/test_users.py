"""Password hashing of back-office users."""

from __future__ import annotations

from tixtrace.backoffice.services.users import hash_password, verify_password


def test_hashes_are_salted_and_verify_only_the_right_password() -> None:
    first, second = hash_password("a long password"), hash_password("a long password")
    assert first != second and first.startswith("scrypt$") and "a long password" not in first
    assert verify_password("a long password", first) and verify_password("a long password", second)
    assert not verify_password("a long passworD", first)
    for broken in ("", "scrypt$1$2", "md5$x$y$z$a$b", "scrypt$16384$8$1$!!$!!"):
        assert not verify_password("a long password", broken)
