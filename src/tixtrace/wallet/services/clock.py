"""The wallet's clock (W9): real time plus an offset kept in the wallet database.

Invariants:
- The offset only grows (the sandbox's advances, and a start behind the log), so within a database
  the clock never goes back while the real time does not.
- A wallet starting on a database never shows a time earlier than its newest status-log record: a
  restart (``serve`` after ``demo``, a crash) goes on from where the clock was and ticks in real
  time from there, so every log stays in causal order and pending transfers still time out.
- Every process serving the database shows the same time: each keeps the offset in memory and
  ``refresh`` reads it again (one primary-key read) at the start of every request, never while a
  request holds a connection; an advance is written in its own unit of work.

Without ``--sandbox`` nothing advances the offset, so a wallet never run in sandbox mode shows the
real time; one that was (the demo's database) keeps its offset so its logs stay in order.
"""

from __future__ import annotations

import threading
from datetime import datetime

from sqlalchemy import Engine

from tixtrace.kernel.clock import OffsetClock, check_advance, utcnow
from tixtrace.kernel.db import unit_of_work
from tixtrace.wallet.db import clock as stored


class WalletClock:
    """The clock of a wallet app; an AdjustableClock (``/sandbox/clock/advance`` moves it).

    Building one touches no table; the first ``refresh`` (the app's first request) starts it: raises
    the stored offset, if the log is ahead of the clock, to its newest record, then reads it.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._clock = OffsetClock()
        self._started = False
        self._lock = threading.Lock()

    def now(self) -> datetime:
        return self._clock.now()

    def refresh(self) -> None:
        """Take up the stored offset, so an advance made by another process (call it with no
        connection held: it takes one)."""
        if not self._started:
            with self._lock:
                if not self._started:
                    self._start()
                    self._started = True
                    return
        with self._engine.connect() as conn:
            self._clock.raise_to(stored.read_offset(conn))

    def _start(self) -> None:
        with unit_of_work(self._engine) as conn:
            newest = stored.newest_occurred_at(conn)
            if newest is not None:
                stored.raise_offset(conn, newest - utcnow())
            self._clock.raise_to(stored.read_offset(conn))

    def advance(self, seconds: float) -> datetime:
        """Move the clock ``seconds`` forward (BadInput unless 0 < seconds <= 366 days), for every process."""
        self.refresh()
        step = check_advance(seconds, self.now())
        with unit_of_work(self._engine) as conn:
            offset = stored.add_to_offset(conn, step)
        self._clock.raise_to(offset)
        return self.now()
