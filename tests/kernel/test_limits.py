"""Request-body limits of both services (DESIGN section 10, issue 12 item 2), against real servers.

Each test serves the real wallet or back-office app with uvicorn on loopback (`BackgroundServer`) and
talks raw HTTP/1.1 over a socket, so that a body can be announced and never sent, sent chunked, or
trickled, as an attacker would. The services' databases are SQLite files: the limits act before any
route, credentials or database are touched.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tixtrace.backoffice.app import create_backoffice_app
from tixtrace.backoffice.db.database import open_backoffice_database
from tixtrace.backoffice.services.users import create_user
from tixtrace.kernel.clock import TestClock
from tixtrace.kernel.db import unit_of_work
from tixtrace.kernel.limits import DEFAULT_MAX_BODY_BYTES, BodyLimits
from tixtrace.kernel.serving import BackgroundServer, free_port
from tixtrace.wallet.app import create_wallet_app
from tixtrace.wallet.db.database import open_wallet_database
from tixtrace.wallet.services.organizers import create_organizer

START = TestClock().now()
MIB = 1024 * 1024
#: where each service parses a JSON body behind credentials
TARGETS = {"wallet": "/organizer/tickets", "backoffice": "/api/contacts"}


def _app(service: str, directory: Path, limits: BodyLimits | None = None) -> Any:
    if service == "wallet":
        engine = open_wallet_database(f"sqlite:///{directory}/wallet.db")
        with unit_of_work(engine) as conn:
            create_organizer(conn, TestClock(START), "org@wc26.example")
        return create_wallet_app(engine, clock=TestClock(START), limits=limits)
    engine = open_backoffice_database(f"sqlite:///{directory}/backoffice.db")
    with unit_of_work(engine) as conn:
        create_user(conn, "admin", "a long enough password", START, actor="test")
    return create_backoffice_app(engine, TestClock(START), limits=limits)


@pytest.fixture(params=["wallet", "backoffice"])
def service(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def served(service: str, tmp_path: Path) -> Iterator[tuple[str, int]]:
    """(host, port) of the service with the default limits."""
    server = BackgroundServer(_app(service, tmp_path))
    with server:
        yield server.host, server.port


def _connect(address: tuple[str, int]) -> socket.socket:
    sock = socket.create_connection(address, timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _head(path: str, *extra: str) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: localhost", "Content-Type: application/json", *extra, "", ""]
    return "\r\n".join(lines).encode()


def _read_answer(sock: socket.socket, timeout: float) -> tuple[int, dict[str, str], bytes, bool]:
    """(status, headers, body, closed) of the one answer on ``sock``; ``closed``: the server closed the
    connection after it. Raises TimeoutError when nothing complete came within ``timeout``."""
    sock.settimeout(timeout)
    data = b""
    deadline = time.monotonic() + timeout
    while b"\r\n\r\n" not in data:
        if time.monotonic() > deadline:
            raise TimeoutError("no answer")
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed without an answer: {data!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in header_lines)}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    sock.settimeout(1.0)
    try:
        closed = sock.recv(1) == b""
    except ConnectionError:  # reset: closed while the client was still sending
        closed = True
    except TimeoutError:
        closed = False
    return int(status_line.split()[1]), headers, body, closed


def _error_code(body: bytes) -> str:
    return str(json.loads(body)["error"]["code"])


def test_an_oversize_content_length_is_refused_before_one_byte_is_read(service: str, served: tuple[str, int]) -> None:
    """Headers announcing 100 MB, no credentials, and not one byte of body sent: the answer is 413
    PAYLOAD_TOO_LARGE in the error envelope at once, and the connection is closed (before: the server
    waited for the body, then read all 100 MB before refusing the credentials)."""
    with _connect(served) as sock:
        sock.sendall(_head(TARGETS[service], f"Content-Length: {100 * MIB}"))
        status, headers, body, closed = _read_answer(sock, timeout=3)
    assert status == 413 and _error_code(body) == "PAYLOAD_TOO_LARGE", body
    assert json.loads(body)["error"]["details"] == {"limit": DEFAULT_MAX_BODY_BYTES, "declared": 100 * MIB}
    assert headers["content-security-policy"] and closed


def test_a_body_at_the_limit_still_reaches_the_route(service: str, served: tuple[str, int]) -> None:
    """Exactly 16 MiB is allowed: the route answers it (401 here, no credentials); one byte more is 413."""
    for size, expected in ((DEFAULT_MAX_BODY_BYTES, 401), (DEFAULT_MAX_BODY_BYTES + 1, 413)):
        body = b'{"x": "' + b"a" * (size - 10) + b'"}'
        assert len(body) == size - 1
        body += b" "
        answer = httpx.post(f"http://{served[0]}:{served[1]}{TARGETS[service]}", content=body,
                            headers={"Content-Type": "application/json"}, timeout=30)
        assert answer.status_code == expected, answer.text[:300]


def _send_chunked(sock: socket.socket, total: int, chunk: int) -> int:
    """Send up to ``total`` bytes as HTTP chunks; returns what was sent before the server cut in."""
    sent = 0
    piece = b"a" * chunk
    try:
        while sent < total:
            sock.sendall(b"%x\r\n%s\r\n" % (chunk, piece))
            sent += chunk
        sock.sendall(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass
    return sent


def test_an_oversize_chunked_body_is_counted_while_it_streams(service: str, served: tuple[str, int]) -> None:
    """A body without Content-Length (chunked), 64 MiB announced by nothing: refused 413 as soon as the
    count passes 16 MiB, without credentials; the server never waits for the rest (before: it read
    everything, then answered 401 or 422)."""
    with _connect(served) as sock:
        sock.sendall(_head(TARGETS[service], "Transfer-Encoding: chunked"))
        sender = threading.Thread(target=_send_chunked, args=(sock, 64 * MIB, 64 * 1024))
        sender.start()
        status, _headers, body, _closed = _read_answer(sock, timeout=30)
        try:
            sock.shutdown(socket.SHUT_RDWR)  # ends the sender if it is still writing
        except OSError:
            pass  # the server closed it already
        sender.join(timeout=30)
    assert status == 413 and _error_code(body) == "PAYLOAD_TOO_LARGE", body


def test_a_client_that_trickles_its_body_is_dropped_after_the_deadline(service: str, tmp_path: Path) -> None:
    """Content-Length 1,000 and then a byte now and then: answered 408 REQUEST_TIMEOUT and the
    connection closed once the body's time (1 s here, a setting) is over (before: held for ever)."""
    server = BackgroundServer(_app(service, tmp_path, BodyLimits(read_seconds=1.0)))
    with server, _connect((server.host, server.port)) as sock:
        started = time.monotonic()
        sock.sendall(_head(TARGETS[service], "Content-Length: 1000") + b"{")
        stop = threading.Event()

        def trickle() -> None:
            while not stop.wait(0.2):
                try:
                    sock.sendall(b" ")
                except OSError:
                    return

        trickler = threading.Thread(target=trickle)
        trickler.start()
        try:
            status, _headers, body, closed = _read_answer(sock, timeout=5)
        finally:
            stop.set()
            trickler.join()
        waited = time.monotonic() - started
    assert status == 408 and _error_code(body) == "REQUEST_TIMEOUT", body
    assert closed and 0.9 < waited < 3


_PROBE = """
import sys, time, httpx
fresh = sys.argv[2] == "fresh"
with httpx.Client(base_url=sys.argv[1], timeout=30) as client:
    while True:
        started = time.time()
        answer = httpx.get(sys.argv[1] + "/health", timeout=30) if fresh else client.get("/health")
        assert answer.json() == {"status": "ok"}
        print(started, time.time(), flush=True)
        time.sleep(0.02)
"""


class _HealthProbe:
    """Calls ``/health`` every 20 ms from another process (so the attackers' threads in this one never
    delay it), on its own kept-alive connection, or with ``fresh`` on a new connection each time (as a
    load balancer's health check: with several workers, whichever is free accepts it); ``latencies``
    once the block ends."""

    def __init__(self, base: str, *, fresh: bool = False) -> None:
        self.base = base
        self.fresh = fresh
        self.latencies: list[float] = []
        self.probes: list[tuple[float, float]] = []  # (started, answered), wall-clock seconds

    def __enter__(self) -> _HealthProbe:
        self.child = subprocess.Popen([sys.executable, "-c", _PROBE, self.base, "fresh" if self.fresh else "kept"],
                                      stdout=subprocess.PIPE)
        time.sleep(1.0)  # the interpreter starts and the first probes answer
        return self

    def __exit__(self, *_exc: object) -> None:
        self.child.terminate()
        out, _ = self.child.communicate(timeout=30)
        self.probes = [(float(start), float(end)) for start, end in
                       (line.split() for line in out.decode().splitlines() if line.strip())]
        self.latencies = [end - start for start, end in self.probes]


def _post_whole(address: tuple[str, int], path: str, body: bytes, *extra: str) -> int:
    with _connect(address) as sock:
        sock.sendall(_head(path, f"Content-Length: {len(body)}", *extra))
        try:
            sock.sendall(body)
        except (BrokenPipeError, ConnectionResetError):
            pass
        return _read_answer(sock, timeout=60)[0]


Served = tuple[tuple[str, int], str, subprocess.Popen[bytes]]


@contextmanager
def _serving(service: str, directory: Path, workers: int) -> Iterator[Served]:
    """The real ``tixtrace <service> serve --workers N`` in its own process (so the test's own threads
    never share its interpreter): (address, Basic credentials header of a real account, the process)."""
    import base64

    _app(service, directory)  # the database, migrated, with an account
    if service == "wallet":
        engine = open_wallet_database(f"sqlite:///{directory}/wallet.db")
        with unit_of_work(engine) as conn:
            organizer, key = create_organizer(conn, TestClock(START), "second@wc26.example")
        engine.dispose()
        user, password = organizer.email, key
    else:
        user, password = "admin", "a long enough password"
    credentials = "Authorization: Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    port = free_port()
    tixtrace = str(Path(sys.executable).parent / "tixtrace")
    child = subprocess.Popen([tixtrace, service, "serve", "--database-url", f"sqlite:///{directory}/{service}.db",
                              "--port", str(port), "--workers", str(workers)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline and child.poll() is None, f"the {service} did not start"
            time.sleep(0.2)
        if workers > 1:  # every worker up: each answers its supervisor once started
            time.sleep(2)
        yield ("127.0.0.1", port), credentials, child
    finally:
        child.terminate()
        child.wait(timeout=30)


@pytest.fixture
def process(service: str, tmp_path: Path) -> Iterator[Served]:
    """One worker: the process that reads the bodies is the one whose memory is measured."""
    with _serving(service, tmp_path, workers=1) as served:
        yield served


def _attack(address: tuple[str, int], path: str, credentials: str, *, unknown_keys: bool) -> list[int]:
    """4 x 100 MB bodies without credentials (2 announced by Content-Length, 2 chunked), one trickling
    client and, if ``unknown_keys``, a body of 300,000 unknown keys with credentials; all at once.
    Returns the answers' statuses (the trickle's is not waited for)."""
    huge = b'{"x": "' + b"a" * (100 * MIB) + b'"}'
    keys = json.dumps({f"unknown{i:06d}": 1 for i in range(300_000)}).encode()
    statuses: list[int] = []

    def announced() -> None:
        statuses.append(_post_whole(address, path, huge))

    def chunked() -> None:
        with _connect(address) as sock:
            sock.sendall(_head(path, "Transfer-Encoding: chunked"))
            _send_chunked(sock, 100 * MIB, 256 * 1024)
            statuses.append(_read_answer(sock, timeout=60)[0])

    def keyed() -> None:
        statuses.append(_post_whole(address, path, keys, credentials))

    def trickled() -> None:
        with _connect(address) as sock:
            sock.sendall(_head(path, "Content-Length: 100"))
            for _ in range(15):
                sock.sendall(b" ")
                time.sleep(0.1)

    targets = [announced, announced, chunked, chunked, trickled] + ([keyed] if unknown_keys else [])
    attackers = [threading.Thread(target=target) for target in targets]
    for attacker in attackers:
        attacker.start()
    for attacker in attackers:
        attacker.join(timeout=120)
    return statuses


def test_health_answers_at_once_while_huge_and_slow_bodies_are_sent(
        service: str, process: tuple[tuple[str, int], str, subprocess.Popen[bytes]]) -> None:
    """While `_attack` runs against the real server process (4 x 100 MB bodies and a trickle), a probe
    calls /health on its own connection every 20 ms: every probe answers within 0.5 s (before: one
    100 MB body held the back office's /health for 5 s) and the 100 MB bodies are 413."""
    address, credentials, _child = process
    with _HealthProbe(f"http://{address[0]}:{address[1]}") as probe:
        time.sleep(0.1)
        statuses = _attack(address, TARGETS[service], credentials, unknown_keys=False)
        time.sleep(0.1)
    print(f"{service}: slowest /health {max(probe.latencies) * 1000:.0f} ms over {len(probe.latencies)} probes")
    assert statuses == [413] * 4, statuses
    assert len(probe.latencies) >= 10
    assert max(probe.latencies) < 0.5, f"slowest /health {max(probe.latencies):.3f} s"


def test_300000_unknown_keys_with_credentials_are_one_short_error(
        service: str, process: tuple[tuple[str, int], str, subprocess.Popen[bytes]]) -> None:
    """A signed-in client posts 300,000 unknown keys (6 MB): one 422 naming five keys and counting the
    others, a few hundred bytes, answered in the time of parsing the JSON (before: 300,000 errors, the
    service frozen 10 s and 60 MB echoed back). A probe meanwhile records how long /health waited:
    the JSON parse of a body under the limit still runs on the event loop (docs/decisions.md)."""
    address, credentials, _child = process
    keys = json.dumps({f"unknown{i:06d}": 1 for i in range(300_000)}).encode()
    with _HealthProbe(f"http://{address[0]}:{address[1]}") as probe, _connect(address) as sock:
        time.sleep(0.1)
        started = time.monotonic()
        sock.sendall(_head(TARGETS[service], f"Content-Length: {len(keys)}", credentials) + keys)
        status, _headers, body, closed = _read_answer(sock, timeout=30)
        answered = time.monotonic() - started - (0 if closed else 1.0)  # less the wait for a close

        time.sleep(0.1)
    print(f"{service}: 300,000 unknown keys answered in {answered:.2f} s, {len(body)} bytes; "
          f"slowest /health meanwhile {max(probe.latencies) * 1000:.0f} ms")
    error = json.loads(body)["error"]
    assert status == 422 and error["code"] == "INVALID_INPUT", body[:500]
    assert len(error["details"]["errors"]) == 1 and "and 299995 more" in error["details"]["errors"][0]["message"]
    assert len(body) < 2000 and answered < 5


@pytest.mark.slow
def test_with_two_workers_a_body_being_parsed_never_stalls_health(service: str, tmp_path: Path) -> None:
    """``serve --workers 2``: while one worker parses 300,000 unknown keys (6 MB, the GIL held for the
    whole parse: one process alone cannot answer anything meanwhile), the other answers /health probes
    that come on new connections (DESIGN section 10: one client's request never stalls the others; a
    connection kept alive stays with its worker). Shown by order, not by time: probes begin and end
    inside each of the three parses' windows (before: no --workers option)."""
    keys = json.dumps({f"unknown{i:06d}": 1 for i in range(300_000)}).encode()
    windows = []
    with _serving(service, tmp_path, workers=2) as (address, credentials, _child):
        with _HealthProbe(f"http://{address[0]}:{address[1]}", fresh=True) as probe:
            for _ in range(3):
                with _connect(address) as sock:
                    sock.sendall(_head(TARGETS[service], f"Content-Length: {len(keys)}", credentials) + keys)
                    sent = time.time()
                    status = _read_answer(sock, timeout=60)[0]
                    windows.append((sent, time.time()))
                assert status == 422
    inside = [sum(1 for start, end in probe.probes if sent <= start and end <= answered)
              for sent, answered in windows]
    print(f"{service}, 2 workers: /health probes answered inside each 6 MB parse: {inside}; "
          f"slowest /health {max(probe.latencies) * 1000:.0f} ms over {len(probe.latencies)} probes")
    assert all(count >= 1 for count in inside), inside


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


@pytest.mark.slow
def test_four_concurrent_100_mb_bodies_leave_the_server_memory_bounded(
        service: str, process: tuple[tuple[str, int], str, subprocess.Popen[bytes]]) -> None:
    """The real ``tixtrace <service> serve`` process under `_attack` (4 x 100 MB bodies at once without
    credentials, 300,000 unknown keys, a trickle): its peak RSS stays under 250 MB (before: the
    wallet reached 1.58 GB)."""
    address, credentials, child = process
    before = _peak_rss_mb(child.pid)
    statuses = _attack(address, TARGETS[service], credentials, unknown_keys=True)
    peak = _peak_rss_mb(child.pid)
    print(f"{service}: peak RSS {before:.0f} MB at start, {peak:.0f} MB after the attack")
    assert statuses.count(413) == 4, statuses
    assert peak < 250, f"peak RSS {peak:.0f} MB"
