"""Who is calling the back office: users, their sessions, and the throttle on sign-ins.

Both the JSON API (HTTP Basic, or the screens' session) and the screens (the login form) authenticate
here, so this module sits below ``api/`` and ``web/`` and imports neither.

- Session cookie ``tixtrace_session`` = a random token naming a row of ``sessions``
  (`tixtrace.backoffice.services.sessions`): the session exists exactly while the row does, so
  sign-out, disabling the user and a new password end it at once, whatever copy of the cookie
  exists. It is HttpOnly, SameSite=Lax, Path=/ (and Secure over https: `kernel.cookies`).
- CSRF token of a session = `kernel.csrf` token of the session cookie under the app's secret: every POST
  form carries it in a hidden ``csrf_token`` field (htmx requests and API calls in the ``X-CSRF-Token``
  header). The login form, posted before any session exists, is tied the same way to a random
  ``tixtrace_login`` cookie set when the form is shown.
- The secret is the service's secret key (`tixtrace.backoffice.secret_key`: ``TIXTRACE_SECRET_KEY``,
  at least 32 bytes, or a key file); it also signs the screens' flash messages (``tixtrace_flash``).

Sign-in attempts (the login form and the API's HTTP Basic) go through `sign_in`, throttled per
normalized user name by `LoginThrottle`, whose counter is in the database
(`tixtrace.backoffice.services.login_attempts`): shared by every process on the database, counted
before the password is checked, bounded in time; failures on either way in count for both.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from fastapi import FastAPI
from sqlalchemy import Engine
from starlette.requests import HTTPConnection, Request

from tixtrace.backoffice.secret_key import service_secret
from tixtrace.backoffice.services import sessions
from tixtrace.backoffice.services.login_attempts import Attempt, count_attempt, give_back
from tixtrace.backoffice.services.users import Authenticator
from tixtrace.kernel.clock import Clock
from tixtrace.kernel.csrf import csrf_ok, csrf_token
from tixtrace.kernel.db import unit_of_work

SESSION_COOKIE = "tixtrace_session"
LOGIN_COOKIE = "tixtrace_login"
FLASH_COOKIE = "tixtrace_flash"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SESSION_SECONDS = sessions.LIFETIME_SECONDS
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Signer:
    """Signs and checks the CSRF tokens of sessions and of the login form with one secret."""

    secret: bytes

    def csrf_token(self, anchor: str) -> str:
        """The token of a session (or login) cookie value."""
        return csrf_token(anchor, self.secret)

    def csrf_ok(self, anchor: str | None, token: str | None) -> bool:
        return csrf_ok(anchor, token, self.secret)


def signer(request: HTTPConnection) -> Signer:
    """The signer of the app's secret (``app.state.secret``, set by `install_security`)."""
    secret: bytes = request.app.state.secret
    return Signer(secret)


def _engine(request: HTTPConnection) -> Engine:
    engine: Engine = request.app.state.security_engine
    return engine


def _now(request: HTTPConnection) -> datetime:
    clock: Clock = request.app.state.security_clock
    return clock.now()


def session_user(request: HTTPConnection) -> str | None:
    """The user of the request's session cookie, or None (looked up once per request)."""
    if hasattr(request.state, "session_user"):
        known: str | None = request.state.session_user
        return known
    token, now = request.cookies.get(SESSION_COOKIE), _now(request)
    user = None
    if token:
        with unit_of_work(_engine(request), write=False) as conn:
            live = sessions.find_session(conn, token, now)
        if live is not None:
            user = live.user
            if live.stale:
                with unit_of_work(_engine(request)) as conn:
                    sessions.touch_session(conn, live.id, now)
    request.state.session_user = user
    return user


def start_session(request: HTTPConnection, user: str) -> str:
    """A new session of `user` (just signed in); returns the cookie's value."""
    with unit_of_work(_engine(request)) as conn:
        return sessions.start_session(conn, user, _now(request))


def end_session(request: HTTPConnection) -> None:
    """Sign-out: the session's row is deleted, so every copy of its cookie is refused from now on."""
    with unit_of_work(_engine(request)) as conn:
        sessions.end_session(conn, request.cookies.get(SESSION_COOKIE))
    request.state.session_user = None


def api_session_user(request: Request) -> str | None:
    """The user of a screens' session calling the JSON API (DESIGN 7: "or the web session").

    A change (POST, PUT ...) also needs the session's CSRF token in the X-CSRF-Token header, so another
    site cannot make a logged-in browser call the API."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie is None:
        return None
    user = session_user(request)
    if user is None:
        return None
    if request.method not in SAFE_METHODS and not signer(request).csrf_ok(cookie, request.headers.get(CSRF_HEADER)):
        return None
    return user


# --- sign-in and its throttle ----------------------------------------------------------------------

THROTTLE_FAILURES = 10
THROTTLE_WINDOW_SECONDS = 300


class LoginThrottle:
    """Refuses a user name for the rest of a window once `limit` attempts were counted in it.

    Every sign-in attempt (the login form and HTTP Basic) is counted in the database before its password
    is checked (`count_attempt`: one atomic statement, so parallel attempts get distinct counts); the
    attempts past `limit` in a window of `window` seconds are refused (429 with Retry-After until the
    window ends) without checking the password, even a right one. A success gives its attempt back, so a
    user's own sign-ins never lock them out, while failures stay counted until the window ends. Unknown
    names count like known ones, so the answer says nothing about which names exist. Shared by every
    process on the database; `now` gives Unix seconds (from the app's clock, so tests move time without
    sleeping).
    """

    def __init__(self, engine: Engine, now: Callable[[], float], *, limit: int = THROTTLE_FAILURES,
                 window: int = THROTTLE_WINDOW_SECONDS) -> None:
        self._engine = engine
        self._now = now
        self.limit = limit
        self.window = window

    def attempt(self, name: str) -> Attempt:
        """Count an attempt for `name`; raises `Throttled` when it is past the limit of its window."""
        now = int(self._now())
        with unit_of_work(self._engine) as conn:
            attempt = count_attempt(conn, name, now, self.window)
        if attempt.count > self.limit:
            raise Throttled(max(1, attempt.window_start + self.window - now))
        return attempt

    def succeeded(self, attempt: Attempt) -> None:
        with unit_of_work(self._engine) as conn:
            give_back(conn, attempt)


class Throttled(Exception):
    """Too many failed sign-ins for this user name: try again in `seconds` (at least 1)."""

    def __init__(self, seconds: int) -> None:
        super().__init__(f"too many failed sign-ins; try again in {seconds} s")
        self.seconds = seconds


def sign_in(request: HTTPConnection, name: str, password: str) -> str:
    """The user `name` once its password is checked; the one way the API and the login form sign in.

    The attempt is counted first; raises `Throttled` past the limit (without checking the password) and
    `Unauthorized` for a wrong name or password (the same for both; the attempt stays counted)."""
    throttle: LoginThrottle = request.app.state.login_throttle
    attempt = throttle.attempt(name)
    authenticator: Authenticator = request.app.state.authenticator
    user = authenticator.authenticate(name, password)
    throttle.succeeded(attempt)
    return user


def install_security(app: FastAPI, authenticator: Authenticator, engine: Engine, clock: Clock, *,
                     secret: bytes | None = None) -> None:
    """Give `app` what sign-ins and sessions need: the authenticator, the sessions' database and clock,
    the login throttle on them and the signing secret (by default the service's secret key, which
    raises `SecretKeyTooShort` for a configured key under 32 bytes: the app does not start)."""
    app.state.authenticator = authenticator
    app.state.security_engine = engine
    app.state.security_clock = clock
    app.state.login_throttle = LoginThrottle(engine, lambda: clock.now().timestamp())
    app.state.secret = secret or service_secret()
