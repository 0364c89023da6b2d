"""When an AUTOMATIC schedule runs next (stickToTheHour, frequency 0, start/end)."""

from datetime import UTC, datetime, timedelta

from tixtrace.backoffice.domain.schedules import (
    behind_after_seconds,
    continuous_resume_at,
    next_run_at,
    schedule_alerts,
)

NOW = datetime(2026, 6, 11, 18, 7, 30, tzinfo=UTC)


def test_stick_to_the_hour_aligns_on_multiples_of_the_frequency():
    assert next_run_at(frequency_minutes=5, stick_to_the_hour=True, last_started_at=None, now=NOW) == \
        datetime(2026, 6, 11, 18, 5, tzinfo=UTC)
    ran = datetime(2026, 6, 11, 18, 5, 1, tzinfo=UTC)
    assert next_run_at(frequency_minutes=5, stick_to_the_hour=True, last_started_at=ran, now=NOW) == \
        datetime(2026, 6, 11, 18, 10, tzinfo=UTC)


def test_without_stick_to_the_hour_runs_every_frequency_after_the_last_start():
    assert next_run_at(frequency_minutes=5, stick_to_the_hour=False, last_started_at=None, now=NOW) == NOW
    last = NOW - timedelta(minutes=2)
    assert next_run_at(frequency_minutes=5, stick_to_the_hour=False, last_started_at=last, now=NOW) == \
        last + timedelta(minutes=5)


def test_frequency_zero_runs_back_to_back():
    assert next_run_at(frequency_minutes=0, stick_to_the_hour=True, last_started_at=NOW, now=NOW) == NOW


def test_start_and_end_bound_the_runs():
    later = NOW + timedelta(hours=1)
    assert next_run_at(frequency_minutes=0, stick_to_the_hour=False, last_started_at=None, now=NOW,
                       starts_at=later) == later
    assert next_run_at(frequency_minutes=5, stick_to_the_hour=False, last_started_at=NOW, now=NOW,
                       ends_at=NOW + timedelta(minutes=1)) is None


def test_a_schedule_is_behind_after_twice_its_frequency_at_least_ten_minutes_and_an_hour_when_manual():
    assert behind_after_seconds(launch="AUTOMATIC", frequency_minutes=30) == 3600
    assert behind_after_seconds(launch="AUTOMATIC", frequency_minutes=0) == 600  # continuous mode
    assert behind_after_seconds(launch="AUTOMATIC", frequency_minutes=1) == 600
    assert behind_after_seconds(launch="MANUAL", frequency_minutes=5) == 3600


def test_alerts_name_failing_behind_and_parked_in_that_order():
    def alerts(lag, status=None, parked=0, launch="AUTOMATIC", frequency=5):
        return schedule_alerts(launch=launch, frequency_minutes=frequency, lag_seconds=lag, last_status=status,
                               parked_records=parked)

    assert alerts(None) == [] and alerts(600) == []
    assert alerts(601) == ["BEHIND"]
    assert alerts(None, "ERROR", 2) == ["FAILING", "PARKED"]  # never caught up: no lag, so not "behind"
    assert alerts(10_000, "ERROR", 1) == ["FAILING", "BEHIND", "PARKED"]
    assert alerts(10_000, "WARNING") == ["BEHIND"]
    assert alerts(3599, launch="MANUAL") == [] and alerts(3601, launch="MANUAL") == ["BEHIND"]


def test_continuous_mode_resumes_at_once_after_news_after_the_idle_pause_after_none_and_later_after_an_error() -> None:
    """The pause after an ended run, computed from the execution alone (so every scheduler sharing the
    database waits the same one)."""
    ended = datetime(2026, 6, 11, 19, tzinfo=UTC)
    pauses = {"idle_pause": timedelta(seconds=1), "error_pause": timedelta(seconds=30)}
    assert continuous_resume_at(status="OK", records_read=5, ended_at=ended, **pauses) == ended
    assert continuous_resume_at(status="WARNING", records_read=5, ended_at=ended, **pauses) == ended
    assert continuous_resume_at(status="OK", records_read=0, ended_at=ended, **pauses) == ended + timedelta(seconds=1)
    assert (continuous_resume_at(status="ERROR", records_read=5, ended_at=ended, **pauses)
            == ended + timedelta(seconds=30))
