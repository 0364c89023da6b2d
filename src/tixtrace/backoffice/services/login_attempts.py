"""The login throttle's counter, kept in the database (DESIGN 10): shared by every process on the
database, keyed by the normalized user name, bounded in time and not in the number of names.

An attempt is counted BEFORE its password is checked, by one atomic statement (INSERT ... ON CONFLICT
DO UPDATE ... RETURNING, on SQLite and PostgreSQL) that starts a new window or adds one to the
current one and returns the count: of N parallel attempts exactly one sees each count, so at most
`limit` of them per window ever reach the password check, however many arrive at once. A success
gives its own attempt back (`give_back`); failures stay counted for the window (a right password
from the real user does not wipe an attacker's failures).

Windows are fixed: ``window_start`` is the first attempt's time; the name is refused until
``window_start + window``. Rows of windows that have ended are deleted whenever a new window starts,
so the table holds about the names tried during the last window, never a fixed number of them (a
flood of new names cannot push a locked name out).

Key: SHA-256 of the name trimmed, NFKC-normalized and case-folded (any length, any characters, a
fixed 64-character key; names differing only in case or width share one budget).
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass

from sqlalchemy import Connection, case, delete, update
from sqlalchemy.dialects import postgresql, sqlite

from tixtrace.backoffice.db.tables import login_attempts


def name_key(name: str) -> str:
    normalized = unicodedata.normalize("NFKC", name.strip()).casefold()
    return hashlib.sha256(normalized.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class Attempt:
    key: str
    window_start: int
    count: int  # this attempt's rank in its window, 1 for the first


def count_attempt(conn: Connection, name: str, now: int, window: int) -> Attempt:
    """Count one attempt for `name` at `now` (Unix seconds) in one statement; returns its rank."""
    key = name_key(name)
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(login_attempts).values(name_key=key, window_start=now, attempts=1)
    ended = login_attempts.c.window_start <= now - window
    stmt = stmt.on_conflict_do_update(
        index_elements=[login_attempts.c.name_key],
        set_={"attempts": case((ended, 1), else_=login_attempts.c.attempts + 1),
              "window_start": case((ended, stmt.excluded.window_start), else_=login_attempts.c.window_start)},
    ).returning(login_attempts.c.window_start, login_attempts.c.attempts)
    row = conn.execute(stmt).one()
    if row.attempts == 1:  # a new window: forget the windows that have ended (bounded in time)
        conn.execute(delete(login_attempts).where(login_attempts.c.window_start <= now - window))
    return Attempt(key, int(row.window_start), int(row.attempts))


def give_back(conn: Connection, attempt: Attempt) -> None:
    """A successful attempt no longer counts (if its window is still the current one)."""
    conn.execute(update(login_attempts).where(
        login_attempts.c.name_key == attempt.key, login_attempts.c.window_start == attempt.window_start,
        login_attempts.c.attempts > 0).values(attempts=login_attempts.c.attempts - 1))
