"""The screens' session and CSRF tokens: stdlib HMAC under a per-app secret, no server-side state.

- Session cookie ``tixtrace_session`` = ``b64url(user)|expiry|signature``: the user name (base64url so
  any name is a legal cookie value), the expiry in Unix seconds, and HMAC-SHA256 of both under the
  app's secret. It is HttpOnly, SameSite=Lax, Path=/ (and Secure when served over https). A cookie
  whose signature does not verify, or whose expiry has passed, is no session.
- CSRF token of a session = HMAC of ``"csrf|" + the session cookie``: every POST form carries it in a
  hidden ``csrf_token`` field (htmx requests in the ``X-CSRF-Token`` header); a POST without the right
  one is refused with a 403 page. The login form, posted before any session exists, is tied the same
  way to a random ``tixtrace_login`` cookie set when the form is shown.
- The secret is ``TIXTRACE_SECRET_KEY`` when set (so sessions survive restarts and are shared by the
  processes behind one address), otherwise random per process (everyone signs in again after a restart).

Logging out deletes the cookie; a copied cookie stays valid until it expires (stateless sessions), so
sessions are short (`SESSION_SECONDS`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

SESSION_COOKIE = "tixtrace_session"
LOGIN_COOKIE = "tixtrace_login"
FLASH_COOKIE = "tixtrace_flash"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SESSION_SECONDS = 8 * 3600
SECRET_ENV = "TIXTRACE_SECRET_KEY"


def app_secret() -> bytes:
    """The signing secret: ``TIXTRACE_SECRET_KEY`` (UTF-8) when set and not blank, else 32 random bytes."""
    configured = os.environ.get(SECRET_ENV, "").strip()
    return configured.encode() if configured else secrets.token_bytes(32)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class Signer:
    """Signs and checks the screens' cookies and tokens with one secret. `now` gives Unix seconds."""

    secret: bytes
    now: Callable[[], float] = time.time

    def _mac(self, purpose: str, value: str) -> str:
        return _b64(hmac.digest(self.secret, f"{purpose}|{value}".encode(), hashlib.sha256))

    # --- session ---------------------------------------------------------------------------------

    def session_cookie(self, user: str, seconds: int = SESSION_SECONDS) -> str:
        body = f"{_b64(user.encode())}|{int(self.now()) + seconds}"
        return f"{body}|{self._mac('session', body)}"

    def session_user(self, cookie: str | None) -> str | None:
        """The user a session cookie names, or None when absent, forged, malformed or expired."""
        if not cookie or len(cookie) > 1000:
            return None
        body, _, signature = cookie.rpartition("|")
        if not hmac.compare_digest(signature.encode(), self._mac("session", body).encode()):
            return None
        encoded, _, expiry = body.partition("|")
        try:
            if int(expiry) <= self.now():
                return None
            return _unb64(encoded).decode()
        except (ValueError, binascii.Error, UnicodeDecodeError):
            return None

    # --- CSRF ------------------------------------------------------------------------------------

    def csrf_token(self, anchor: str) -> str:
        """The token of a session (or login) cookie value."""
        return self._mac("csrf", anchor)

    def csrf_ok(self, anchor: str | None, token: str | None) -> bool:
        if not anchor or not token:
            return False
        return hmac.compare_digest(token.encode(), self.csrf_token(anchor).encode())

    # --- flash -----------------------------------------------------------------------------------

    def flash_cookie(self, kind: str, message: str) -> str:
        body = f"{kind}|{_b64(message.encode())}"
        return f"{body}|{self._mac('flash', body)}"

    def flash(self, cookie: str | None) -> tuple[str, str] | None:
        if not cookie or len(cookie) > 4000:
            return None
        body, _, signature = cookie.rpartition("|")
        if not hmac.compare_digest(signature.encode(), self._mac("flash", body).encode()):
            return None
        kind, _, encoded = body.partition("|")
        try:
            return kind, _unb64(encoded).decode()
        except (ValueError, binascii.Error, UnicodeDecodeError):
            return None


def new_login_nonce() -> str:
    return secrets.token_urlsafe(24)


def safe_next(target: str | None, default: str = "/tickets") -> str:
    """`target` if it is a path on this site (``/...``) other than the login itself, else `default`: never
    another host or scheme, so the login cannot be used to send someone elsewhere (open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    if any(ord(c) < 0x20 or c == "\x7f" for c in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or parts.path in ("/login", "/logout"):  # no loop through the login
        return default
    return target


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def api_session_user(request: Any) -> str | None:
    """The user of a screens' session calling the JSON API (DESIGN 7: "or the web session").

    A change (POST, PUT ...) also needs the session's CSRF token in the X-CSRF-Token header, so another
    site cannot make a logged-in browser call the API."""
    secret = getattr(request.app.state, "secret", None)
    cookie = request.cookies.get(SESSION_COOKIE)
    if secret is None or cookie is None:
        return None
    signer = Signer(secret)
    user = signer.session_user(cookie)
    if user is None:
        return None
    if request.method not in SAFE_METHODS and not signer.csrf_ok(cookie, request.headers.get(CSRF_HEADER)):
        return None
    return user
