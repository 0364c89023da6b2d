"""When an AUTOMATIC schedule runs next (DESIGN section 6, ``stickToTheHour``).

Pure: the scheduler asks ``next_run_at`` with the time the last execution started and now.
- frequency 0: back to back, as soon as the previous run ends (continuous feedback);
- ``stickToTheHour=true``: runs align to multiples of the frequency counted from midnight UTC
  (every 5 minutes → :00, :05, :10 ...), whatever time the schedule was created;
- false: every ``frequency`` minutes after the previous start (the first run at once);
- nothing runs before ``starts_at`` or after ``ends_at``.
"""

from __future__ import annotations

from datetime import datetime, timedelta


def next_run_at(*, frequency_minutes: int, stick_to_the_hour: bool, last_started_at: datetime | None,
                now: datetime, starts_at: datetime | None = None, ends_at: datetime | None = None) -> datetime | None:
    """The earliest time at or after which the schedule should start again; None = never again."""
    earliest = now if starts_at is None else max(now, starts_at)
    if frequency_minutes <= 0:
        candidate = earliest
    elif stick_to_the_hour:
        step = timedelta(minutes=frequency_minutes)
        midnight = earliest.replace(hour=0, minute=0, second=0, microsecond=0)
        slot = midnight + ((earliest - midnight) // step) * step
        if last_started_at is not None and last_started_at >= slot:
            slot += step
        candidate = slot
    elif last_started_at is None:
        candidate = earliest
    else:
        candidate = max(earliest, last_started_at + timedelta(minutes=frequency_minutes))
    if ends_at is not None and candidate > ends_at:
        return None
    return candidate
