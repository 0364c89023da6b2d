"""Run locks that the operating system or the database releases when the process dies.

Every execution of a schedule holds two locks for its whole run (see ``executions.run_schedule``):
its schedule's own lock, and the lock of its function group for its wallet organizer (one feedback
at a time per organizer, DESIGN section 6; one injection or push at a time per organizer). On
PostgreSQL a lock is a session advisory lock held on one dedicated connection; on SQLite it is an OS
file lock (flock) on a file beside the database. Either way a killed run never blocks the next one,
and the lock holds across processes (and, for PostgreSQL, hosts). Acquisition never waits: a lock
already held refuses the start at once (409 RUN_ALREADY_ACTIVE), so taking several cannot deadlock.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path

from filelock import FileLock, Timeout
from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import make_url

from tixtrace.backoffice.domain.errors import BackofficeCode
from tixtrace.kernel.db import is_sqlite
from tixtrace.kernel.errors import Conflict

_NAMESPACE = 0x7B0F


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
                lock = FileLock(path, timeout=0, thread_local=False)
                try:
                    lock.acquire()
                except Timeout as exc:
                    raise _refused(what) from exc
                held.callback(lock.release)
            yield
        return
    with engine.connect() as conn, ExitStack() as held:
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
