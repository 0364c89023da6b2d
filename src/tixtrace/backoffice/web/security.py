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

Sign-in attempts (the login form and the API's HTTP Basic) are throttled per user name by
`LoginThrottle`: in memory, per process.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
import os
import secrets
import threading
import time
from collections import OrderedDict, deque
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


# --- login throttling ----------------------------------------------------------------------------

THROTTLE_FAILURES = 10
THROTTLE_WINDOW_SECONDS = 300
THROTTLE_MAX_NAMES = 10_000


class LoginThrottle:
    """Refuses a user name for a while after too many failed sign-ins (the login form and HTTP Basic).

    After `limit` failures for one name within `window` seconds, that name is refused (429 with
    Retry-After) until the oldest of those failures is `window` seconds old, without checking the
    password, even a right one (otherwise the throttle would only slow down guessing). A success clears
    the name's failures. Unknown names count like known ones, so the answer says nothing about which
    names exist.

    Bounded: at most `max_names` names are tracked (the least recently failed are forgotten first) and at
    most `limit` failure times per name. In memory, per process (per app): several processes behind one
    address each allow `limit` failures, and a restart forgets everything. `now` gives Unix seconds
    (from the app's clock, so tests move time without sleeping). Thread-safe.
    """

    def __init__(self, now: Callable[[], float] = time.time, *, limit: int = THROTTLE_FAILURES,
                 window: float = THROTTLE_WINDOW_SECONDS, max_names: int = THROTTLE_MAX_NAMES) -> None:
        self._now = now
        self.limit = limit
        self.window = window
        self.max_names = max_names
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def _key(name: str) -> str:
        return name[:200]

    def _recent(self, key: str, now: float) -> deque[float] | None:
        times = self._failures.get(key)
        if times is None:
            return None
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[key]
            return None
        return times

    def retry_after(self, name: str) -> int | None:
        """Seconds until `name` may try again (at least 1), or None when it may try now."""
        now = self._now()
        with self._lock:
            times = self._recent(self._key(name), now)
            if times is None or len(times) < self.limit:
                return None
            return max(1, math.ceil(times[0] + self.window - now))

    def failed(self, name: str) -> None:
        now = self._now()
        key = self._key(name)
        with self._lock:
            times = self._recent(key, now)
            if times is None:
                times = self._failures[key] = deque(maxlen=self.limit)
            times.append(now)
            self._failures.move_to_end(key)
            while len(self._failures) > self.max_names:
                self._failures.popitem(last=False)

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._failures.pop(self._key(name), None)


_THROTTLE_LOCK = threading.Lock()


def login_throttle(app: Any) -> LoginThrottle:
    """The app's throttle (``app.state.login_throttle``), made on first use with the app's clock.

    Shared by the login form and the API's HTTP Basic: failures on either count for both."""
    throttle = getattr(app.state, "login_throttle", None)
    if throttle is None:
        with _THROTTLE_LOCK:
            throttle = getattr(app.state, "login_throttle", None)
            if throttle is None:
                context = getattr(app.state, "context", None)
                clock = getattr(context, "clock", None)
                now = (lambda: clock.now().timestamp()) if clock is not None else time.time
                throttle = app.state.login_throttle = LoginThrottle(now)
    assert isinstance(throttle, LoginThrottle)
    return throttle
