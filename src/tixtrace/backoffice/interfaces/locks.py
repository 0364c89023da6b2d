"""Run locks that the operating system or the database releases when the process dies.

At most one feedback execution runs at a time per wallet organizer (DESIGN section 6). On PostgreSQL
the lock is a session advisory lock held on its own connection; on SQLite it is an OS file lock
(flock) on a file beside the database. Either way a killed run never blocks the next one, and the
lock holds across processes (and, for PostgreSQL, hosts).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from tixtrace.kernel.db import is_sqlite
from tixtrace.kernel.errors import Conflict

_NAMESPACE = 0x7B0F


def _key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "big", signed=True)


@contextmanager
def run_lock(engine: Engine, name: str, *, what: str) -> Iterator[None]:
    """Hold the lock called ``name`` for the block, or raise Conflict RUN_ALREADY_ACTIVE at once."""
    refused = Conflict(f"{what} is already running; this start is refused (try again when it ends)",
                       code="RUN_ALREADY_ACTIVE")
    if is_sqlite(engine):
        database = make_url(str(engine.url)).database or "tixtrace"
        path = Path(f"{database}.{hashlib.sha256(name.encode()).hexdigest()[:16]}.lock")
        lock = FileLock(path, timeout=0, thread_local=False)
        try:
            lock.acquire()
        except Timeout as exc:
            raise refused from exc
        try:
            yield
        finally:
            lock.release()
        return
    with engine.connect() as conn:
        got = conn.execute(text("SELECT pg_try_advisory_lock(:ns, :key)"), {"ns": _NAMESPACE, "key": _key(name)})
        if not got.scalar_one():
            conn.rollback()
            raise refused
        conn.commit()
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:ns, :key)"), {"ns": _NAMESPACE, "key": _key(name)})
            conn.commit()
