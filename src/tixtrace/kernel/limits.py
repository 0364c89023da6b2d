"""Request-body limits of both HTTP services (DESIGN section 10): a pure ASGI middleware, outermost.

Why here and not in the routes: FastAPI parses a body (JSON, form) before any dependency runs, so the
credentials check comes too late to protect anything; and a body read to its end can hold the event
loop for seconds (parsing 100 MB) or the memory of the process (4 x 100 MB = 1.6 GB). So
`BodyLimit` sits outside everything else and guarantees, for every HTTP request:

- a ``Content-Length`` above ``max_bytes`` is answered 413 ``PAYLOAD_TOO_LARGE`` before one byte of
  the body is read (nothing parsed, nothing authenticated), and the connection is closed;
- a body without ``Content-Length`` (chunked) is counted while it arrives and refused the same way at
  the first chunk that goes past ``max_bytes``: never more than ``max_bytes`` (plus one network chunk)
  is held;
- the whole body must arrive within ``read_seconds`` of the request's start, or the request is
  answered 408 ``REQUEST_TIMEOUT`` and the connection closed: a client that trickles bytes holds a
  connection for a bounded time, and never a worker (reading only awaits the socket; the event loop
  keeps serving everybody else);
- the app then receives the body already read, in one message (the routes never wait on the socket),
  and every later ``receive`` goes to the server (a disconnect is still seen).

Invariant: no app code runs for a request whose body is over the limit or late. The figures are a
setting of each service (`BodyLimits.from_environment`).
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tixtrace.kernel.errors import KernelCode

#: 16 MiB, DESIGN section 10: far above any real request (10,000 tickets of an injection batch are ~10 MB)
DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024
#: time to receive a whole body: 16 MiB at ~1 Mbit/s in ~2 minutes is not a trickle; 4 bytes a second is
DEFAULT_READ_SECONDS = 120.0


@dataclass(frozen=True)
class BodyLimits:
    """The size and time a request body may take (a setting of each service)."""

    max_bytes: int = DEFAULT_MAX_BODY_BYTES
    read_seconds: float = DEFAULT_READ_SECONDS

    @classmethod
    def from_environment(cls, prefix: str) -> BodyLimits:
        """``{prefix}MAX_BODY_BYTES`` and ``{prefix}BODY_READ_SECONDS`` when set (e.g. prefix
        ``TIXTRACE_WALLET_``), the defaults otherwise; a value that is not a positive number is refused
        at start-up, naming the variable."""
        return cls(max_bytes=int(_positive(prefix + "MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES)),
                   read_seconds=_positive(prefix + "BODY_READ_SECONDS", DEFAULT_READ_SECONDS))


def _positive(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise ValueError(f"{name} must be a positive number, not {raw!r}")
    return value


class _TooLarge(Exception):
    pass


def _error(status: int, code: str, message: str, details: dict[str, object]) -> tuple[Message, Message]:
    body = orjson.dumps({"error": {"code": code, "message": message, "details": details}})
    start: Message = {"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        (b"connection", b"close")]}
    return start, {"type": "http.response.body", "body": body, "more_body": False}


class BodyLimit:
    """ASGI middleware enforcing `BodyLimits` (see the module docstring). Put it outermost."""

    def __init__(self, app: ASGIApp, *, limits: BodyLimits | None = None) -> None:
        self.app = app
        self.limits = limits or BodyLimits()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limits.max_bytes
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await self._refuse(send, 413, KernelCode.PAYLOAD_TOO_LARGE,
                               f"the request body is {declared} bytes; the limit is {limit}",
                               {"limit": limit, "declared": declared})
            return
        try:
            async with asyncio.timeout(self.limits.read_seconds):
                message = await self._read_body(receive, limit)
        except _TooLarge:
            await self._refuse(send, 413, KernelCode.PAYLOAD_TOO_LARGE,
                               f"the request body is over the limit of {limit} bytes", {"limit": limit})
            return
        except TimeoutError:
            await self._refuse(send, 408, KernelCode.REQUEST_TIMEOUT,
                               f"the request body did not arrive within {self.limits.read_seconds:g} seconds",
                               {"seconds": self.limits.read_seconds})
            return
        if message["type"] == "http.disconnect":
            return  # the client left before sending its body: nothing to answer

        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return message
            return await receive()

        await self.app(scope, replay, send)

    @staticmethod
    async def _read_body(receive: Receive, limit: int) -> Message:
        """The whole body as one ``http.request`` message (or the ``http.disconnect`` that ended it)."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return message
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise _TooLarge
            if chunk:
                chunks.append(chunk)
            if not message.get("more_body", False):
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

    @staticmethod
    async def _refuse(send: Send, status: int, code: str, message: str, details: dict[str, object]) -> None:
        start, body = _error(status, code, message, details)
        await send(start)
        await send(body)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server refuses a malformed Content-Length before we see it
    return None
