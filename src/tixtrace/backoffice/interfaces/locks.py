"""Run locks that the operating system or the database releases when the process dies.

Every execution of a schedule holds two locks for its whole run (see ``executions.run_schedule``):
its schedule's own lock, and the lock of its function group for its wallet organizer (one feedback
at a time per organizer, DESIGN section 6; one injection or push at a time per organizer). On
PostgreSQL a lock is a session advisory lock held on one dedicated connection; on SQLite it is an OS
file lock (flock) on a file beside the database. Either way a killed run never blocks the next one,
and the lock holds across processes (and, for PostgreSQL, hosts). Acquisition never waits: a lock
already held refuses the start at once (409 RUN_ALREADY_ACTIVE), so taking several cannot deadlock.

A host that dies without closing its connections (power cut, network gone) would leave PostgreSQL
holding its session, and so its locks, until the operating system gives up on the socket (hours by
default). Every lock session therefore asks the server to probe its client (TCP keepalives and a
user timeout, `DEAD_CLIENT_SECONDS` in all): the server ends the session of a dead host, which frees
its locks, within about half a minute. (Over a Unix socket the settings do not apply, nor are they
needed: the client is on the server's host.)

Schedulers (`scheduler_membership`): on PostgreSQL each running scheduler holds a shared advisory
lock for its life, so that any of them can count the live ones (``pg_locks``) and take its share
of the schedules; on SQLite the lock is exclusive: one scheduler per database file.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from filelock import FileLock, Timeout
from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import make_url

from tixtrace.backoffice.domain.errors import BackofficeCode
from tixtrace.kernel.db import is_sqlite
from tixtrace.kernel.errors import CommandCode, Conflict

_NAMESPACE = 0x7B0F
_DEFAULT_PORTS = {"http": 80, "https": 443}
_LOOPBACK = "localhost"
#: how long, at most, PostgreSQL keeps the session (and the run locks) of a client host that died
#: without closing it: 10 s idle, then 3 probes 5 s apart; a write unanswered for as long ends it too
DEAD_CLIENT_SECONDS = 25
_DEAD_CLIENT = ("SELECT set_config('tcp_keepalives_idle', '10', false), "
                "set_config('tcp_keepalives_interval', '5', false), set_config('tcp_keepalives_count', '3', false), "
                f"set_config('tcp_user_timeout', '{DEAD_CLIENT_SECONDS * 1000}', false)")
_SCHEDULERS = "schedulers"


def lock_url(url: str) -> str:
    """The wallet URL as run locks name it: the same text however the same wallet is spelled
    (DESIGN section 10), so that two interfaces of one wallet organizer always share their locks.

    Scheme and host lower-cased, a host's final dot dropped; every loopback spelling (``localhost``,
    ``127.0.0.1`` and the rest of 127/8, ``[::1]``) is ``localhost``; the scheme's default port
    dropped (``:80`` for http, ``:443`` for https); user info, query and fragment left out; trailing
    slashes of the path removed. Pure: no name is resolved (two names of one host stay two)."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")  # urlsplit lower-cases it and drops IPv6 brackets
    try:
        port = parts.port
    except ValueError:  # not a number: keep what was written, there is nothing to compare it with
        port = None
        host = parts.netloc.rpartition("@")[2].lower()
    try:
        if ipaddress.ip_address(host).is_loopback:
            host = _LOOPBACK
        elif ":" in host:
            host = f"[{ipaddress.ip_address(host).compressed}]"
    except ValueError:
        if host == "localhost":
            host = _LOOPBACK
    netloc = host if port is None or _DEFAULT_PORTS.get(scheme) == port else f"{host}:{port}"
    return f"{scheme}://{netloc}{parts.path.rstrip('/')}"


def organizer_lock_name(url: str, login: str) -> str:
    """The wallet organizer an interface acts as, as its run locks name it: `lock_url` and the login
    (an admin e-mail, compared without case)."""
    return f"{lock_url(url)}:{login.casefold()}"


def _key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "big", signed=True)


def _refused(what: str) -> Conflict:
    return Conflict(f"{what} is already running; this start is refused (try again when it ends)",
                    code=BackofficeCode.RUN_ALREADY_ACTIVE)


@contextmanager
def run_locks(engine: Engine, locks: Sequence[tuple[str, str]]) -> Iterator[None]:
    """Hold every lock of ``locks`` (``(name, what)`` pairs, taken in order) for the block, or none:
    the first one held elsewhere raises Conflict RUN_ALREADY_ACTIVE naming its ``what``, after the
    ones already taken are released."""
    if is_sqlite(engine):
        database = make_url(str(engine.url)).database or "tixtrace"
        with ExitStack() as held:
            for name, what in locks:
                path = Path(f"{database}.{hashlib.sha256(name.encode()).hexdigest()[:16]}.lock")
                lock = FileLock(path, timeout=0, thread_local=False, mode=0o600)  # private, like the database
                try:
                    lock.acquire()
                except Timeout as exc:
                    raise _refused(what) from exc
                held.callback(lock.release)
            yield
        return
    with engine.connect() as conn, ExitStack() as held:
        conn.execute(text(_DEAD_CLIENT))
        for name, what in locks:
            got = conn.execute(text("SELECT pg_try_advisory_lock(:ns, :key)"), {"ns": _NAMESPACE, "key": _key(name)})
            if not got.scalar_one():
                conn.rollback()
                raise _refused(what)
            conn.commit()
            held.callback(_unlock, conn, name)
        yield


def _unlock(conn: Connection, name: str) -> None:
    try:
        conn.execute(text("SELECT pg_advisory_unlock(:ns, :key)"), {"ns": _NAMESPACE, "key": _key(name)})
        conn.commit()
    except Exception:  # a broken session: close it rather than pool it, which frees its advisory locks
        conn.invalidate()


def held_elsewhere(engine: Engine, names: Sequence[str]) -> set[str]:
    """The names of ``names`` whose run lock some session holds now (PostgreSQL: one look at
    ``pg_locks`` for all of them). A hint, not a lock: a lock may be taken or freed right after; only
    taking it decides. On SQLite (one scheduler per database) nothing is reported."""
    if is_sqlite(engine) or not names:
        return set()
    by_key = {_key(name): name for name in names}
    with engine.connect() as conn:
        keys = conn.scalars(text(
            "SELECT objid::bigint FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 2 "
            "AND classid = :ns AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"),
            {"ns": _NAMESPACE}).all()
    # pg_locks shows the int4 key as an unsigned oid
    return {by_key[key] for key in ((k - 2**32 if k >= 2**31 else k) for k in keys) if key in by_key}


@contextmanager
def scheduler_membership(engine: Engine) -> Iterator[Callable[[], int]]:
    """Membership of the schedulers of one database, for the life of the block; yields a function
    that counts the live schedulers (this one included).

    PostgreSQL: a shared advisory lock on a connection of its own, which the server frees when the
    scheduler's process (or, within `DEAD_CLIENT_SECONDS`, its host) dies; counting is one look at
    ``pg_locks``. SQLite: an exclusive file lock beside the database: a second scheduler on the same
    file is refused at once (Conflict SCHEDULER_ALREADY_RUNNING); several schedulers need PostgreSQL."""
    if is_sqlite(engine):
        database = make_url(str(engine.url)).database or "tixtrace"
        lock = FileLock(Path(f"{database}.scheduler.lock"), timeout=0, thread_local=False, mode=0o600)
        try:
            lock.acquire()
        except Timeout as exc:
            raise Conflict("another scheduler runs on this SQLite database; run one scheduler per SQLite "
                           "database (several schedulers share the schedules on PostgreSQL)",
                           code=CommandCode.SCHEDULER_ALREADY_RUNNING) from exc
        try:
            yield lambda: 1
        finally:
            lock.release()
        return
    key = {"ns": _NAMESPACE, "key": _key(_SCHEDULERS)}
    with engine.connect() as conn:
        conn.execute(text(_DEAD_CLIENT))
        conn.execute(text("SELECT pg_advisory_lock_shared(:ns, :key)"), key)
        conn.commit()

        def members() -> int:
            count = conn.scalar(text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 2 "
                "AND classid = :ns AND objid = (:key)::bigint::oid "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"),
                {"ns": _NAMESPACE, "key": key["key"] % 2**32})
            conn.commit()
            return max(1, int(count or 0))

        try:
            yield members
        finally:
            try:
                conn.execute(text("SELECT pg_advisory_unlock_shared(:ns, :key)"), key)
                conn.commit()
            except Exception:  # a broken session: closing it frees the lock
                conn.invalidate()
