"""The wallet clock's offset (W9), one row of ``sandbox_clock``, and the newest time the log holds.

The offset only ever grows: both writes are a single UPDATE that cannot lower it, so two processes
starting or advancing at once never take the clock back.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from tixtrace.kernel.clock import as_utc
from tixtrace.kernel.db import is_sqlite
from tixtrace.wallet.db.tables import sandbox_clock, status_log

_ROW = sandbox_clock.c.id == 1
_OFFSET = sandbox_clock.c.offset_microseconds


def _microseconds(offset: timedelta) -> int:
    return offset // timedelta(microseconds=1)


def read_offset(conn: Connection) -> timedelta:
    """The offset; 0 while the row does not exist (a wallet whose clock never moved)."""
    return timedelta(microseconds=conn.scalar(select(_OFFSET).where(_ROW)) or 0)


def _ensure_row(conn: Connection) -> None:
    insert = sqlite_insert if is_sqlite(conn) else postgresql_insert
    conn.execute(insert(sandbox_clock).values(id=1, offset_microseconds=0).on_conflict_do_nothing())


def raise_offset(conn: Connection, offset: timedelta) -> None:
    """Set the offset to ``offset`` if that is more than it is."""
    wanted = _microseconds(offset)
    if wanted <= 0:
        return
    _ensure_row(conn)
    conn.execute(update(sandbox_clock).where(_ROW, _OFFSET < wanted).values(offset_microseconds=wanted))


def add_to_offset(conn: Connection, step: timedelta) -> timedelta:
    """Move the clock forward by ``step`` (> 0) and return the new offset."""
    _ensure_row(conn)
    conn.execute(update(sandbox_clock).where(_ROW).values(offset_microseconds=_OFFSET + _microseconds(step)))
    return read_offset(conn)


def newest_occurred_at(conn: Connection) -> datetime | None:
    """The latest ``occurredAt`` of the status log: the clock of a starting wallet is never earlier.

    One scan of the column, once per process start; taking the last record by id would not do, since a
    time-out is logged at its ``expiresAt``, which may be earlier than the record before it.
    """
    newest = conn.scalar(select(func.max(status_log.c.occurred_at)))
    return as_utc(newest) if newest is not None else None
