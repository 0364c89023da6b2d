"""The back office's HTTP client for the wallet's organizer API (the TIXNGO interface).

Built from an interface's URL (ending in ``/organizer/tickets``), login and password. Wallet faults
that may pass (5xx, 429 with ``Retry-After``, timeouts, cut connections, a body that is not JSON or,
for a diff page, not of the feed's shape) are
retried with exponential backoff and jitter, bounded in attempts and in total time; what remains is
raised as ``WalletUnavailable`` (transient: run again later). A refusal (other 4xx) is raised at
once as ``WalletRefused`` with the wallet's own error code. Both messages name the URL called and
say what to check (the interface's URL, its credentials, the wallet's health): they are what an
execution's log and ``tixtrace backoffice run`` show. Every call the wallet accepted is safe
to repeat: injection, delete and control are idempotent by ticket id, and the feed is read by key.
"""

from __future__ import annotations

import functools
import random
import re
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

import httpx
import msgspec
import orjson

from tixtrace.backoffice.domain.errors import BackofficeCode
from tixtrace.backoffice.interfaces.tixngo.records import PAGE_DECODER, WirePage
from tixtrace.kernel.errors import TixtraceError

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class WalletError(TixtraceError):
    """A call to the wallet failed."""

    status = 502
    default_code = BackofficeCode.WALLET_ERROR


class WalletUnavailable(WalletError):
    """The wallet could not be reached or kept failing within the retry budget (transient)."""

    default_code = BackofficeCode.WALLET_UNAVAILABLE


class WalletRefused(WalletError):
    """The wallet refused the call (4xx other than 429): retrying would not help."""

    default_code = BackofficeCode.WALLET_REFUSED


@dataclass
class CallDump:
    """The payloads exchanged with the wallet, kept up to ``limit_bytes`` (maxLengthDumpedCallsInKbs)."""

    limit_bytes: int
    parts: list[str] = field(default_factory=list)
    size: int = 0

    def add(self, text: str) -> None:
        # the newline that `text()` puts between two parts counts against the limit too
        separator = 1 if self.parts else 0
        room = self.limit_bytes - self.size - separator
        if room <= 0:
            return
        piece = text[:room]
        self.parts.append(piece)
        self.size += len(piece) + separator

    def text(self) -> str:
        return "\n".join(self.parts)


_PART = re.compile(r"\n(?=[<>] )")


def dumped_calls(text: str | None) -> list[dict[str, Any]]:
    """The stored text of a ``CallDump`` as JSON-ready exchanges, in order: ``{"direction": "request",
    "method", "path", "body"}`` and ``{"direction": "response", "status", "body"}``. A body that is JSON
    is given as its value; one cut by the size limit stays text (with ``"truncated": true``)."""
    calls: list[dict[str, Any]] = []
    for part in _PART.split(text or ""):
        arrow, _, rest = part.partition(" ")
        if arrow == ">":
            method, _, rest = rest.partition(" ")
            path, _, body = rest.partition(" ")
            calls.append({"direction": "request", "method": method, "path": path, **_body(body)})
        elif arrow == "<":
            status, _, body = rest.partition(" ")
            calls.append({"direction": "response", "status": int(status) if status.isdigit() else None,
                          **_body(body)})
    return calls


def _body(text: str) -> dict[str, Any]:
    if not text.strip():
        return {"body": None}
    try:
        return {"body": orjson.loads(text)}
    except orjson.JSONDecodeError:
        return {"body": text, "truncated": True}


@dataclass(frozen=True)
class DiffPage:
    """A page of the feed, decoded (``records.py``): each record a ``WireRecord``, or the JSON value
    the wallet sent in its place when that is not an object (the domain refuses it)."""

    records: list[Any]
    pagination_key: str
    has_more: bool


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """httpx's default TLS context, built once per process: loading the CA bundle costs about 30 ms,
    which every execution paid again (most of the 50 ms budget of a run with nothing new)."""
    return httpx.create_ssl_context()


class TixngoClient:
    def __init__(self, url: str, login: str, password: str, *, transport: httpx.BaseTransport | None = None,
                 timeout: float = 30.0, max_attempts: int = 6, max_total_seconds: float = 120.0,
                 backoff_seconds: float = 0.2, sleep: Callable[[float], None] = time.sleep,
                 dump: CallDump | None = None) -> None:
        self.url = url.rstrip("/")
        self.max_attempts = max_attempts
        self.max_total_seconds = max_total_seconds
        self.backoff_seconds = backoff_seconds
        self.sleep = sleep
        self.dump = dump
        self.attempts_made = 0
        self._http = httpx.Client(auth=(login, password), timeout=timeout, transport=transport,
                                  verify=_tls_context(), headers={"Content-Type": "application/json"})

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> TixngoClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- the typed calls ----------------------------------------------------------------------

    def inject(self, tickets: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return list(self._call("POST", "", {"tickets": tickets})["results"])

    def diff(self, pagination_key: str | None, batch_size: int) -> DiffPage:
        params = {"batchSize": str(batch_size), "paginationKey": pagination_key or ""}
        stalled = functools.partial(_stalled, params["paginationKey"])
        page: WirePage = self._call("GET", "/diff", None, params, check=stalled, decode=PAGE_DECODER.decode)
        return DiffPage(page.records, str(page.paginationKey), bool(page.hasMore))

    def delete(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return list(self._call("POST", "/delete", {"tickets": items})["results"])

    def control(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return list(self._call("POST", "/control", {"tickets": items})["results"])

    def transfer(self, ticket_id: str, recipient_email: str, reason: str) -> dict[str, Any]:
        """W7. Repeating an accepted call is refused (409, the recipient already owns the ticket),
        never a second transfer."""
        return self._call("POST", f"/{quote(ticket_id, safe='')}/transfer",
                          {"recipientEmail": recipient_email, "reason": reason})

    # -- transport, retries --------------------------------------------------------------------

    def _call(self, method: str, path: str, payload: Any, params: dict[str, str] | None = None,
              check: Callable[[Any], str | None] | None = None, decode: Callable[[bytes], Any] | None = None) -> Any:
        """The call, retried on what may pass; ``check`` names a problem in a well-formed body that
        makes it one of those faults (None: the body is good). ``decode``: the body's decoder (default:
        a JSON object as a dict); a body it refuses is a fault, like one that is not JSON."""
        url = self.url + path
        content = orjson.dumps(payload) if payload is not None else None
        if self.dump is not None:
            query = f"?{urlencode(params)}" if params else ""
            self.dump.add(f"> {method} {path or '/'}{query} {content.decode() if content else ''}")
        started = time.monotonic()
        problem = ""
        fault: Exception | None = None  # the last transport or decoding error, None after an HTTP status
        for attempt in range(1, self.max_attempts + 1):
            self.attempts_made += 1
            wait: float | None = None
            try:
                response = self._http.request(method, url, content=content, params=params)
                if response.status_code in RETRY_STATUSES:
                    problem, fault = f"HTTP {response.status_code}", None
                    wait = _retry_after(response)
                elif response.status_code >= 400:
                    raise _refusal(method, shown_url(url), response)
                else:
                    body = (decode or _json_object)(response.content)
                    if self.dump is not None:
                        self.dump.add(f"< {response.status_code} {response.text}")
                    invalid = check(body) if check is not None else None
                    if invalid is None:
                        return body
                    problem, fault = invalid, None
            except (httpx.TransportError, orjson.JSONDecodeError, msgspec.DecodeError) as exc:
                problem = f"{type(exc).__name__}: {exc}"[:300]
                fault = exc
            if attempt == self.max_attempts:
                break
            delay = wait if wait is not None else self.backoff_seconds * (2 ** (attempt - 1)) * random.uniform(0.5, 1.0)
            if time.monotonic() - started + delay > self.max_total_seconds:
                break
            self.sleep(delay)
        where = shown_url(url)
        raise WalletUnavailable(
            f"wallet {method} {where} failed after {attempt} attempts in {time.monotonic() - started:.1f} s "
            f"(last problem: {problem}); {_unavailable_hint(fault, problem)}",
            details={"attempts": attempt, "problem": problem, "url": where})


def _json_object(content: bytes) -> dict[str, Any]:
    body = orjson.loads(content)
    if not isinstance(body, dict):
        raise orjson.JSONDecodeError("not an object", "", 0)
    return body


def _stalled(requested_key: str, body: WirePage) -> str | None:
    """A diff page that says there is more but hands back the key it was asked for would be asked for
    again, and again: a stale answer (a cache, a proxy) that must count against the retry budget, or
    the run never ends. The wallet's own pages always move the key when there is more."""
    if body.hasMore is True and str(body.paginationKey) == requested_key:
        return "no progress: hasMore with the pagination key that was asked for"
    return None


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, min(float(value), 60.0))
    except ValueError:
        return None


def shown_url(url: str) -> str:
    """The URL a message names: scheme, host, port and path, never user info (a password could be
    written there) nor the query (a pagination key says nothing to an operator)."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _unavailable_hint(fault: Exception | None, problem: str) -> str:
    """What an operator should check when the wallet could not be reached or kept failing."""
    if isinstance(fault, httpx.TimeoutException):
        return ("the wallet did not answer in time: check that it is up and not overloaded, and the network "
                "between the back office and it; then run again")
    if isinstance(fault, httpx.ConnectError):
        return ("nothing answered there: check the interface's URL (host and port, ending in "
                "/organizer/tickets) and that the wallet is running")
    if isinstance(fault, httpx.TransportError):
        return "the connection to the wallet broke: check the wallet and the network (proxy, TLS), then run again"
    if problem.startswith("HTTP 429"):
        return "the wallet is throttling the back office: lower the schedule's frequency or batch size, or wait"
    if problem.startswith("HTTP 5"):
        return "the wallet itself is failing: check the wallet's logs and health (GET /health), then run again"
    return ("the wallet's answers were not what the organizer API sends: check that the interface's URL points "
            "at the wallet's /organizer/tickets and not at another site or a proxy page")


_REFUSAL_HINTS = {
    401: "the wallet refused the credentials: check the interface's Login (the organizer admin e-mail) and "
         "Password (its API key; `tixtrace wallet rotate-key` issues a new one)",
    403: "the wallet refused this organizer: check the interface's Login and Password",
    404: "the wallet has no such page: check that the interface's URL ends in /organizer/tickets",
    405: "the wallet has no such page: check that the interface's URL ends in /organizer/tickets",
}


def _refusal(method: str, url: str, response: httpx.Response) -> WalletRefused:
    code, message = f"HTTP_{response.status_code}", response.text[:300]
    try:
        error = orjson.loads(response.content)["error"]
        code, message = str(error["code"]), str(error["message"])
    except (orjson.JSONDecodeError, KeyError, TypeError):
        pass
    hint = _REFUSAL_HINTS.get(response.status_code)
    return WalletRefused(f"wallet refused {method} {url}: {code}: {message}" + (f"; {hint}" if hint else ""),
                         details={"status": response.status_code, "walletCode": code, "url": url})
