"""When an AUTOMATIC schedule runs next (DESIGN section 6, ``stickToTheHour``), and when it is behind (O4).

Pure: the scheduler asks ``next_run_at`` with the time the last execution started and now.
- frequency 0: back to back, as soon as the previous run ends (continuous feedback);
- ``stickToTheHour=true``: runs align to multiples of the frequency counted from midnight UTC
  (every 5 minutes → :00, :05, :10 ...), whatever time the schedule was created;
- false: every ``frequency`` minutes after the previous start (the first run at once);
- nothing runs before ``starts_at`` or after ``ends_at``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from tixtrace.backoffice.domain.executions import ExecutionStatus


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



def continuous_resume_at(*, status: str, records_read: int, ended_at: datetime, idle_pause: timedelta,
                         error_pause: timedelta) -> datetime:
    """Continuous mode: when the run after an ended one may start. At once after a run that applied
    records; ``idle_pause`` after one that found nothing new (a quiet wallet costs one call per pause);
    ``error_pause`` after one that ended ERROR (a wallet that is down is not hammered). Computed from
    the ended execution itself, so every scheduler sharing the database waits the same pause."""
    if status == ExecutionStatus.ERROR.value:
        return ended_at + error_pause
    if not records_read:
        return ended_at + idle_pause
    return ended_at

#: a MANUAL schedule is behind when nobody caught it up for this long (it has no frequency to go by)
MANUAL_BEHIND_SECONDS = 3600
#: an AUTOMATIC schedule is never called behind under this lag (continuous mode, frequency 0, included)
MIN_BEHIND_SECONDS = 600


def behind_after_seconds(*, launch: str, frequency_minutes: int) -> int:
    """The lag (O4) over which a schedule is shown behind: twice its frequency when it is AUTOMATIC (it
    missed a run, or its runs no longer reach the end of their work), at least `MIN_BEHIND_SECONDS`
    (a run takes time; continuous mode has no interval); `MANUAL_BEHIND_SECONDS` when it is MANUAL."""
    if launch != "AUTOMATIC":
        return MANUAL_BEHIND_SECONDS
    return max(2 * 60 * frequency_minutes, MIN_BEHIND_SECONDS)


def schedule_alerts(*, launch: str, frequency_minutes: int, lag_seconds: int | None, last_status: str | None,
                    parked_records: int) -> list[str]:
    """What an operator must look at on a schedule, in this order: ``FAILING`` (its latest execution
    ended ERROR), ``BEHIND`` (its lag is over `behind_after_seconds`; a schedule never caught up has no
    lag and is not called behind, its state says "never"), ``PARKED`` (records wait to be retried)."""
    alerts = []
    if last_status == "ERROR":
        alerts.append("FAILING")
    if lag_seconds is not None and lag_seconds > behind_after_seconds(launch=launch,
                                                                      frequency_minutes=frequency_minutes):
        alerts.append("BEHIND")
    if parked_records > 0:
        alerts.append("PARKED")
    return alerts
