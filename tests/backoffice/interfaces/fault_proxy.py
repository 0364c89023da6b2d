"""A fault-injecting HTTP proxy for tests: a real HTTP/1.1 server on loopback that stands between the
back office and a real wallet server, forwards what it is told to and spoils the rest.

It is raw asyncio sockets (one event loop in a daemon thread), not an ASGI app, because some faults
live below HTTP: a connection cut in the middle of a body, an answer held until the client hangs up.
Forwarding to the wallet uses httpx.

Faults are scripted per *route* (``inject``, ``diff``, ``delete``, ``control``, ``other``): ``plan(route,
*faults)`` queues one entry per coming request of that route, ``None`` meaning "pass it clean"; once
the queue is empty the route is clean. Every request is counted (``seen``) and every fault actually
played is recorded (``played``), so a test can prove its faults happened and cannot pass vacuously.

Fault kinds (``Fault``):

- ``status(code, headers, reach_wallet)``: answer ``code`` instead of the wallet. ``reach_wallet=False``
  (a gateway or rate limiter in front): the wallet never sees the request. ``True``: the wallet
  processed it and its answer is replaced (the client must repeat a call that already took effect).
- ``hold()``: forward (the wallet acts), then keep the answer until the client hangs up (its read
  timeout), or ``hold_seconds`` at most; ``Played.client_gave_up`` says whether the client hung up.
- ``cut()``: forward, send the head with the full ``Content-Length`` and half the body, close the socket.
- ``truncate()``: forward, answer a complete HTTP message whose body is the first half of the JSON.
- ``replay()``: (diff) answer with the last diff page delivered, without asking the wallet.
- ``stale(index)``: (diff) answer with the ``index``-th diff page delivered since the proxy started
  (0 = the first), without asking the wallet: an earlier page whose records were already applied
  (its own key goes with it: the key moves back).
- ``stale(index, with_new=True)``: (diff) forward, and answer the wallet's page with the records of
  that earlier page put in front (at-least-once delivery): old records under the current key.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections import Counter, deque
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

ROUTES = ("inject", "diff", "delete", "control", "other")
_PASSED_REQUEST_HEADERS = ("authorization", "content-type", "accept")
_PASSED_RESPONSE_HEADERS = ("content-type", "retry-after")


@dataclass(frozen=True)
class Fault:
    kind: str
    status: int = 0
    headers: tuple[tuple[str, str], ...] = ()
    reach_wallet: bool = False
    index: int = 0
    with_new: bool = False

    @classmethod
    def answer(cls, status: int, *, reach_wallet: bool = False, **headers: str) -> Fault:
        """``status`` instead of the wallet's answer; ``headers`` use ``_`` for ``-`` (retry_after)."""
        return cls("status", status=status, reach_wallet=reach_wallet,
                   headers=tuple((name.replace("_", "-"), value) for name, value in headers.items()))

    @classmethod
    def hold(cls) -> Fault:
        return cls("hold", reach_wallet=True)

    @classmethod
    def cut(cls) -> Fault:
        return cls("cut", reach_wallet=True)

    @classmethod
    def truncate(cls) -> Fault:
        return cls("truncate", reach_wallet=True)

    @classmethod
    def replay(cls) -> Fault:
        return cls("replay")

    @classmethod
    def stale(cls, index: int, *, with_new: bool = False) -> Fault:
        return cls("stale", index=index, reach_wallet=with_new, with_new=with_new)

    @property
    def label(self) -> str:
        if self.kind == "status":
            return f"{self.status}{'-after' if self.reach_wallet else ''}"
        if self.kind == "stale":
            return f"stale-{self.index}{'-with-new' if self.with_new else ''}"
        return self.kind


@dataclass(frozen=True)
class Played:
    """One fault as it happened. ``wallet_status``: the wallet's own answer when the request reached it
    (None: it never did). ``requested_key`` / ``answered_key``: a diff request's paginationKey and the
    one in the body the client got. ``client_gave_up``: (hold) the client closed before any answer."""

    route: str
    label: str
    wallet_status: int | None
    requested_key: str | None = None
    answered_key: str | None = None
    client_gave_up: bool | None = None


@dataclass(frozen=True)
class _Request:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes

    @property
    def route(self) -> str:
        path = urlsplit(self.target).path.rstrip("/")
        if self.method == "GET" and path.endswith("/organizer/tickets/diff"):
            return "diff"
        if self.method == "POST" and path.endswith("/organizer/tickets"):
            return "inject"
        if self.method == "POST" and path.endswith("/organizer/tickets/delete"):
            return "delete"
        if self.method == "POST" and path.endswith("/organizer/tickets/control"):
            return "control"
        return "other"

    @property
    def pagination_key(self) -> str | None:
        values = parse_qs(urlsplit(self.target).query, keep_blank_values=True).get("paginationKey")
        return values[0] if values else None


@dataclass
class _Page:
    requested_key: str | None
    body: bytes
    answered_key: str | None


class FaultProxy:
    """``with FaultProxy(wallet_url) as proxy:`` serves on ``proxy.url`` until the block ends."""

    def __init__(self, upstream: str, *, hold_seconds: float = 10.0) -> None:
        self.upstream = upstream.rstrip("/")
        self.hold_seconds = hold_seconds
        self.seen: Counter[str] = Counter()
        self.played: list[Played] = []
        self._plans: dict[str, deque[Fault | None]] = {route: deque() for route in ROUTES}
        self._pages: list[_Page] = []
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True, name="fault-proxy")
        self._tasks: set[asyncio.Task[Any]] = set()
        self._server: asyncio.Server | None = None
        self._client: httpx.AsyncClient | None = None
        self.port = 0

    # -- the test's side ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def plan(self, route: str, *faults: Fault | None) -> None:
        """Queue what happens to the next requests of ``route`` (None: pass clean)."""
        assert route in ROUTES, route
        with self._lock:
            self._plans[route].extend(faults)

    def unplayed(self) -> dict[str, list[str]]:
        """Planned faults that no request met yet (a test asserts this is empty)."""
        with self._lock:
            return {route: [f.label if f else "clean" for f in queue] for route, queue in self._plans.items() if queue}

    def played_on(self, route: str) -> list[str]:
        with self._lock:
            return [p.label for p in self.played if p.route == route]

    def pages_delivered(self) -> int:
        with self._lock:
            return len(self._pages)

    # -- lifecycle ---------------------------------------------------------------------------------

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=15)
        return self

    def __exit__(self, *_exc: object) -> None:
        try:
            asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(timeout=15)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=15)
            self._loop.close()

    async def _start(self) -> None:
        self._client = httpx.AsyncClient(timeout=60.0)
        self._server = await asyncio.start_server(self._connection, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def _stop(self) -> None:
        assert self._server is not None and self._client is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()
        await self._client.aclose()

    # -- serving -----------------------------------------------------------------------------------

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            while True:
                request = await _read_request(reader)
                if request is None or not await self._handle(request, reader, writer):
                    break
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, httpx.HTTPError):
            pass  # the client left, or the wallet could not be reached: the connection just ends
        finally:
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    def _next(self, route: str) -> Fault | None:
        with self._lock:
            self.seen[route] += 1
            queue = self._plans[route]
            return queue.popleft() if queue else None

    def _record(self, played: Played) -> None:
        with self._lock:
            self.played.append(played)

    async def _forward(self, request: _Request) -> httpx.Response:
        assert self._client is not None
        headers = {name: value for name, value in request.headers.items() if name in _PASSED_REQUEST_HEADERS}
        response = await self._client.request(request.method, self.upstream + request.target, headers=headers,
                                              content=request.body or None)
        await response.aread()
        return response

    async def _handle(self, request: _Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Serve one request; False when the connection must end."""
        route = request.route
        fault = self._next(route)
        key = request.pagination_key
        if fault is None:
            response = await self._forward(request)
            if route == "diff" and response.status_code == 200:
                with self._lock:
                    self._pages.append(_Page(key, response.content, _answered_key(response.content)))
            await _send(writer, response.status_code, _passed(response), response.content)
            return True
        if fault.kind in ("replay", "stale") and not fault.with_new:
            assert route == "diff", f"{fault.label} only makes sense on the diff feed, not {route}"
            with self._lock:
                page = self._pages[-1] if fault.kind == "replay" else self._pages[fault.index]
            self._record(Played(route, fault.label, None, key, page.answered_key))
            await _send(writer, 200, [("Content-Type", "application/json")], page.body)
            return True
        wallet: httpx.Response | None = await self._forward(request) if fault.reach_wallet else None
        wallet_status = wallet.status_code if wallet is not None else None
        if fault.kind == "status":
            self._record(Played(route, fault.label, wallet_status, key))
            body = f"<html>{fault.status} {HTTPStatus(fault.status).phrase}</html>".encode()
            await _send(writer, fault.status, [("Content-Type", "text/html"), *fault.headers], body)
            return True
        assert wallet is not None
        if fault.kind == "stale":
            assert route == "diff" and wallet.status_code == 200, f"{fault.label} needs a diff page, not {route}"
            with self._lock:
                earlier = json.loads(self._pages[fault.index].body)
            body = json.loads(wallet.content)
            body["records"] = earlier["records"] + body["records"]
            self._record(Played(route, fault.label, wallet_status, key, body["paginationKey"]))
            await _send(writer, 200, [("Content-Type", "application/json")], json.dumps(body).encode())
            return True
        if fault.kind == "hold":
            gave_up = await _wait_for_hang_up(reader, self.hold_seconds)
            self._record(Played(route, fault.label, wallet_status, key, client_gave_up=gave_up))
            return False  # never answered: the connection ends with the hold
        if fault.kind == "cut":
            self._record(Played(route, fault.label, wallet_status, key))
            body = wallet.content
            writer.write(_head(wallet.status_code, _passed(wallet), len(body)) + body[: len(body) // 2])
            await writer.drain()
            return False
        assert fault.kind == "truncate", fault
        self._record(Played(route, fault.label, wallet_status, key))
        await _send(writer, wallet.status_code, _passed(wallet), wallet.content[: len(wallet.content) // 2])
        return True


def _passed(response: httpx.Response) -> list[tuple[str, str]]:
    return [(name, value) for name, value in response.headers.items() if name.lower() in _PASSED_RESPONSE_HEADERS]


def _answered_key(body: bytes) -> str | None:
    try:
        key = httpx.Response(200, content=body).json().get("paginationKey")
    except ValueError:
        return None
    return str(key) if key is not None else None


def _head(status: int, headers: list[tuple[str, str]], length: int) -> bytes:
    lines = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}", f"Content-Length: {length}",
             *(f"{name}: {value}" for name, value in headers)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def _send(writer: asyncio.StreamWriter, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
    writer.write(_head(status, headers, len(body)) + body)
    await writer.drain()


async def _read_request(reader: asyncio.StreamReader) -> _Request | None:
    """One HTTP/1.1 request (Content-Length bodies only: what httpx sends); None at a clean end."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if exc.partial:
            raise
        return None
    request_line, *header_lines = head.decode("latin-1").split("\r\n")
    method, target, _version = request_line.split(" ", 2)
    headers: dict[str, str] = {}
    for line in header_lines:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    assert "chunked" not in headers.get("transfer-encoding", ""), "the proxy reads Content-Length bodies only"
    length = int(headers.get("content-length", "0"))
    body = await reader.readexactly(length) if length else b""
    return _Request(method, target, headers, body)


async def _wait_for_hang_up(reader: asyncio.StreamReader, seconds: float) -> bool:
    """True if the client closed the connection within ``seconds`` (it gave up waiting)."""
    try:
        while True:
            chunk = await asyncio.wait_for(reader.read(1024), timeout=seconds)
            if not chunk:
                return True
    except ConnectionError:
        return True
    except TimeoutError:
        return False


__all__ = ["ROUTES", "Fault", "FaultProxy", "Played"]
