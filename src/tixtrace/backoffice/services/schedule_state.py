"""The state of each schedule at a glance (O4): its latest execution, its last OK run, its lag and its
parked records, without opening its executions.

- The lag is now minus the start of the schedule's latest run that did all its work: for the feedback,
  a run that read the wallet's feed to its end (``hasMore`` false), so that nothing the wallet wrote
  before that moment is missing from the back office; for an injection or a push, a run that went
  through every ticket it selected. The runner records that start on the schedule
  (``schedules.caught_up_at``, `mark_caught_up`) in the transaction that ends the run. It is None
  before the first such run, and again after the interface is pointed at another wallet or organizer.
  It grows between runs even when the wallet is quiet: the back office cannot know the wallet has
  nothing new without calling it, which reading a state never does.
- The last OK run is the end of the latest execution that ended OK (a WARNING or an ERROR is not OK).
- States are computed in bulk: one query for every schedule asked (correlated subqueries, each an
  index seek: ``executions (schedule_id, id)``, ``(schedule_id, status, id)``,
  ``parked_records (schedule_id, ...)``) and one for their latest executions, however many schedules
  and however many executions each has.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, select, update

from tixtrace.backoffice.db.tables import executions, parked_records, schedules
from tixtrace.backoffice.domain.executions import ExecutionStatus
from tixtrace.backoffice.services.schedules import ScheduleView
from tixtrace.kernel.clock import as_utc


@dataclass(frozen=True)
class LastExecution:
    """A schedule's latest execution, as its state shows it."""

    id: int
    status: str
    started_at: datetime
    ended_at: datetime | None


@dataclass(frozen=True)
class ScheduleState:
    """O4: what an operator needs to know of a schedule without opening its executions."""

    last_execution: LastExecution | None
    last_ok_at: datetime | None
    caught_up_at: datetime | None  # the start of the latest run that did all its work
    lag_seconds: int | None  # now minus ``caught_up_at``; None before the first such run
    parked_records: int


#: the state of a schedule that has never run
NEVER_RUN = ScheduleState(last_execution=None, last_ok_at=None, caught_up_at=None, lag_seconds=None, parked_records=0)


@dataclass(frozen=True)
class ScheduleWithState:
    schedule: ScheduleView
    state: ScheduleState


def mark_caught_up(conn: Connection, schedule_id: int, started_at: datetime) -> None:
    """Record that the run started at ``started_at`` did all its work (the runner, in the transaction
    that ends the run). Runs of one schedule never overlap (its run lock), so the latest one wins."""
    conn.execute(update(schedules).where(schedules.c.id == schedule_id).values(caught_up_at=as_utc(started_at)))


def lag_seconds(caught_up_at: datetime | None, now: datetime) -> int | None:
    """Whole seconds from ``caught_up_at`` to ``now`` (never negative: clocks of two hosts may differ)."""
    if caught_up_at is None:
        return None
    return max(0, int((as_utc(now) - as_utc(caught_up_at)).total_seconds()))


def schedule_states(conn: Connection, schedule_ids: Sequence[int], now: datetime) -> dict[int, ScheduleState]:
    """The state of each schedule of ``schedule_ids`` (an unknown id is left out), in two queries."""
    if not schedule_ids:
        return {}
    run = executions.alias("run")
    latest_id = select(func.max(run.c.id)).where(run.c.schedule_id == schedules.c.id).scalar_subquery()
    last_ok_at = (select(run.c.ended_at)
                  .where(run.c.schedule_id == schedules.c.id, run.c.status == ExecutionStatus.OK.value)
                  .order_by(run.c.id.desc()).limit(1).scalar_subquery())
    parked = (select(func.count()).select_from(parked_records)
              .where(parked_records.c.schedule_id == schedules.c.id).scalar_subquery())
    rows = conn.execute(select(schedules.c.id, schedules.c.caught_up_at, latest_id.label("latest_id"),
                               last_ok_at.label("last_ok_at"), parked.label("parked"))
                        .where(schedules.c.id.in_(sorted(set(schedule_ids))))).all()
    latest_ids = [row.latest_id for row in rows if row.latest_id is not None]
    latest: dict[int, LastExecution] = {}
    if latest_ids:
        for row in conn.execute(select(executions.c.id, executions.c.status, executions.c.started_at,
                                       executions.c.ended_at).where(executions.c.id.in_(latest_ids))):
            latest[row.id] = LastExecution(id=int(row.id), status=row.status, started_at=as_utc(row.started_at),
                                           ended_at=as_utc(row.ended_at) if row.ended_at else None)
    return {
        int(row.id): ScheduleState(
            last_execution=latest.get(row.latest_id) if row.latest_id is not None else None,
            last_ok_at=as_utc(row.last_ok_at) if row.last_ok_at else None,
            caught_up_at=as_utc(row.caught_up_at) if row.caught_up_at else None,
            lag_seconds=lag_seconds(row.caught_up_at, now),
            parked_records=int(row.parked or 0),
        )
        for row in rows
    }


def with_states(conn: Connection, views: Sequence[ScheduleView], now: datetime) -> list[ScheduleWithState]:
    """The schedules with their states (`schedule_states`, in bulk), in the order given."""
    states = schedule_states(conn, [view.id for view in views], now)
    return [ScheduleWithState(view, states.get(view.id, NEVER_RUN)) for view in views]
