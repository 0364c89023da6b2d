"""When an AUTOMATIC schedule runs next (stickToTheHour, frequency 0, start/end)."""

from datetime import UTC, datetime, timedelta

from tixtrace.backoffice.domain.schedules import next_run_at

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
