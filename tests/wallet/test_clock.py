"""W9: the wallet's clock is kept in its database, on SQLite and PostgreSQL.

A restarted wallet (a new app on the same database: ``serve`` after ``demo``) goes on from where its
clock was, never earlier than its newest record, and ticks in real time from there; every process on
the database shows the same time; one advance is more than 0 and at most 366 days (422 otherwise).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.support.wallet import ticket_payload
from tixtrace.kernel.clock import END_OF_TIME, MAX_ADVANCE_SECONDS, SystemClock, TestClock, utcnow
from tixtrace.kernel.db import unit_of_work
from tixtrace.wallet.app import create_wallet_app
from tixtrace.wallet.db.database import open_wallet_database
from tixtrace.wallet.services.organizers import create_organizer

ANA, BEA = "ana@example.com", "bea@example.com"
HOUR = 3600


@pytest.fixture
def engine(database_url: Any) -> Iterator[Engine]:
    engine = open_wallet_database(str(database_url("wallet")))
    yield engine
    engine.dispose()


@pytest.fixture
def auth(engine: Engine) -> tuple[str, str]:
    with unit_of_work(engine) as conn:
        organizer, api_key = create_organizer(conn, SystemClock(), "org@wc26.example")
    return organizer.email, api_key


def time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def wallet_now(client: TestClient, auth: tuple[str, str]) -> datetime:
    response = client.get("/sandbox/clock", auth=auth)
    assert response.status_code == 200, response.text
    return time(response.json()["now"])


def advance(client: TestClient, auth: tuple[str, str], seconds: float) -> Any:
    return client.post("/sandbox/clock/advance", json={"seconds": seconds}, auth=auth)


def spectator(client: TestClient, email: str) -> dict[str, str]:
    response = client.post("/spectator/session", json={"email": email})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def inject_and_transfer(client: TestClient, auth: tuple[str, str], ticket_id: str) -> dict[str, Any]:
    """Inject a ticket for Ana, let her app download it and start a one-hour transfer to Bea."""
    response = client.post("/organizer/tickets", json={"tickets": [ticket_payload(ticket_id, ANA)]}, auth=auth)
    assert response.json()["results"][0]["result"] == "INJECTED", response.text
    ana = spectator(client, ANA)
    assert client.get("/spectator/tickets", headers=ana).status_code == 200
    response = client.post(f"/spectator/tickets/{ticket_id}/transfers", json={"recipientEmail": BEA}, headers=ana)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def log_of(client: TestClient, auth: tuple[str, str], ticket_id: str) -> list[dict[str, Any]]:
    response = client.get(f"/organizer/tickets/{ticket_id}", auth=auth)
    assert response.status_code == 200, response.text
    return response.json()["statusLog"]  # type: ignore[no-any-return]


def test_a_restarted_wallet_goes_on_from_where_its_clock_was(engine, auth):
    with TestClient(create_wallet_app(engine, sandbox=True)) as first:
        assert advance(first, auth, 2 * HOUR).status_code == 200
        before = wallet_now(first, auth)
        assert before >= utcnow() + timedelta(seconds=2 * HOUR - 60)
    with TestClient(create_wallet_app(engine, sandbox=True)) as restarted:
        after = wallet_now(restarted, auth)
        assert after >= before
        assert after - before < timedelta(seconds=60)  # it ticks in real time, it does not jump
        assert wallet_now(restarted, auth) >= after


def test_every_process_on_the_database_shows_the_same_time(engine, auth):
    with (TestClient(create_wallet_app(engine, sandbox=True)) as one,
          TestClient(create_wallet_app(engine, sandbox=True)) as two):
        assert wallet_now(one, auth) - wallet_now(two, auth) < timedelta(seconds=60)
        moved = time(advance(one, auth, 5 * 86400).json()["now"])
        assert wallet_now(two, auth) >= moved  # the other process takes the advance up at once


def test_a_starting_wallet_is_never_earlier_than_its_newest_record(engine, auth):
    ahead = TestClock(utcnow() + timedelta(days=40))  # records written by a wallet whose clock was ahead
    with TestClient(create_wallet_app(engine, clock=ahead, sandbox=True)) as earlier:
        inject_and_transfer(earlier, auth, "T1")
        ahead.advance(90)
        assert earlier.post("/organizer/tickets/control", json={"tickets": [{"ticketId": "T1"}]},
                            auth=auth).status_code == 200
        newest = max(time(record["occurredAt"]) for record in log_of(earlier, auth, "T1"))
    assert newest >= ahead.now() - timedelta(seconds=1)
    for sandbox in (True, False):  # `serve` after `demo`, with or without --sandbox
        with TestClient(create_wallet_app(engine, sandbox=sandbox)) as restarted:
            response = restarted.post("/organizer/tickets", json={"tickets": [ticket_payload(f"T-{sandbox}", ANA)]},
                                      auth=auth)
            assert response.json()["results"][0]["result"] == "INJECTED", response.text
            injected = time(log_of(restarted, auth, f"T-{sandbox}")[0]["occurredAt"])
            assert injected >= newest  # the log stays in causal order
            if sandbox:
                assert wallet_now(restarted, auth) >= newest


def test_a_pending_transfer_still_times_out_after_a_restart(engine, auth):
    with TestClient(create_wallet_app(engine, sandbox=True)) as first:
        assert advance(first, auth, 3 * HOUR).status_code == 200  # the demo moved the clock ahead
        transfer = inject_and_transfer(first, auth, "T1")
        assert advance(first, auth, 30 * 60).status_code == 200
    expires_at = time(transfer["expiresAt"])
    with TestClient(create_wallet_app(engine, sandbox=True)) as restarted:
        left = expires_at - wallet_now(restarted, auth)
        assert timedelta(seconds=29 * 60) < left <= timedelta(seconds=30 * 60)  # not "2 h 09 min left"
        assert advance(restarted, auth, 30 * 60 + 1).status_code == 200
        log = log_of(restarted, auth, "T1")
        assert [record["status"] for record in log][-2:] == ["PENDING_TRANSFER", "FAILURE"]
        assert time(log[-1]["occurredAt"]) == expires_at
        occurred = [time(record["occurredAt"]) for record in log]
        assert occurred == sorted(occurred)


@pytest.mark.parametrize("seconds", [MAX_ADVANCE_SECONDS + 1, 1000 * 365 * 86400, 0, -1, -0.5])
def test_an_advance_out_of_range_is_a_422_naming_the_value_and_the_limit(engine, auth, seconds):
    with TestClient(create_wallet_app(engine, sandbox=True)) as client:
        before = wallet_now(client, auth)
        response = advance(client, auth, seconds)
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["code"] == "INVALID_CLOCK_ADVANCE"
        assert str(seconds) in error["message"] and str(MAX_ADVANCE_SECONDS) in error["message"]
        assert error["details"] == {"seconds": seconds, "min": 0, "max": MAX_ADVANCE_SECONDS}
        assert wallet_now(client, auth) - before < timedelta(seconds=60)  # nothing moved


def test_an_advance_of_366_days_is_allowed(engine, auth):
    with TestClient(create_wallet_app(engine, sandbox=True)) as client:
        before = wallet_now(client, auth)
        response = advance(client, auth, MAX_ADVANCE_SECONDS)
        assert response.status_code == 200, response.text
        assert time(response.json()["now"]) >= before + timedelta(days=366)


@pytest.mark.parametrize("kind", ["wallet clock", "test clock"])
def test_the_clock_never_passes_the_end_of_time(engine, auth, kind):
    """Advances of at most 366 days, repeated, used to overflow the date: a 500. Now a 422."""
    clock = TestClock(datetime(9989, 12, 31, tzinfo=UTC)) if kind == "test clock" else None
    with TestClient(create_wallet_app(engine, clock=clock, sandbox=True)) as client:
        if clock is None:
            steps = 0
            while (response := advance(client, auth, MAX_ADVANCE_SECONDS)).status_code == 200:
                steps += 1
                if steps == 3:  # skip most of the way: the offset is the wallet's to keep
                    with engine.begin() as conn:
                        conn.exec_driver_sql("UPDATE sandbox_clock SET offset_microseconds = "
                                             f"{int((datetime(9988, 1, 1, tzinfo=UTC) - utcnow()).total_seconds())}"
                                             " * 1000000")
            assert steps >= 3
        else:
            response = advance(client, auth, 2 * 86400)
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["code"] == "CLOCK_OUT_OF_RANGE"
        assert error["details"]["max"] == END_OF_TIME.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        assert wallet_now(client, auth) <= END_OF_TIME


def test_without_sandbox_the_clock_endpoints_do_not_exist(engine, auth):
    with TestClient(create_wallet_app(engine)) as plain:
        for method, path, body in (("GET", "/sandbox/clock", None),
                                   ("POST", "/sandbox/clock/advance", {"seconds": 60})):
            response = plain.request(method, path, json=body, auth=auth)
            assert response.status_code == 404, response.text
            assert response.json()["error"]["code"] == "NOT_FOUND"
