"""Time as a parameter (house rule 9).

Every rule that depends on time (transfer expiry, schedules) receives a Clock instead of calling
``datetime.now``; tests and the wallet's sandbox use a TestClock they can advance, so the one-hour
window is tested without sleeping. All times are timezone-aware UTC.
"""

from __future__ import annotations

import math
import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

from tixtrace.kernel.errors import BadInput, KernelCode

#: one move of a test clock is at most this long (W9)
MAX_ADVANCE_SECONDS = 366 * 24 * 3600
#: a test clock never goes past this: years of room before ``datetime.max`` for the times computed
#: from ``now`` (a transfer's expiresAt, a schedule's next run), so none of them can overflow
END_OF_TIME = datetime(9990, 1, 1, tzinfo=UTC)


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


@runtime_checkable
class AdjustableClock(Clock, Protocol):
    """A clock a sandbox may move forward (``POST /sandbox/clock/advance``)."""

    def advance(self, seconds: float) -> datetime: ...


def check_advance(seconds: float, now: datetime) -> timedelta:
    """The move of a test clock by ``seconds`` from ``now``, or BadInput (422) naming the value and the
    limit: more than 0, at most MAX_ADVANCE_SECONDS, never past END_OF_TIME."""
    if not seconds > 0 or seconds > MAX_ADVANCE_SECONDS:  # `not >` also refuses NaN
        shown = seconds if math.isfinite(seconds) else str(seconds)  # JSON has no NaN or Infinity
        raise BadInput(f"seconds must be more than 0 and at most {MAX_ADVANCE_SECONDS} (366 days); got {shown}",
                       code=KernelCode.INVALID_CLOCK_ADVANCE,
                       details={"seconds": shown, "min": 0, "max": MAX_ADVANCE_SECONDS})
    step = timedelta(seconds=seconds)
    if now + step > END_OF_TIME:
        raise BadInput(f"advancing by {seconds} s would move the clock past {isoformat(END_OF_TIME)}, "
                       f"the latest time it may show; it is {isoformat(now)}",
                       code=KernelCode.CLOCK_OUT_OF_RANGE,
                       details={"seconds": seconds, "now": isoformat(now), "max": isoformat(END_OF_TIME)})
    return step


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


class OffsetClock:
    """Real time plus an offset that only grows: a test clock that keeps ticking between moves.

    Whoever owns the offset (the wallet keeps it in its database, W9) sets it with ``raise_to``; a
    lower offset than the current one is ignored, so the time this clock shows never goes back while
    the real time does not.
    """

    def __init__(self, offset: timedelta = timedelta(0)) -> None:
        self._offset = offset
        self._lock = threading.Lock()

    @property
    def offset(self) -> timedelta:
        with self._lock:
            return self._offset

    def raise_to(self, offset: timedelta) -> None:
        with self._lock:
            self._offset = max(self._offset, offset)

    def now(self) -> datetime:
        return utcnow() + self.offset
