"""An execution's statuses and counters (domain/executions.py), without a database."""

from __future__ import annotations

from tixtrace.backoffice.domain.executions import COUNTERS, ENDED, ExecutionStatus, is_idle, unknown_counters


def test_an_execution_ends_ok_warning_or_error_never_running() -> None:
    assert ENDED == {ExecutionStatus.OK, ExecutionStatus.WARNING, ExecutionStatus.ERROR}
    assert ExecutionStatus.RUNNING not in ENDED


def test_unknown_counter_names_are_named() -> None:
    assert unknown_counters({"records_read": 1, "parked": 2}) == []
    assert unknown_counters({"records_read": 1, "recordsRead": 1, "bogus": 0}) == ["bogus", "recordsRead"]


def test_idle_means_ok_with_every_counter_at_zero() -> None:
    zero = dict.fromkeys(COUNTERS, 0)
    assert is_idle("OK", zero)
    assert not is_idle("WARNING", zero) and not is_idle("ERROR", zero) and not is_idle("RUNNING", zero)
    for name in COUNTERS:
        assert not is_idle("OK", {**zero, name: 1})
