"""``GET /metrics`` of the back office, in the Prometheus text format (a back-office user, as the API).

Figures of the database are computed at scrape time (right in every process, after restarts):
- ``tixtrace_backoffice_executions{function,status}``: executions by function and current status
  (a gauge: an execution moves from RUNNING to its end status);
- ``tixtrace_backoffice_feedback_records_applied_total{schedule}``: the ``recordsRead`` counters of the
  schedule's executions, summed; ``tixtrace_backoffice_contacts_created_total{schedule}`` likewise;
- ``tixtrace_backoffice_distribution_lines{status}``: PENDING, CONFIRMED, CANCELLED (all present);
- ``tixtrace_backoffice_parked_records{schedule}``: records waiting to be retried, per feedback schedule;
- ``tixtrace_backoffice_feedback_lag_seconds{schedule}``: how far behind the wallet the back office may
  be, as an upper bound: now minus the start of the schedule's latest run that read the feed to its
  end (``schedules.caught_up_at``, the lag of the schedule's state, O4), so everything the wallet had
  recorded when it started is applied. It grows between runs even when the wallet is quiet (the back
  office cannot know that without calling the wallet, which a scrape never does); absent until such a run;
- ``tixtrace_backoffice_feedback_last_record_id{schedule}``: the last wallet ``recordId`` applied.
And in memory, since the process started: ``tixtrace_backoffice_http_request_duration_seconds`` by
route template, method and status.

Cost at scale: the executions aggregate scans the executions table once (one row per run, not per
ticket); lines by status is one GROUP BY over ``distribution_lines.status`` (an index on that column
makes it an index-only scan); the rest reads indexes.
"""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import FastAPI, Request
from fastapi.responses import Response
from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from sqlalchemy import Engine, func, select

from tixtrace.backoffice.api.deps import User
from tixtrace.backoffice.backend import BackendDep
from tixtrace.backoffice.db.tables import distribution_lines, executions, parked_records, schedules
from tixtrace.backoffice.domain.distribution import LineStatus
from tixtrace.backoffice.services.schedules import ScheduleFunction
from tixtrace.kernel.clock import Clock, as_utc
from tixtrace.kernel.db import unit_of_work
from tixtrace.kernel.metrics import Collectors, RequestMetrics, render, request_histogram
from tixtrace.kernel.web import error_responses


class BackofficeFigures:
    """Scrape-time figures from the back-office database."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock

    def collect(self) -> Iterable[Metric]:
        now = self.clock.now()
        with unit_of_work(self.engine, write=False) as conn:
            runs = conn.execute(
                select(executions.c.schedule_id, executions.c.function, executions.c.status, func.count(),
                       func.coalesce(func.sum(executions.c.records_read), 0),
                       func.coalesce(func.sum(executions.c.contacts_created), 0))
                .group_by(executions.c.schedule_id, executions.c.function, executions.c.status)).all()
            lines: dict[str, int] = dict(conn.execute(select(distribution_lines.c.status, func.count())
                                      .group_by(distribution_lines.c.status)).all())
            feedbacks = conn.execute(select(schedules.c.id, schedules.c.last_record_id, schedules.c.caught_up_at).where(
                schedules.c.function == ScheduleFunction.RETRIEVE_TICKET_STATUS.value, schedules.c.deleted_at.is_(None))
                .order_by(schedules.c.id)).all()
            parked: dict[int, int] = dict(conn.execute(select(parked_records.c.schedule_id, func.count())
                                       .group_by(parked_records.c.schedule_id)).all())

        by_status = GaugeMetricFamily("tixtrace_backoffice_executions",
                                      "Executions by function and current status", labels=["function", "status"])
        totals: dict[tuple[str, str], int] = {}
        applied: dict[int, int] = {}
        created: dict[int, int] = {}
        for schedule_id, function, status, count, records_read, contacts_created in runs:
            totals[(function, status)] = totals.get((function, status), 0) + int(count)
            applied[schedule_id] = applied.get(schedule_id, 0) + int(records_read)
            created[schedule_id] = created.get(schedule_id, 0) + int(contacts_created)
        for (function, status), count in sorted(totals.items()):
            by_status.add_metric([function, status], count)
        yield by_status

        records = CounterMetricFamily("tixtrace_backoffice_feedback_records_applied",
                                      "Wallet lifecycle records the schedule's executions applied (recordsRead)",
                                      labels=["schedule"])
        contacts = CounterMetricFamily("tixtrace_backoffice_contacts_created",
                                       "Contacts the schedule's executions created", labels=["schedule"])
        for schedule_id in sorted(applied):
            records.add_metric([str(schedule_id)], applied[schedule_id])
            contacts.add_metric([str(schedule_id)], created[schedule_id])
        yield records
        yield contacts

        lines_metric = GaugeMetricFamily("tixtrace_backoffice_distribution_lines", "Distribution lines by status",
                                         labels=["status"])
        for status in LineStatus:
            lines_metric.add_metric([status.value], lines.get(status.value, 0))
        yield lines_metric

        parked_metric = GaugeMetricFamily("tixtrace_backoffice_parked_records",
                                          "Records parked by a feedback schedule, waiting to be retried",
                                          labels=["schedule"])
        lag = GaugeMetricFamily("tixtrace_backoffice_feedback_lag_seconds",
                                "Upper bound of how far behind the wallet the back office is: now minus the start "
                                "of the latest feedback run that read the feed to its end", labels=["schedule"])
        last_record = GaugeMetricFamily("tixtrace_backoffice_feedback_last_record_id",
                                        "The last wallet recordId the schedule applied", labels=["schedule"])
        for schedule_id, last_record_id, caught_up_at in feedbacks:
            label = [str(schedule_id)]
            parked_metric.add_metric(label, parked.get(schedule_id, 0))
            last_record.add_metric(label, last_record_id or 0)
            if caught_up_at is not None:
                lag.add_metric(label, max(0.0, (now - as_utc(caught_up_at)).total_seconds()))
        yield parked_metric
        yield lag
        yield last_record


def install_metrics(app: FastAPI) -> None:
    """Time every request and add ``GET /metrics`` (call before the app serves)."""
    requests = request_histogram("tixtrace_backoffice_http_request_duration_seconds",
                                 "Back-office requests of this process by route template, method and status")
    registry = CollectorRegistry(auto_describe=True)
    registry.register(requests)
    app.add_middleware(RequestMetrics, histogram=requests)

    @app.get("/metrics", tags=["metrics"], response_class=Response,
             summary="Prometheus metrics: executions, feedback progress and lag, lines, request timings",
             responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text exposition"},
                        **error_responses(401, 429)})
    def metrics(request: Request, user: User, backend: BackendDep) -> Response:
        figures = BackofficeFigures(backend.engine, backend.clock)
        return render(Collectors(registry, figures), request.headers.get("accept"))
