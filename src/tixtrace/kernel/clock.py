"""Time as a parameter (house rule 9).

Every rule that depends on time (transfer expiry, schedules) receives a Clock instead of calling
``datetime.now``; tests and the wallet's sandbox use a TestClock they can advance, so the one-hour
window is tested without sleeping. All times are timezone-aware UTC.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Return ``value`` as an aware UTC datetime (naive values are taken to be UTC, as SQLite stores them)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def isoformat(value: datetime | None) -> str | None:
    """RFC 3339 UTC with a ``Z`` suffix and millisecond precision, the format of every JSON time."""
    if value is None:
        return None
    return as_utc(value).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """The real time."""

    def now(self) -> datetime:
        return utcnow()


class TestClock:
    """A clock that only moves when told to; it never goes backwards.

    It starts at ``start`` (default: the real time when created), so a sandbox wallet looks like the
    real one until a test advances it.
    """

    __test__ = False  # not a pytest test class

    def __init__(self, start: datetime | None = None) -> None:
        self._now = as_utc(start) if start else utcnow()
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> datetime:
        if seconds < 0:
            raise ValueError(f"a clock only moves forward; got seconds={seconds}")
        with self._lock:
            self._now = self._now + timedelta(seconds=seconds)
            return self._now
