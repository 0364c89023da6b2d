"""The wallet client under faults (DESIGN section 10): 5xx, 429 with Retry-After, timeouts, cut
connections and malformed JSON are retried with bounded backoff; a refusal is raised at once with the
wallet's code; a run that cannot finish ends ERROR having lost nothing.

Unit cases use ``httpx.MockTransport`` and a fake clock (the client's sleeps are recorded, never
slept); end-to-end cases wrap a real transport to the live wallet and inject faults before the request
reaches the wallet (nothing happened) or after (the wallet acted, the answer was lost or cut).
"""

from __future__ import annotations

import itertools
import random
import threading
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.support.export import export
from tests.support.system import System
from tixtrace.backoffice.db.database import open_backoffice_database
from tixtrace.backoffice.db.tables import execution_logs, schedules
from tixtrace.backoffice.interfaces import runner as runner_module
from tixtrace.backoffice.interfaces.runner import run_schedule
from tixtrace.backoffice.interfaces.tixngo import client as client_module
from tixtrace.backoffice.interfaces.tixngo.client import TixngoClient, WalletRefused, WalletUnavailable, shown_url
from tixtrace.kernel.clock import SystemClock
from tixtrace.kernel.db import unit_of_work

URL = "http://wallet.test/organizer/tickets"
PAGE = {"records": [], "paginationKey": "k1", "hasMore": False}


class FakeTime:
    """Stands in for the client module's ``time``: sleeping moves the monotonic clock, instantly."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def fake_time(monkeypatch: pytest.MonkeyPatch) -> FakeTime:
    fake = FakeTime()
    monkeypatch.setattr(client_module, "time", fake)
    return fake


def scripted(*answers: Any) -> tuple[httpx.MockTransport, list[httpx.Request]]:
    """A transport answering from a script: a Response, an exception to raise, or a callable."""
    seen: list[httpx.Request] = []
    script = iter(answers)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = next(script)
        if isinstance(answer, BaseException):
            raise answer
        return answer  # type: ignore[no-any-return]

    return httpx.MockTransport(handler), seen


def ok() -> httpx.Response:
    return httpx.Response(200, json=PAGE)


def client(transport: httpx.BaseTransport, fake: FakeTime, **options: Any) -> TixngoClient:
    return TixngoClient(URL, "org@wc26.example", "key", transport=transport, sleep=fake.sleep, **options)


# -- retried faults ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_retried_with_growing_backoff(fake_time: FakeTime, status: int) -> None:
    transport, seen = scripted(httpx.Response(status, text="oops"), httpx.Response(status), ok())
    with client(transport, fake_time, backoff_seconds=0.2) as wallet:
        page = wallet.diff("k0", 10)
        assert wallet.attempts_made == 3
    assert (page.records, page.pagination_key, page.has_more) == ([], "k1", False)
    assert len(seen) == 3 and all(r.url.params["paginationKey"] == "k0" for r in seen), "the same call again"
    first, second = fake_time.sleeps
    assert 0.1 <= first <= 0.2 and 0.2 <= second <= 0.4, fake_time.sleeps


def test_429_waits_what_retry_after_says(fake_time: FakeTime) -> None:
    transport, seen = scripted(httpx.Response(429, headers={"Retry-After": "1"}), ok())
    with client(transport, fake_time) as wallet:
        assert wallet.diff(None, 10).pagination_key == "k1"
    assert fake_time.sleeps == [1.0] and len(seen) == 2


@pytest.mark.parametrize("retry_after", ["Wed, 21 Oct 2026 07:28:00 GMT", "soon", "-5"])
def test_429_with_an_unusable_retry_after_still_backs_off(fake_time: FakeTime, retry_after: str) -> None:
    transport, _ = scripted(httpx.Response(429, headers={"Retry-After": retry_after}), ok())
    with client(transport, fake_time, backoff_seconds=0.2) as wallet:
        assert wallet.diff(None, 10).pagination_key == "k1"
    [slept] = fake_time.sleeps
    assert 0 <= slept <= 0.2


@pytest.mark.parametrize("fault", [
    httpx.ReadTimeout("read timed out"), httpx.ConnectTimeout("connect timed out"),
    httpx.ConnectError("connection refused"), httpx.RemoteProtocolError("peer closed connection"),
    httpx.ReadError("connection reset by peer"), httpx.WriteError("broken pipe"),
], ids=lambda exc: type(exc).__name__)
def test_timeouts_and_cut_connections_are_retried(fake_time: FakeTime, fault: Exception) -> None:
    transport, seen = scripted(fault, fault, ok())
    with client(transport, fake_time) as wallet:
        assert wallet.diff("k0", 10).pagination_key == "k1"
    assert len(seen) == 3 and len(fake_time.sleeps) == 2


@pytest.mark.parametrize("body", [b'{"records": [{"recordId": 1, "tick', b"", b"<html>Bad gateway</html>", b"[]",
                                  b'"text"'], ids=["truncated", "empty", "html", "array", "string"])
def test_a_body_that_is_not_a_json_object_is_retried(fake_time: FakeTime, body: bytes) -> None:
    transport, seen = scripted(httpx.Response(200, content=body), ok())
    with client(transport, fake_time) as wallet:
        assert wallet.diff("k0", 10).pagination_key == "k1"
    assert len(seen) == 2


@pytest.mark.parametrize(("fault", "hint"), [
    (httpx.ConnectError("[Errno 111] Connection refused"), "check the interface's URL (host and port"),
    (httpx.ConnectTimeout("timed out"), "did not answer in time"),
    (httpx.RemoteProtocolError("peer closed connection"), "the connection to the wallet broke"),
    (httpx.Response(503), "the wallet itself is failing: check the wallet's logs"),
    (httpx.Response(429), "throttling"),
    (httpx.Response(200, content=b"<html>portal</html>"), "points at the wallet's /organizer/tickets"),
], ids=["refused", "timeout", "cut", "5xx", "429", "not-json"])
def test_an_unavailable_wallet_is_named_by_its_url_with_what_to_check(fake_time: FakeTime, fault: Any,
                                                                       hint: str) -> None:
    """Issue 13: "the wallet error names no URL". The message (what the execution's log and the CLI
    show) names the URL called, without the query, and says what to check."""
    transport, _ = scripted(*[fault] * 2)
    with client(transport, fake_time, max_attempts=2) as wallet, pytest.raises(WalletUnavailable) as failed:
        wallet.inject([])
    assert f"wallet POST {URL} failed after 2 attempts" in failed.value.message, failed.value.message
    assert hint in failed.value.message, failed.value.message


@pytest.mark.parametrize(("status", "hint"), [
    (401, "check the interface's Login (the organizer admin e-mail) and Password"),
    (403, "check the interface's Login and Password"),
    (404, "check that the interface's URL ends in /organizer/tickets"),
])
def test_a_refusal_names_the_url_and_what_to_check(fake_time: FakeTime, status: int, hint: str) -> None:
    transport, _ = scripted(httpx.Response(status, json={"error": {"code": "NOPE", "message": "refused"}}))
    with client(transport, fake_time) as wallet, pytest.raises(WalletRefused) as refused:
        wallet.diff("k0", 10)
    message = refused.value.message
    assert message.startswith(f"wallet refused GET {URL}/diff: NOPE: refused; "), message
    assert hint in message and "k0" not in message, message


def test_the_url_shown_never_carries_user_info() -> None:
    assert shown_url("https://me:secret@wallet.example:8443/organizer/tickets/diff?paginationKey=k") \
        == "https://wallet.example:8443/organizer/tickets/diff"


def test_always_failing_ends_in_wallet_unavailable_after_max_attempts(fake_time: FakeTime) -> None:
    transport, seen = scripted(*[httpx.Response(503)] * 3, *[httpx.ReadTimeout("read timed out")] * 3)
    with client(transport, fake_time, max_attempts=6, backoff_seconds=0.2) as wallet:
        with pytest.raises(WalletUnavailable) as failed:
            wallet.diff("k0", 10)
    assert len(seen) == 6 and len(fake_time.sleeps) == 5
    error = failed.value
    assert error.code == "WALLET_UNAVAILABLE" and error.details["attempts"] == 6
    assert "failed after 6 attempts" in error.message and "ReadTimeout" in error.message, error.message
    assert "GET http://wallet.test/organizer/tickets/diff " in error.message  # the URL, not its query
    assert "did not answer in time" in error.message and error.details["url"].endswith("/organizer/tickets/diff")
    assert sum(fake_time.sleeps) <= 0.2 * (1 + 2 + 4 + 8 + 16)


def test_the_total_time_is_bounded_whatever_the_attempts(fake_time: FakeTime) -> None:
    transport, seen = scripted(*[httpx.Response(503)] * 100)
    with client(transport, fake_time, max_attempts=100, max_total_seconds=5.0, backoff_seconds=0.2) as wallet:
        with pytest.raises(WalletUnavailable) as failed:
            wallet.diff(None, 10)
    assert fake_time.now - 1000.0 <= 5.0, fake_time.sleeps
    assert len(seen) < 100 and failed.value.details["attempts"] == len(seen)


def test_a_long_retry_after_is_not_waited_beyond_the_budget(fake_time: FakeTime) -> None:
    transport, seen = scripted(*[httpx.Response(429, headers={"Retry-After": "3600"})] * 10)
    with client(transport, fake_time, max_total_seconds=30.0) as wallet:
        with pytest.raises(WalletUnavailable) as failed:
            wallet.diff(None, 10)
    assert fake_time.now - 1000.0 <= 30.0 and "HTTP 429" in failed.value.message


# -- refusals -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("status", "code"), [(401, "BAD_CREDENTIALS"), (403, "FORBIDDEN"), (404, "TICKET_NOT_FOUND"),
                                              (409, "TICKET_CONTROLLED"), (422, "INVALID_INPUT")])
def test_a_refusal_is_raised_at_once_with_the_wallet_code(fake_time: FakeTime, status: int, code: str) -> None:
    body = {"error": {"code": code, "message": "no", "details": {}}}
    transport, seen = scripted(httpx.Response(status, json=body))
    with client(transport, fake_time) as wallet:
        with pytest.raises(WalletRefused) as refused:
            wallet.inject([{"ticketId": "T1"}])
    assert len(seen) == 1 and fake_time.sleeps == []
    assert refused.value.details == {"status": status, "walletCode": code, "url": URL}
    assert code in refused.value.message and f"POST {URL}:" in refused.value.message


def test_a_refusal_without_an_envelope_names_the_status(fake_time: FakeTime) -> None:
    transport, _ = scripted(httpx.Response(400, text="Bad Request"))
    with client(transport, fake_time) as wallet, pytest.raises(WalletRefused) as refused:
        wallet.diff(None, 10)
    assert refused.value.details["walletCode"] == "HTTP_400"


def test_the_live_wallet_refuses_bad_credentials_and_bad_input(system: System) -> None:
    url = f"{system.base_url}/organizer/tickets"
    sleeps: list[float] = []
    with TixngoClient(url, system.wallet.auth[0], "wrong key", sleep=sleeps.append) as wallet:
        with pytest.raises(WalletRefused) as refused:
            wallet.diff(None, 10)
        assert wallet.attempts_made == 1
    assert refused.value.details == {"status": 401, "walletCode": "BAD_CREDENTIALS", "url": f"{url}/diff"}
    with TixngoClient(url, *system.wallet.auth, sleep=sleeps.append) as wallet:
        with pytest.raises(WalletRefused) as refused:
            wallet.diff(None, 0)
        assert wallet.attempts_made == 1
    assert refused.value.details == {"status": 422, "walletCode": "INVALID_INPUT", "url": f"{url}/diff"}
    assert sleeps == []


# -- end to end ------------------------------------------------------------------------------------------

class Faulty(httpx.BaseTransport):
    """A real transport to the live wallet with faults injected on some calls.

    ``plan(n)`` says what happens to the n-th call (1-based): None (clean), or one of FAULTS. "before"
    faults never reach the wallet; "after" faults let the wallet act and lose or spoil its answer.
    """

    FAULTS = ("503", "429", "read-timeout", "connect-error", "lost-answer", "cut-answer", "truncated-json", "502")

    def __init__(self, plan: Callable[[int], str | None]) -> None:
        self.inner = httpx.HTTPTransport()
        self.plan = plan
        self.calls = 0
        self.faults: list[str] = []
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.calls += 1
            fault = self.plan(self.calls)
            if fault:
                self.faults.append(fault)
        if fault == "503":
            return httpx.Response(503, text="Service Unavailable")
        if fault == "502":
            return httpx.Response(502, text="<html>Bad gateway</html>")
        if fault == "429":
            return httpx.Response(429, headers={"Retry-After": "0"})
        if fault == "read-timeout":
            raise httpx.ReadTimeout("read timed out", request=request)
        if fault == "connect-error":
            raise httpx.ConnectError("connection refused", request=request)
        response = self.inner.handle_request(request)
        if fault is None:
            return response
        body = response.read()
        response.close()
        if fault == "lost-answer":
            raise httpx.ReadTimeout("timed out waiting for the answer", request=request)
        if fault == "cut-answer":
            raise httpx.RemoteProtocolError("peer closed connection without sending complete message body",
                                            request=request)
        assert fault == "truncated-json"
        return httpx.Response(200, content=body[: len(body) // 2], headers={"Content-Type": "application/json"})

    def close(self) -> None:
        self.inner.close()


OPTIONS = {"backoff_seconds": 0.001, "max_attempts": 8}


def every_third(faults: Iterator[str]) -> Callable[[int], str | None]:
    return lambda n: next(faults) if n % 3 == 0 else None


def build(office: System, numbers: list[str], *, batch_size: int = 2) -> tuple[int, int]:
    """The same operator data in a back office: contacts, tickets, interface, both schedules."""
    ids = {email: office.contact(email, first, "Lima") for email, first in
           (("ana@example.com", "Ana"), ("bea@example.com", "Bea"))}
    for index, number in enumerate(numbers):
        office.ticket(ids["ana@example.com" if index % 2 else "bea@example.com"], number=number)
    interface = office.interface()
    return (office.schedule(interface, "TICKETS_INJECTION"),
            office.schedule(interface, "RETRIEVE_TICKET_STATUS", batch_size=batch_size))


def wallet_history(system: System, numbers: list[str], rng: random.Random) -> None:
    """Transfers with every outcome on the injected tickets."""
    w = system.wallet
    people = ["ana@example.com", "bea@example.com", "dan@example.com", "eve@example.com", "fay@example.com"]
    for email, first in (("dan@example.com", "Dan"), ("eve@example.com", "Eve")):
        w.profile(email, first, "Okafor")
    for _ in range(40):
        number = rng.choice(numbers)
        detail = w.detail(number)
        owner, pending = detail["walletOwner"]["email"], detail["pendingTransfer"]
        if pending is not None:
            recipient = pending["recipientEmail"]
            outcome = rng.choice(["accept", "reject", "cancel"] if recipient != "fay@example.com" else ["reject"])
            actor = owner if outcome == "cancel" else recipient
            assert w.act(actor, pending["transferId"], outcome).status_code == 200
        else:
            w.transfer(owner, number, rng.choice([p for p in people if p != owner]))
        if rng.random() < 0.1:
            w.advance(3600)


@pytest.fixture
def reference(system: System, tmp_path: Path) -> Iterator[System]:
    office = System(open_backoffice_database(f"sqlite:///{tmp_path / 'reference.db'}"), system.wallet, system.base_url)
    yield office
    office.engine.dispose()


def run(office: System, schedule: int, transport: httpx.BaseTransport | None = None,
        **options: Any) -> dict[str, Any]:
    return asdict(run_schedule(office.engine, schedule, clock=SystemClock(), transport=transport,
                               client_options={**OPTIONS, **options}))


def log_of(office: System, execution_id: int) -> list[tuple[str, str]]:
    with unit_of_work(office.engine, write=False) as conn:
        return [(r.level, r.message) for r in conn.execute(
            select(execution_logs.c.level, execution_logs.c.message)
            .where(execution_logs.c.execution_id == execution_id).order_by(execution_logs.c.id))]


def pagination_key(office: System, schedule: int) -> str | None:
    with unit_of_work(office.engine, write=False) as conn:
        return conn.scalar(select(schedules.c.pagination_key).where(schedules.c.id == schedule))


def test_a_flaky_wallet_gives_the_same_result_as_a_clean_one(system: System, reference: System) -> None:
    numbers = [f"FL-{i:02d}" for i in range(8)]
    injection, feedback = build(system, numbers)
    flaky = Faulty(every_third(itertools.cycle(Faulty.FAULTS)))
    execution = run(system, injection, flaky)  # an injection whose answer is lost is sent again: idempotent
    assert execution["status"] == "OK", log_of(system, execution["id"])
    assert all(system.ticket_row(n)["status"] == "PRINTED" for n in numbers)
    wallet_history(system, numbers, random.Random(3))
    execution = run(system, feedback, flaky)
    assert execution["status"] == "OK", log_of(system, execution["id"])
    assert execution["records_read"] > 10
    assert set(flaky.faults) == set(Faulty.FAULTS), "every kind of fault was met"

    ref_injection, ref_feedback = build(reference, numbers, batch_size=1000)
    assert run(reference, ref_injection)["status"] == "OK"
    assert run(reference, ref_feedback)["status"] == "OK"
    assert export(system.engine) == export(reference.engine)


def test_a_run_whose_wallet_is_down_ends_error_and_loses_nothing(system: System, reference: System) -> None:
    numbers = [f"DN-{i:02d}" for i in range(6)]
    injection, feedback = build(system, numbers)
    assert run(system, injection)["status"] == "OK"
    wallet_history(system, numbers, random.Random(5))
    before = export(system.engine)

    down = Faulty(lambda n: "connect-error")
    execution = run(system, feedback, down, max_attempts=4)
    assert execution["status"] == "ERROR"
    assert down.calls == 4, "bounded: max_attempts calls, then the run gives up"
    errors = [message for level, message in log_of(system, execution["id"]) if level == "ERROR"]
    assert len(errors) == 1 and "failed after 4 attempts" in errors[0] and "ConnectError" in errors[0], errors
    assert "GET http://127.0.0.1:" in errors[0] and "/organizer/tickets/diff failed" in errors[0]
    assert "check the interface's URL" in errors[0]  # what to check, in the execution's log
    assert export(system.engine) == before and pagination_key(system, feedback) is None

    execution = run(system, feedback)
    assert execution["status"] == "OK" and execution["records_read"] > 10
    ref_injection, ref_feedback = build(reference, numbers, batch_size=1000)
    assert run(reference, ref_injection)["status"] == "OK"
    assert run(reference, ref_feedback)["status"] == "OK"
    assert export(system.engine) == export(reference.engine)


def test_a_wallet_that_goes_down_mid_run_keeps_the_pages_done(system: System, reference: System) -> None:
    numbers = [f"MD-{i:02d}" for i in range(6)]
    injection, feedback = build(system, numbers)
    assert run(system, injection)["status"] == "OK"
    wallet_history(system, numbers, random.Random(11))

    failing = Faulty(lambda n: None if n <= 5 else "503")
    execution = run(system, feedback, failing, max_attempts=3)
    assert execution["status"] == "ERROR", log_of(system, execution["id"])
    assert 0 < execution["records_read"] <= 5 * 2, "the pages read before the wallet went down are kept"
    key = pagination_key(system, feedback)
    assert key is not None

    execution = run(system, feedback)
    assert execution["status"] == "OK"
    ref_injection, ref_feedback = build(reference, numbers, batch_size=1000)
    assert run(reference, ref_injection)["status"] == "OK"
    assert run(reference, ref_feedback)["status"] == "OK"
    assert export(system.engine) == export(reference.engine)


def test_run_schedule_passes_transport_and_client_options_to_the_client(system: System,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    _, feedback = build(system, ["OPT-1"])
    made: list[dict[str, Any]] = []
    real = runner_module.TixngoClient

    def spy(*args: Any, **kwargs: Any) -> TixngoClient:
        made.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(runner_module, "TixngoClient", spy)
    transport = Faulty(lambda n: None)
    sleep = lambda seconds: None  # noqa: E731
    run_schedule(system.engine, feedback, clock=SystemClock(), transport=transport,
                 client_options={"max_attempts": 2, "sleep": sleep})
    [options] = made
    assert options["transport"] is transport and options["max_attempts"] == 2 and options["sleep"] is sleep
    assert transport.calls >= 1


def test_a_truncated_page_is_read_again_not_half_applied(system: System) -> None:
    """The page's JSON is cut in the middle: nothing of it is applied, it is read again whole."""
    numbers = ["TR-1", "TR-2"]
    injection, feedback = build(system, numbers, batch_size=1000)
    assert run(system, injection)["status"] == "OK"
    wallet_history(system, numbers, random.Random(2))
    spoiled = Faulty(lambda n: "truncated-json" if n == 1 else None)
    execution = run(system, feedback, spoiled)
    assert execution["status"] == "OK" and spoiled.faults == ["truncated-json"]
    records = system.wallet.all_records()
    assert execution["records_read"] == len(records)
