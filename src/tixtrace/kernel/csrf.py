"""CSRF tokens of the screens' forms: an HMAC only the holder of the session (or sign-in) cookie can compute.

A token is tied to an *anchor*: the session cookie's value, or, for a sign-in form posted before any
session exists, a random nonce kept in a cookie when the form is shown (`new_nonce`), so even the
sign-in cannot be forged by another site. The anchor lives in an HttpOnly cookie, so another site can
neither read it nor compute the token.

The MAC is keyed with `key` when the service has a signing secret (the back office's), otherwise with
the anchor itself (the wallet page: its session token is a server-side secret, and no server secret is
needed, so tokens stay valid across restarts and workers).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

_LABEL = b"tixtrace csrf v1|"


def _bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def csrf_token(anchor: str, key: bytes | None = None) -> str:
    """The token of `anchor` (a session cookie value or a sign-in nonce)."""
    digest = hmac.digest(key if key is not None else _bytes(anchor), _LABEL + _bytes(anchor), hashlib.sha256)
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def csrf_ok(anchor: str | None, submitted: str | None, key: bytes | None = None) -> bool:
    """Whether `submitted` is the token of `anchor`; never when either is missing or empty."""
    if not anchor or not submitted:
        return False
    return hmac.compare_digest(csrf_token(anchor, key).encode(), _bytes(submitted))


def new_nonce() -> str:
    """A random anchor for a sign-in form (kept in a cookie while the form is shown)."""
    return secrets.token_urlsafe(24)
