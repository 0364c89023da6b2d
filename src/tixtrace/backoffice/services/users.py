"""Back-office users: the people who call the API (HTTP Basic) and use the screens.

Passwords are stored as salted scrypt hashes (stdlib ``hashlib.scrypt``, N=2^14, r=8, p=1), in the
self-describing form ``scrypt$N$r$p$salt$hash`` so the cost can be raised later without a migration.
A hash costs tens of milliseconds on purpose; `Authenticator` remembers, per process, the credentials
it has already verified (keyed by an HMAC of the password under a random per-process key, and by the
stored hash, so a password change invalidates it), so each API call does not pay that cost again.

A disabled user (`disable_user`) is refused like an unknown one, by HTTP Basic and by the login form,
and its sessions are deleted in the same transaction; `set_password` also ends every session of the
user (a new password is often a response to a leaked one). Neither re-enables a disabled user.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from tixtrace.backoffice.db.tables import users
from tixtrace.backoffice.domain.errors import BackofficeCode
from tixtrace.backoffice.services import audit
from tixtrace.backoffice.services.sessions import end_user_sessions
from tixtrace.backoffice.services.validation import Checker, unstorable
from tixtrace.kernel.clock import as_utc
from tixtrace.kernel.db import unit_of_work
from tixtrace.kernel.errors import BadInput, Conflict, KernelCode, NotFound, Unauthorized

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 200
_N, _R, _P = 2**14, 8, 1


@dataclass(frozen=True)
class UserView:
    """A back-office user as services return it: never the password hash."""

    id: int
    name: str
    created_at: datetime
    disabled_at: datetime | None = None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                                dklen=len(expected))
    except (ValueError, UnicodeEncodeError):
        return False
    return hmac.compare_digest(actual, expected)


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH or len(password) > MAX_PASSWORD_LENGTH:
        raise BadInput(f"a password must have {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters",
                       code=BackofficeCode.INVALID_PASSWORD, details={"field": "password"})
    if unstorable(password):
        raise BadInput("a password must be printable text",
                       code=BackofficeCode.INVALID_PASSWORD, details={"field": "password"})


def create_user(conn: Connection, name: str, password: str, now: datetime, *, actor: str) -> UserView:
    """Create a user; 422 for a bad name or password, 409 USER_EXISTS. Audited (O2), the password as
    set, never its value."""
    checker = Checker()
    cleaned = checker.text("name", name, max_length=100, required=True)
    if cleaned is not None and (":" in cleaned or any(c.isspace() for c in cleaned)):
        checker.fail("name", name, f"name {cleaned!r} must not contain ':' or spaces (HTTP Basic)")
    checker.raise_if_any()
    check_password(password)
    assert cleaned is not None
    exists = conn.execute(select(users.c.id).where(users.c.name == cleaned)).first()
    if exists is None:
        try:
            row = conn.execute(
                insert(users).values(name=cleaned, password_hash=hash_password(password), created_at=as_utc(now))
                .returning(users.c.id, users.c.name, users.c.created_at)
            ).one()
        except IntegrityError:
            pass
        else:
            audit.record(conn, actor=actor, action=audit.Action.CREATE, object_type=audit.ObjectType.USER,
                         object_id=row.id, changes={"name": [None, row.name], "password": [None, audit.SECRET]},
                         at=now)
            return UserView(id=row.id, name=row.name, created_at=row.created_at)
    raise Conflict(f"user {cleaned!r} already exists", code=BackofficeCode.USER_EXISTS, details={"name": cleaned})


def get_user(conn: Connection, user_id: int) -> UserView:
    """A user by id (the user page); 404 USER_NOT_FOUND."""
    row = conn.execute(select(users.c.id, users.c.name, users.c.created_at, users.c.disabled_at)
                       .where(users.c.id == user_id)).first()
    if row is None:
        raise NotFound(f"user {user_id} does not exist", code=BackofficeCode.USER_NOT_FOUND,
                       details={"userId": user_id})
    return UserView(id=row.id, name=row.name, created_at=row.created_at, disabled_at=row.disabled_at)


def _user_id(conn: Connection, name: str) -> int:
    found = conn.execute(select(users.c.id).where(users.c.name == name)).scalar()
    if found is None:
        raise NotFound(f"user {name!r} does not exist", code=BackofficeCode.USER_NOT_FOUND, details={"name": name})
    return int(found)


def disable_user(conn: Connection, name: str, now: datetime, *, actor: str) -> int:
    """Disable a user: no sign-in from now on, and every session ends at once. Returns how many
    sessions were ended. Disabling a disabled user changes nothing but ending sessions (there are none,
    and no audit entry)."""
    user_id = _user_id(conn, name)
    disabled = conn.execute(update(users).where(users.c.id == user_id, users.c.disabled_at.is_(None))
                            .values(disabled_at=as_utc(now)).returning(users.c.disabled_at)).scalar()
    if disabled is not None:
        audit.record(conn, actor=actor, action=audit.Action.DISABLE, object_type=audit.ObjectType.USER,
                     object_id=user_id, changes=audit.diff({"disabledAt": None}, {"disabledAt": disabled}), at=now)
    return end_user_sessions(conn, user_id)


def set_password(conn: Connection, name: str, password: str, now: datetime, *, actor: str) -> int:
    """Give a user a new password and end every session of the user; returns how many were ended.
    Audited as changed, without the value (O2)."""
    check_password(password)
    user_id = _user_id(conn, name)
    conn.execute(update(users).where(users.c.id == user_id).values(password_hash=hash_password(password)))
    audit.record(conn, actor=actor, action=audit.Action.SET_PASSWORD, object_type=audit.ObjectType.USER,
                 object_id=user_id, changes={"password": [audit.SECRET, audit.SECRET]}, at=now)
    return end_user_sessions(conn, user_id)


@functools.cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


class Authenticator:
    """Checks HTTP Basic credentials against ``users``; caches successful checks (see module doc)."""

    def __init__(self, engine: Engine, *, cache_size: int = 256) -> None:
        self._engine = engine
        self._key = secrets.token_bytes(32)
        self._verified: OrderedDict[tuple[str, str, bytes], None] = OrderedDict()
        self._lock = threading.Lock()
        self._cache_size = cache_size

    def authenticate(self, name: str, password: str) -> str:
        """The user's name; raises Unauthorized (401) for unknown or disabled users and wrong passwords alike."""
        refused = Unauthorized("a back-office user name and password are required (HTTP Basic)",
                               code=KernelCode.UNAUTHORIZED)
        if not name or len(name) > 100 or unstorable(name) or len(password) > MAX_PASSWORD_LENGTH \
                or unstorable(password):
            raise refused
        with unit_of_work(self._engine, write=False) as conn:
            stored = conn.execute(select(users.c.password_hash).where(
                users.c.name == name, users.c.disabled_at.is_(None))).scalar()
        if stored is None:
            verify_password(password, _dummy_hash())  # same cost as a wrong password: no user probing
            raise refused
        key = (name, stored, hmac.digest(self._key, password.encode(), "sha256"))
        with self._lock:
            if key in self._verified:
                self._verified.move_to_end(key)
                return name
        if not verify_password(password, stored):
            raise refused
        with self._lock:
            self._verified[key] = None
            while len(self._verified) > self._cache_size:
                self._verified.popitem(last=False)
        return name
