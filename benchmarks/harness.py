"""Shared pieces of the benchmarks: fresh databases, services in their own process, peak memory.

Services run as real ``tixtrace`` processes on loopback, as in production: the benchmark process
is the client, so the two cores are shared between client and server as they would be on one host.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

PG_ADMIN_URL = os.environ.get("TIXTRACE_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
TIXTRACE = [sys.executable, "-m", "tixtrace.cli"]


@contextmanager
def fresh_database(kind: str, name: str) -> Iterator[str]:
    """An empty database URL of ``kind`` (sqlite|postgresql), removed afterwards."""
    if kind == "sqlite":
        directory = Path(tempfile.mkdtemp(prefix=f"tixtrace-bench-{name}-"))
        try:
            yield f"sqlite:///{directory / (name + '.db')}"
        finally:
            shutil.rmtree(directory, ignore_errors=True)
        return
    if kind != "postgresql":
        raise SystemExit(f"--database must be sqlite or postgresql, got {kind!r}")
    database = f"tixtrace_bench_{name}_{os.getpid()}"  # two benchmarks at once never drop each other's
    admin = create_engine(PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://", 1),
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{database}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{database}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        admin.dispose()


def create_organizer(database_url: str, email: str = "bench@organizer.example") -> tuple[str, str]:
    out = subprocess.run([*TIXTRACE, "wallet", "create-organizer", "--database-url", database_url,
                          "--email", email, "--json"], check=True, capture_output=True, text=True).stdout
    data = json.loads(out)
    return data["email"], data["apiKey"]


@contextmanager
def serve(args: list[str], port: int) -> Iterator[str]:
    """Run ``tixtrace <args> --port PORT`` until the block ends; yields the base URL once healthy."""
    with serve_process(args, port) as (base, _process):
        yield base


@contextmanager
def serve_process(args: list[str], port: int) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`serve`, yielding the server's process too (to read its memory). Refuses a busy port: another
    server's health answer would be taken for this one's."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers do: TIME_WAIT is not busy
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            raise SystemExit(f"port {port} is busy; pass another --port") from None
    process = subprocess.Popen([*TIXTRACE, *args, "--port", str(port)], stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"server {' '.join(args)} did not start")
            time.sleep(0.1)
        yield base, process
    finally:
        process.terminate()
        process.wait(timeout=30)


def parser(doc: str | None, port: int) -> argparse.ArgumentParser:
    """The options every benchmark takes: --tickets, --database, --port, --json."""
    options = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    options.add_argument("--tickets", type=int, default=100_000)
    options.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    options.add_argument("--port", type=int, default=port)
    options.add_argument("--json", action="store_true")
    return options


@contextmanager
def organizer_client(database: str, port: int) -> Iterator[httpx.Client]:
    """A fresh wallet database served on ``port``, and an HTTP client logged in as its organizer."""
    with fresh_database(database, "wallet") as url:
        auth = create_organizer(url)
        with serve(["wallet", "serve", "--database-url", url], port) as base, \
                httpx.Client(base_url=base, auth=auth, timeout=120) as client:
            yield client


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def report(result: dict[str, object], as_json: bool) -> None:
    if as_json:
        print(json.dumps(result))
        return
    width = max(len(k) for k in result)
    for key, value in result.items():
        print(f"{key:<{width}}  {value}")


@contextmanager
def sandbox_wallet(database: str, port: int, name: str = "wallet",
                   workers: int = 1) -> Iterator[tuple[str, tuple[str, str]]]:
    """A fresh wallet database ``name`` served on ``port`` in sandbox mode (passwordless spectator
    sign-in, for benchmarks that act as spectators) by ``workers`` processes; yields its base URL and
    organizer credentials."""
    with fresh_database(database, name) as url:
        auth = create_organizer(url)
        with serve(["wallet", "serve", "--database-url", url, "--sandbox", "--workers", str(workers)], port) as base:
            yield base, auth


@contextmanager
def background(args: list[str]) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``tixtrace <args>`` (a process that serves no port, e.g. the scheduler) until the block
    ends; it is stopped with SIGTERM, as an operator's service manager would."""
    process = subprocess.Popen([*TIXTRACE, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.2)
        if process.poll() is not None:
            raise SystemExit(f"{' '.join(args)} ended at once (exit {process.returncode})")
        yield process
    finally:
        process.terminate()
        process.wait(timeout=60)
