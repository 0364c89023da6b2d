"""Server-side sessions of the screens (DESIGN 10): a session exists exactly while its row does.

The cookie holds a random 256-bit token; the ``sessions`` row holds only its SHA-256 digest (a leaked
database opens no session; a plain digest is enough for a random token). A session ends:
- at sign-out (`end_session`), when its user is disabled or given a new password
  (`end_user_sessions`): the row is deleted, so the old cookie is refused at once;
- after `IDLE_SECONDS` without a request, or `LIFETIME_SECONDS` after sign-in, whichever comes first.
``last_seen_at`` is written at most once a `TOUCH_SECONDS` so a page of requests is not a page of writes.
Expired rows are deleted lazily when a user signs in.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, insert, select, update

from tixtrace.backoffice.db.tables import sessions, users
from tixtrace.kernel.clock import as_utc
from tixtrace.kernel.errors import KernelCode, Unauthorized

IDLE_SECONDS = 3600
LIFETIME_SECONDS = 12 * 3600
TOUCH_SECONDS = 60
MAX_TOKEN_LENGTH = 100


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(conn: Connection, user_name: str, now: datetime) -> str:
    """A new session of an enabled user; returns the cookie's token (shown this once). Unauthorized
    when the user is unknown or disabled."""
    now = as_utc(now)
    user_id = conn.execute(select(users.c.id).where(users.c.name == user_name,
                                                    users.c.disabled_at.is_(None))).scalar()
    if user_id is None:  # disabled between the password check and now
        raise Unauthorized("this user cannot sign in", code=KernelCode.UNAUTHORIZED)
    conn.execute(delete(sessions).where(
        (sessions.c.expires_at <= now) | (sessions.c.last_seen_at <= now - timedelta(seconds=IDLE_SECONDS))))
    token = secrets.token_urlsafe(32)
    conn.execute(insert(sessions).values(token_hash=_digest(token), user_id=user_id, created_at=now,
                                         last_seen_at=now, expires_at=now + timedelta(seconds=LIFETIME_SECONDS)))
    return token


@dataclass(frozen=True)
class LiveSession:
    id: int
    user: str
    stale: bool  # last seen TOUCH_SECONDS ago or more: `touch_session` it


def find_session(conn: Connection, token: str | None, now: datetime) -> LiveSession | None:
    """The live session of a cookie's token, or None (no such row, expired, idle too long, user
    disabled). Reads only; `touch_session` records the visit when the session is `stale`."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    now = as_utc(now)
    row = conn.execute(
        select(sessions.c.id, sessions.c.last_seen_at, sessions.c.expires_at, users.c.name)
        .join(users, users.c.id == sessions.c.user_id)
        .where(sessions.c.token_hash == _digest(token), users.c.disabled_at.is_(None))).first()
    if row is None:
        return None
    last_seen = as_utc(row.last_seen_at)
    if as_utc(row.expires_at) <= now or last_seen + timedelta(seconds=IDLE_SECONDS) <= now:
        return None
    return LiveSession(row.id, row.name, now - last_seen >= timedelta(seconds=TOUCH_SECONDS))


def touch_session(conn: Connection, session_id: int, now: datetime) -> None:
    conn.execute(update(sessions).where(sessions.c.id == session_id).values(last_seen_at=as_utc(now)))


def end_session(conn: Connection, token: str | None) -> None:
    if token and len(token) <= MAX_TOKEN_LENGTH:
        conn.execute(delete(sessions).where(sessions.c.token_hash == _digest(token)))


def end_user_sessions(conn: Connection, user_id: int) -> int:
    """Delete every session of the user; returns how many there were."""
    return conn.execute(delete(sessions).where(sessions.c.user_id == user_id)).rowcount or 0
