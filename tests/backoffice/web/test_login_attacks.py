"""The login lock-out under attack (issue 12, item 6; DESIGN 10): the throttle lives in the database.

- 10,000 requests with new long names used to push a locked name out of a 10,000-entry in-memory table;
- 60 parallel guesses against a real server used to get about 20 passwords checked against a limit of 10;
- two processes (two apps) on one database each allowed the limit;
- a secret key shorter than 32 bytes was accepted.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from tests.support.backoffice import PASSWORD, USER
from tixtrace.backoffice.app import create_backoffice_app
from tixtrace.backoffice.db.tables import login_attempts
from tixtrace.backoffice.secret_key import SECRET_ENV, SecretKeyTooShort
from tixtrace.backoffice.services.users import Authenticator
from tixtrace.cli import app as cli
from tixtrace.kernel.clock import TestClock
from tixtrace.kernel.db import make_engine, unit_of_work
from tixtrace.kernel.serving import BackgroundServer

LIMIT = 10


class CountingAuthenticator(Authenticator):
    """Counts the passwords actually checked (each call is one)."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.checked = 0
        self._count_lock = threading.Lock()

    def authenticate(self, name: str, password: str) -> str:
        with self._count_lock:
            self.checked += 1
        return super().authenticate(name, password)


@pytest.mark.slow  # a load: 10,000 sign-in attempts, each a commit
def test_10000_new_long_names_do_not_unlock_a_locked_name(engine: Engine, clock: TestClock) -> None:
    """A name locked by 10 failures, then 10,000 requests with new 1,000-character names (8 clients at
    once against a real server): the right password is still refused."""
    app = create_backoffice_app(engine, clock)
    with BackgroundServer(app) as url:
        with httpx.Client(base_url=url, timeout=60) as client:
            for attempt in range(LIMIT):
                assert client.get("/api/contacts", auth=(USER, f"wrong {attempt}")).status_code == 401
            assert client.get("/api/contacts", auth=(USER, PASSWORD)).status_code == 429

        def flood(start: int) -> list[int]:
            with httpx.Client(base_url=url, timeout=60) as client:
                return [client.get("/api/contacts", auth=(f"{n:05d}" + "x" * 995, "guess")).status_code
                        for n in range(start, 10_000, 8)]

        with ThreadPoolExecutor(8) as pool:
            statuses = [status for part in pool.map(flood, range(8)) for status in part]
        assert len(statuses) == 10_000 and set(statuses) == {401}
        still = httpx.get(f"{url}/api/contacts", auth=(USER, PASSWORD), timeout=60)
    assert still.status_code == 429 and int(still.headers["Retry-After"]) == 300
    with unit_of_work(engine, write=False) as conn:  # one fixed-size row per name tried this window
        assert conn.scalar(select(func.count()).select_from(login_attempts)) == 10_001
        assert conn.scalar(select(func.max(func.length(login_attempts.c.name_key)))) == 64


def test_60_parallel_guesses_check_at_most_the_limit(engine: Engine, clock: TestClock) -> None:
    """60 threads guess at once against a real server: at most 10 passwords are checked, 50 are 429."""
    app = create_backoffice_app(engine, clock)
    counting = CountingAuthenticator(engine)
    app.state.authenticator = counting
    start = threading.Barrier(60)

    def guess(n: int) -> int:
        start.wait()
        return httpx.get(f"{url}/api/contacts", auth=(USER, f"guess {n}"), timeout=60).status_code

    with BackgroundServer(app) as url, ThreadPoolExecutor(60) as pool:
        statuses = list(pool.map(guess, range(60)))
    print(f"60 parallel guesses: {counting.checked} passwords checked, "
          f"{statuses.count(401)} x 401, {statuses.count(429)} x 429")
    assert counting.checked <= LIMIT
    assert statuses.count(401) == counting.checked and statuses.count(429) == 60 - counting.checked
    assert counting.checked == LIMIT  # the limit is reached, not undershot


def test_the_throttle_is_shared_by_two_apps_on_one_database(engine: Engine, backoffice_url: str,
                                                            clock: TestClock) -> None:
    """Two processes behind one address (two apps, two engines, one database) share one budget."""
    other_engine = make_engine(backoffice_url)
    try:
        with TestClient(create_backoffice_app(engine, clock)) as one, \
                TestClient(create_backoffice_app(other_engine, clock)) as two:
            for attempt in range(LIMIT):
                client = one if attempt % 2 else two
                assert client.get("/api/contacts", auth=(USER, f"wrong {attempt}")).status_code == 401
            assert one.get("/api/contacts", auth=(USER, PASSWORD)).status_code == 429
            assert two.get("/api/contacts", auth=(USER, PASSWORD)).status_code == 429
    finally:
        other_engine.dispose()


def test_a_secret_key_shorter_than_32_bytes_is_refused_at_startup(
        engine: Engine, backoffice_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SECRET_ENV, "too-short-a-secret")
    with pytest.raises(SecretKeyTooShort, match="at least 32"):
        create_backoffice_app(engine)
    result = CliRunner().invoke(cli, ["backoffice", "serve", "--database-url", backoffice_url])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {SECRET_ENV} has 18 bytes; it needs at least 32")
    monkeypatch.setenv(SECRET_ENV, "x" * 32)
    create_backoffice_app(engine)
