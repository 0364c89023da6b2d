"""Who is calling the back office: users, their sessions, and the throttle on sign-ins.

Both the JSON API (HTTP Basic, or the screens' session) and the screens (the login form) authenticate
here, so this module sits below ``api/`` and ``web/`` and imports neither.

- Session cookie ``tixtrace_session`` = ``b64url(user)|expiry|signature``: the user name (base64url so
  any name is a legal cookie value), the expiry in Unix seconds, and HMAC-SHA256 of both under the
  app's secret. It is HttpOnly, SameSite=Lax, Path=/ (and Secure over https: `kernel.cookies`). A
  cookie whose signature does not verify, or whose expiry has passed, is no session.
- CSRF token of a session = `kernel.csrf` token of the session cookie under the app's secret: every POST
  form carries it in a hidden ``csrf_token`` field (htmx requests and API calls in the ``X-CSRF-Token``
  header). The login form, posted before any session exists, is tied the same way to a random
  ``tixtrace_login`` cookie set when the form is shown.
- The secret is ``TIXTRACE_SECRET_KEY`` when set (so sessions survive restarts and are shared by the
  processes behind one address), otherwise random per process (everyone signs in again after a restart).
  It also signs the screens' flash messages (``tixtrace_flash``).

Logging out deletes the cookie; a copied cookie stays valid until it expires (stateless sessions), so
sessions are short (`SESSION_SECONDS`).

Sign-in attempts (the login form and the API's HTTP Basic) go through `sign_in`, throttled per user name
by `LoginThrottle`: in memory, per process; failures on either count for both.
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

from fastapi import FastAPI
from starlette.requests import HTTPConnection, Request

from tixtrace.backoffice.services.users import Authenticator
from tixtrace.kernel.clock import Clock
from tixtrace.kernel.csrf import csrf_ok, csrf_token
from tixtrace.kernel.errors import Unauthorized

SESSION_COOKIE = "tixtrace_session"
LOGIN_COOKIE = "tixtrace_login"
FLASH_COOKIE = "tixtrace_flash"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SESSION_SECONDS = 8 * 3600
SECRET_ENV = "TIXTRACE_SECRET_KEY"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


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
    """Signs and checks sessions and their CSRF tokens with one secret. `now` gives Unix seconds."""

    secret: bytes
    now: Callable[[], float] = time.time

    def _mac(self, value: str) -> str:
        return _b64(hmac.digest(self.secret, f"session|{value}".encode(), hashlib.sha256))

    def session_cookie(self, user: str, seconds: int = SESSION_SECONDS) -> str:
        body = f"{_b64(user.encode())}|{int(self.now()) + seconds}"
        return f"{body}|{self._mac(body)}"

    def session_user(self, cookie: str | None) -> str | None:
        """The user a session cookie names, or None when absent, forged, malformed or expired."""
        if not cookie or len(cookie) > 1000:
            return None
        body, _, signature = cookie.rpartition("|")
        if not hmac.compare_digest(signature.encode(), self._mac(body).encode()):
            return None
        encoded, _, expiry = body.partition("|")
        try:
            if int(expiry) <= self.now():
                return None
            return _unb64(encoded).decode()
        except (ValueError, binascii.Error, UnicodeDecodeError):
            return None

    def csrf_token(self, anchor: str) -> str:
        """The token of a session (or login) cookie value."""
        return csrf_token(anchor, self.secret)

    def csrf_ok(self, anchor: str | None, token: str | None) -> bool:
        return csrf_ok(anchor, token, self.secret)


def signer(request: HTTPConnection) -> Signer:
    """The signer of the app's secret (``app.state.secret``, set by `install_security`)."""
    secret: bytes = request.app.state.secret
    return Signer(secret)


def session_user(request: HTTPConnection) -> str | None:
    """The user of the request's session cookie, or None."""
    return signer(request).session_user(request.cookies.get(SESSION_COOKIE))


def api_session_user(request: Request) -> str | None:
    """The user of a screens' session calling the JSON API (DESIGN 7: "or the web session").

    A change (POST, PUT ...) also needs the session's CSRF token in the X-CSRF-Token header, so another
    site cannot make a logged-in browser call the API."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie is None:
        return None
    user = signer(request).session_user(cookie)
    if user is None:
        return None
    if request.method not in SAFE_METHODS and not signer(request).csrf_ok(cookie, request.headers.get(CSRF_HEADER)):
        return None
    return user


# --- sign-in and its throttle ----------------------------------------------------------------------

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


class Throttled(Exception):
    """Too many failed sign-ins for this user name: try again in `seconds` (at least 1)."""

    def __init__(self, seconds: int) -> None:
        super().__init__(f"too many failed sign-ins; try again in {seconds} s")
        self.seconds = seconds


def sign_in(request: HTTPConnection, name: str, password: str) -> str:
    """The user `name` once its password is checked; the one way the API and the login form sign in.

    Raises `Throttled` while the name is throttled (without checking the password) and `Unauthorized`
    for a wrong name or password (the same for both, counted as a failure)."""
    throttle: LoginThrottle = request.app.state.login_throttle
    wait = throttle.retry_after(name)
    if wait is not None:
        raise Throttled(wait)
    authenticator: Authenticator = request.app.state.authenticator
    try:
        user = authenticator.authenticate(name, password)
    except Unauthorized:
        throttle.failed(name)
        raise
    throttle.succeeded(name)
    return user


def install_security(app: FastAPI, authenticator: Authenticator, clock: Clock, *,
                     secret: bytes | None = None) -> None:
    """Give `app` what sign-ins and sessions need: the authenticator, the login throttle on the app's
    clock and the signing secret (by default `app_secret`)."""
    app.state.authenticator = authenticator
    app.state.login_throttle = LoginThrottle(lambda: clock.now().timestamp())
    app.state.secret = secret or app_secret()
