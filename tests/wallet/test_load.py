"""The load of benchmarks/load.py, for a few seconds: many spectators at once on the spectator API.

20 concurrent clients (one connection each, asyncio + httpx) play the app of 60 spectators for 3 s
(each spectator starts with one transfer out and one in pending) against a wallet served over HTTP by
uvicorn in this process (sandbox, fixed test clock, so nothing expires), on SQLite and on PostgreSQL.
It proves that under concurrency:

- no request fails: no 5xx, no unexpected status, no transport error (races between spectators are
  answered with their documented 409 / 404 and counted apart);
- no write is lost or doubled: every accepted, rejected, cancelled or started transfer the clients were
  told succeeded (plus the transfers started before the load) is exactly one lifecycle record of the
  diff feed, and nothing else is there.
"""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from tests.support.wallet import START, run
from tixtrace.kernel.clock import TestClock
from tixtrace.kernel.serving import BackgroundServer
from tixtrace.wallet.app import create_wallet_app
from tixtrace.wallet.db.database import open_wallet_database
from tixtrace.wallet.services.organizers import create_organizer

pytestmark = pytest.mark.slow  # a slow tier (load): `make test-fast` leaves it out

LOAD_SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "load.py"
CLIENTS, SPECTATORS, TICKETS, SECONDS = 20, 60, 180, 3.0


def _load_module() -> ModuleType:
    """benchmarks/load.py, imported by path (benchmarks/ is a folder of scripts, not a package)."""
    name = "tixtrace_benchmark_load"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, LOAD_SCRIPT)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up while the class is built
        spec.loader.exec_module(module)
    return sys.modules[name]


load = _load_module()


@pytest.fixture
def served_wallet(wallet_url: str) -> Iterator[tuple[str, tuple[str, str]]]:
    """A sandbox wallet served by uvicorn on loopback, and its organizer's credentials."""
    engine = open_wallet_database(wallet_url)
    clock = TestClock(START)
    organizer, api_key = run(engine, create_organizer, clock, "org@load.example")
    with BackgroundServer(create_wallet_app(engine, clock=clock, sandbox=True)) as base_url:
        yield base_url, (organizer.email, api_key)
    engine.dispose()


def feed(base_url: str, auth: tuple[str, str]) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    key = ""
    with httpx.Client(base_url=base_url, auth=auth, timeout=60) as client:
        while True:
            response = client.get("/organizer/tickets/diff", params={"paginationKey": key, "batchSize": 10_000})
            assert response.status_code == 200, response.text
            page = response.json()
            records += page["records"]
            key = page["paginationKey"]
            if not page["hasMore"]:
                return records


def test_many_spectators_at_once_get_no_error_and_lose_no_write(served_wallet: tuple[str, tuple[str, str]]) -> None:
    """20 clients × 3 s of the benchmark's mix: zero errors, every kind of request happened, and the
    feed holds exactly one record per write the clients saw succeed (none lost, none doubled)."""
    base_url, auth = served_wallet
    load.seed(base_url, auth, SPECTATORS, TICKETS)
    tokens = load.sign_in(base_url, SPECTATORS)
    pending = load.start_transfers(base_url, tokens, TICKETS)

    result = load.run_load(base_url, tokens, clients=CLIENTS, seconds=SECONDS)

    kinds = result["kinds"]
    print({"requests": result["requests"], "requestsPerSecond": result["requestsPerSecond"],
           "conflicts": result["conflicts"], "p50Ms": result["p50Ms"], "p99Ms": result["p99Ms"]})
    assert result["errors"] == 0, result["errorSamples"]
    assert result["requests"] == sum(kind["requests"] for kind in kinds.values())
    for kind in ("tickets", "profile", "transfers", "transfer"):
        assert kinds[kind]["requests"] > 0, f"no {kind} request in {result}"
    assert sum(kinds[kind]["requests"] for kind in ("accept", "reject", "cancel")) > 0, result

    def succeeded(kind: str) -> int:
        return int(kinds[kind]["requests"] - kinds[kind]["conflicts"] - kinds[kind]["errors"])

    records = feed(base_url, auth)
    seen = Counter()
    for record in records:
        transfer = record["transfer"] or {}
        seen[(record["status"], transfer.get("direction"), transfer.get("failureReason"))] += 1
    assert seen.pop(("INJECTED", None, None)) == TICKETS
    downloaded = seen.pop(("DOWNLOADED", None, None), 0)
    assert 0 < downloaded <= TICKETS, "listing tickets marks injected ones DOWNLOADED, once each"
    started = seen.pop(("PENDING_TRANSFER", "FORWARD", None), 0) + seen.pop(("TRANSFERRED", "BACKWARD", None), 0)
    assert started == pending + succeeded("transfer")
    assert seen.pop(("TRANSFERRED", "FORWARD", None), 0) == succeeded("accept")
    assert seen.pop(("FAILURE_TRANSFER", "FORWARD", "REJECTED"), 0) == succeeded("reject")
    assert seen.pop(("FAILURE_TRANSFER", "FORWARD", "CANCELLED_BY_SENDER"), 0) == succeeded("cancel")
    assert not seen, f"records nobody asked for: {seen}"
