"""What both services share for ``GET /metrics``: request timing by route template, and the rendering.

- ``RequestMetrics`` is a plain ASGI middleware that times every HTTP request and observes it in a
  histogram labelled by the ROUTE TEMPLATE (``/organizer/tickets/{ticket_id}``), the method and the
  status: never by the raw path, so the number of series is bounded by the number of routes. A
  request no route matched is labelled ``<unmatched>``. It can also count a marker in the bodies of
  chosen routes (the wallet counts the records of the diff feed without parsing the JSON), and calls
  listeners with each finished exchange.
- Figures that live in a database are computed at scrape time by a custom collector of each service
  (``tixtrace.wallet.metrics``, ``tixtrace.backoffice.metrics``), so they are right in every process
  and survive restarts; only request timings are kept in memory.
- Every app has its own ``CollectorRegistry`` (never prometheus-client's global one), so tests that
  build many apps never collide; ``render`` writes the text exposition format, or OpenMetrics when
  the scraper asks for it, with the matching content type.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from prometheus_client import Histogram
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: request durations, in seconds: from a few milliseconds (an index read) to a minute (a huge page)
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
UNMATCHED = "<unmatched>"


def request_histogram(name: str, documentation: str) -> Histogram:
    """A request-latency histogram by route, method and status, registered nowhere (the app's own
    registry takes it)."""
    return Histogram(name, documentation, ["route", "method", "status"], buckets=LATENCY_BUCKETS, registry=None)


def route_template(scope: Scope) -> str:
    """The template of the route that handled the request (set by the router in the scope)."""
    route = scope.get("route")
    if route is None:
        return UNMATCHED
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    return str(template) if template else UNMATCHED


@dataclass(frozen=True)
class Exchange:
    """One finished request, as listeners see it."""

    scope: Scope
    route: str
    method: str
    status: int
    seconds: float
    counted: int  # occurrences of the route's body marker (0 when the route has none)


Listener = Callable[[Exchange], None]


class _MarkerCounter:
    """Counts a byte marker over body chunks, including one that straddles two chunks."""

    def __init__(self, marker: bytes) -> None:
        self.marker = marker
        self.count = 0
        self._tail = b""

    def feed(self, chunk: bytes) -> None:
        data = self._tail + chunk
        self.count += data.count(self.marker)
        keep = len(self.marker) - 1  # too short to hold a whole marker, so never counted twice
        self._tail = data[-keep:] if keep else b""


class RequestMetrics:
    """ASGI middleware: observes each HTTP request in ``histogram`` by route template, method, status
    (``histogram=None``: only the listeners see it, e.g. to keep figures per caller)."""

    def __init__(self, app: ASGIApp, *, histogram: Histogram | None, count_in_body: Mapping[str, bytes] | None = None,
                 listeners: Sequence[Listener] = ()) -> None:
        self.app = app
        self.histogram = histogram
        self.count_in_body = dict(count_in_body or {})
        self.listeners = list(listeners)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        counter: _MarkerCounter | None = None

        async def observed_send(message: Message) -> None:
            nonlocal status, counter
            if message["type"] == "http.response.start":
                status = int(message["status"])
                marker = self.count_in_body.get(route_template(scope)) if self.count_in_body else None
                counter = _MarkerCounter(marker) if marker else None
            elif message["type"] == "http.response.body" and counter is not None:
                counter.feed(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        finally:
            seconds = time.perf_counter() - started
            route, method = route_template(scope), str(scope.get("method", ""))
            if self.histogram is not None:
                self.histogram.labels(route, method, str(status)).observe(seconds)
            if self.listeners:
                exchange = Exchange(scope, route, method, status, seconds, counter.count if counter else 0)
                for listener in self.listeners:
                    listener(exchange)


class Collectors:
    """Several collectors seen as one (what ``render`` takes): the app's registry plus what is
    computed for this scrape (figures of the database, of the caller)."""

    def __init__(self, *sources: Collector) -> None:
        self.sources = sources

    def collect(self) -> Iterable[Metric]:
        for source in self.sources:
            yield from source.collect()


def render(collector: Collector, accept: str | None) -> Response:
    """The exposition of ``collector``: Prometheus text format, or OpenMetrics if ``accept`` asks."""
    encoder, content_type = choose_encoder(accept or "")
    return Response(encoder(collector), media_type=None, headers={"Content-Type": content_type})
