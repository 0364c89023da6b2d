"""An execution's statuses and counters (domain/executions.py), without a database."""

from __future__ import annotations

from tixtrace.backoffice.domain.executions import (
    COUNTERS,
    ENDED,
    ExecutionStatus,
    Outcome,
    same_outcome,
    unknown_counters,
)


def test_an_execution_ends_ok_warning_or_error_never_running() -> None:
    assert ENDED == {ExecutionStatus.OK, ExecutionStatus.WARNING, ExecutionStatus.ERROR}
    assert ExecutionStatus.RUNNING not in ENDED


def test_unknown_counter_names_are_named() -> None:
    assert unknown_counters({"records_read": 1, "parked": 2}) == []
    assert unknown_counters({"records_read": 1, "recordsRead": 1, "bogus": 0}) == ["bogus", "recordsRead"]


def test_the_same_outcome_is_the_same_ended_status_counters_and_launcher() -> None:
    """O4: continuous mode folds repeats only; a RUNNING one, another status, other counters (two
    productive runs) or another launcher (a person's Run now) breaks the streak."""
    zero = (0,) * len(COUNTERS)
    idle = Outcome("OK", "scheduler", zero)
    assert same_outcome(idle, Outcome("OK", "scheduler", zero))
    assert same_outcome(Outcome("ERROR", "scheduler", zero), Outcome("ERROR", "scheduler", zero))
    assert not same_outcome(Outcome("RUNNING", "scheduler", zero), Outcome("RUNNING", "scheduler", zero))
    assert not same_outcome(idle, Outcome("WARNING", "scheduler", zero))
    assert not same_outcome(idle, Outcome("OK", "ana", zero))
    for n in range(len(COUNTERS)):
        busy = tuple(1 if i == n else 0 for i in range(len(COUNTERS)))
        assert not same_outcome(idle, Outcome("OK", "scheduler", busy))
        assert same_outcome(Outcome("OK", "scheduler", busy), Outcome("OK", "scheduler", busy))
