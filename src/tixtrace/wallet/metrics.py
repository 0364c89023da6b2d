"""``GET /metrics`` of the wallet: the calling organizer's own figures, in the Prometheus text format.

Credentials are the organizer API's (HTTP Basic: admin e-mail and API key). What a scrape shows:
- ``tixtrace_wallet_tickets{status}``: the organizer's tickets by status, counted in the database at
  scrape time (every status is present, 0 when none). A ticket whose transfer has expired but was not
  yet materialized (W6 happens on the organizer's next write or feed read) still counts as PENDING_TRANSFER.
- ``tixtrace_wallet_transfers_pending``: the organizer's pending transfers not yet expired at scrape
  time (the ``ix_transfers_pending`` index answers it).
- ``tixtrace_wallet_feed_request_duration_seconds`` and ``tixtrace_wallet_feed_records_served_total``:
  the organizer's successful diff-feed calls and the records they returned, since this process
  started (kept in memory per organizer, so another organizer never sees them).
- ``tixtrace_wallet_http_request_duration_seconds{route,method,status}``: the organizer's own API
  requests (those its credentials opened: routes that authenticate an organizer, answered other than
  401) in this process, by route template. Requests no organizer authenticated (health, spectators,
  unknown paths, refused credentials, bodies over the limit) are in nobody's figures: DESIGN
  section 10, the wallet's ``/metrics`` shows only the calling organizer's traffic.
"""

from __future__ import annotations

import binascii
import threading
from base64 import b64decode
from collections.abc import Iterable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from sqlalchemy import Engine, func, select
from starlette.types import Scope

from tixtrace.kernel.clock import Clock
from tixtrace.kernel.db import unit_of_work
from tixtrace.kernel.emails import normalize_email
from tixtrace.kernel.metrics import LATENCY_BUCKETS, Collectors, Exchange, RequestMetrics, render, request_histogram
from tixtrace.kernel.web import error_responses
from tixtrace.wallet.api import deps
from tixtrace.wallet.api.deps import ClockDep, EngineDep, OrganizerDep
from tixtrace.wallet.db.tables import tickets, transfers
from tixtrace.wallet.domain.tickets import Status, TransferState

DIFF_ROUTE = "/organizer/tickets/diff"
#: each record of a diff page is one JSON object starting with this key (a string value that holds
#: the same characters is escaped, ``\\"recordId\\":``, so it is never counted)
RECORD_MARKER = b'"recordId":'


def _basic_user(scope: Scope) -> str | None:
    """The user name of the request's HTTP Basic credentials, if any."""
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, param = bytes(value).partition(b" ")
            if scheme.lower() != b"basic":
                return None
            try:
                user, separator, _ = b64decode(param.strip(), validate=True).decode("utf-8").partition(":")
            except (ValueError, UnicodeDecodeError, binascii.Error):
                return None
            return user if separator else None
    return None


def _authenticates_an_organizer(route: Any) -> bool:
    """Whether ``route`` (or one of the dependencies it needs) takes the organizer's credentials."""
    dependant = getattr(route, "dependant", None)
    pending = [dependant] if dependant is not None else []
    while pending:
        current = pending.pop()
        if current.call is deps.organizer:
            return True
        pending.extend(current.dependencies)
    return False


class FeedMetrics:
    """The request and diff-feed figures of each organizer, in memory, keyed by the normalized admin
    e-mail (never exported: a scrape shows only the caller's own series, without an organizer label)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_organizer: dict[str, tuple[Histogram, Counter, Histogram]] = {}
        self._organizer_routes: dict[int, bool] = {}

    def _metrics(self, key: str) -> tuple[Histogram, Counter, Histogram]:
        with self._lock:
            found = self._by_organizer.get(key)
            if found is None:
                found = (
                    Histogram("tixtrace_wallet_feed_request_duration_seconds",
                              "Successful diff-feed calls of this organizer since the process started, by duration",
                              buckets=LATENCY_BUCKETS, registry=None),
                    Counter("tixtrace_wallet_feed_records_served",
                            "Lifecycle records the diff feed returned to this organizer since the process started",
                            registry=None),
                    request_histogram("tixtrace_wallet_http_request_duration_seconds",
                                      "This organizer's API requests in this process by route template, "
                                      "method and status"),
                )
                self._by_organizer[key] = found
            return found

    def _opened_by_organizer(self, exchange: Exchange) -> bool:
        route = exchange.scope.get("route")
        if route is None or exchange.status == 401:
            return False
        known = self._organizer_routes.get(id(route))
        if known is None:
            known = self._organizer_routes[id(route)] = _authenticates_an_organizer(route)
        return known

    def observe(self, exchange: Exchange) -> None:
        """Middleware listener. A route that authenticates an organizer and did not answer 401 was
        opened by the Basic credentials, so their user name is the organizer's e-mail."""
        if not self._opened_by_organizer(exchange):
            return
        user = _basic_user(exchange.scope)
        if user is None:
            return
        histogram, served, requests = self._metrics(normalize_email(user))
        requests.labels(exchange.route, exchange.method, str(exchange.status)).observe(exchange.seconds)
        if exchange.route == DIFF_ROUTE and 200 <= exchange.status < 300:
            histogram.observe(exchange.seconds)
            served.inc(exchange.counted)

    def of(self, email: str) -> CollectorRegistry:
        registry = CollectorRegistry(auto_describe=False)
        for metric in self._metrics(normalize_email(email)):
            registry.register(metric)
        return registry


class OrganizerFigures:
    """Scrape-time figures of one organizer, from the wallet database (two indexed aggregates)."""

    def __init__(self, engine: Engine, clock: Clock, organizer_id: int) -> None:
        self.engine = engine
        self.clock = clock
        self.organizer_id = organizer_id

    def collect(self) -> Iterable[Metric]:
        now = self.clock.now()
        with unit_of_work(self.engine, write=False) as conn:
            by_status: dict[str, int] = dict(conn.execute(
                select(tickets.c.status, func.count()).where(tickets.c.organizer_id == self.organizer_id)
                .group_by(tickets.c.status)).all())
            pending = conn.scalar(select(func.count()).select_from(transfers).where(
                transfers.c.organizer_id == self.organizer_id, transfers.c.state == TransferState.PENDING.value,
                transfers.c.expires_at > now)) or 0
        tickets_metric = GaugeMetricFamily("tixtrace_wallet_tickets", "The organizer's tickets by wallet status",
                                           labels=["status"])
        for status in Status:
            tickets_metric.add_metric([status.value], by_status.get(status.value, 0))
        yield tickets_metric
        yield GaugeMetricFamily("tixtrace_wallet_transfers_pending",
                                "The organizer's transfers waiting for the recipient and not expired", value=pending)


def install_metrics(app: FastAPI) -> None:
    """Time every request and add ``GET /metrics`` (call before the app serves)."""
    feed = FeedMetrics()
    app.add_middleware(RequestMetrics, histogram=None, count_in_body={DIFF_ROUTE: RECORD_MARKER},
                       listeners=[feed.observe])

    @app.get("/metrics", tags=["metrics"], response_class=Response,
             summary="Prometheus metrics: the organizer's tickets, transfers and feed, and request timings",
             responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text exposition"},
                        **error_responses(401)})
    def metrics(request: Request, organizer: OrganizerDep, db: EngineDep, clock: ClockDep) -> Response:
        return render(Collectors(feed.of(organizer.email), OrganizerFigures(db, clock, organizer.id)),
                      request.headers.get("accept"))
