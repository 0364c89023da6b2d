"""Shared pieces of the benchmarks: fresh databases, services in their own process, peak memory.

Services run as real ``tixtrace`` processes on loopback, as in production: the benchmark process
is the client, so the two cores are shared between client and server as they would be on one host.

PostgreSQL, two servers (``--postgres``, every benchmark that takes ``--database``):

- ``machine`` (default): the server this machine has on 127.0.0.1:5432 (``TIXTRACE_BENCH_POSTGRES_URL``
  overrides it): Debian's defaults, 128 MB shared_buffers, autovacuum off.
- ``sized``: a temporary cluster of Debian's binaries (``initdb`` into a temporary folder, the
  settings of ``SIZED_SETTINGS`` on the command line), started for this run and removed afterwards;
  sized for 1,000,000 tickets on this machine, durable (fsync, synchronous_commit and full-page writes
  as shipped), autovacuum on. ``docs/postgresql.md`` says why each setting.

A benchmark takes the option with ``args = parse_args(options)`` instead of ``options.parse_args()``;
``report`` then says which server was used (``"postgres"``): its main settings, the size of each
database of the run when it was dropped (``databaseMb``) and what its sessions read (``databaseIo``:
blocks read from outside shared_buffers, the share found in shared_buffers, temporary files written
by sorts and hashes beyond work_mem) and, for a sized cluster (which this run alone uses), the WAL it
wrote and its checkpoints (CREATE and DROP DATABASE each request one).
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import glob
import json
import os
import pwd
import resource
import shutil
import signal
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
from sqlalchemy.pool import NullPool

PG_ADMIN_URL = os.environ.get("TIXTRACE_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
TIXTRACE = [sys.executable, "-m", "tixtrace.cli"]

# The server sized for the data: 1,000,000 tickets (both databases about 4.5 GB: 450 MB measured at
# 100,000 tickets, benchmarks/RESULTS.md) on this machine (2 cores, 24 GiB). Durability is not traded: fsync,
# synchronous_commit and full_page_writes keep their defaults (on). docs/postgresql.md says why each.
SIZED_SETTINGS = {
    "shared_buffers": "4GB",              # the working set of 1M tickets stays in PostgreSQL's own cache
    "effective_cache_size": "16GB",       # planner: what the OS page cache holds besides
    "work_mem": "64MB",                   # per sort/hash: the feedback's set-based joins over a page
    "maintenance_work_mem": "1GB",        # index builds, VACUUM
    "wal_buffers": "64MB",                # bulk pages write WAL in large bursts
    "max_wal_size": "8GB",                # no checkpoint forced in the middle of a catch-up
    "min_wal_size": "1GB",
    "checkpoint_timeout": "15min",
    "checkpoint_completion_target": "0.9",
    "random_page_cost": "1.1",            # SSD-backed disk
    "effective_io_concurrency": "200",
    "max_connections": "200",             # --workers N, several schedulers, each with its pool
    "jit": "off",                         # short OLTP statements: compilation costs more than it saves
    "autovacuum": "on",                   # as production: the feedback rewrites tickets and lines
    "autovacuum_naptime": "15s",
    "autovacuum_vacuum_cost_limit": "2000",
    "autovacuum_vacuum_scale_factor": "0.05",
    "autovacuum_analyze_scale_factor": "0.02",
}
# What the JSON output reports of the server used, whichever it is.
REPORTED_SETTINGS = ("server_version", "shared_buffers", "effective_cache_size", "work_mem",
                     "maintenance_work_mem", "max_wal_size", "autovacuum", "synchronous_commit", "fsync", "jit")
_server: dict[str, object] | None = None  # the PostgreSQL server of this run, once parse_args chose it
_database_mb: dict[str, float] = {}  # size of each PostgreSQL database of this run, read before it is dropped
_database_io: dict[str, dict[str, float]] = {}  # and what its sessions read (pg_stat_database), idem
_cleanup = contextlib.ExitStack()  # a temporary cluster's stop, run at exit (also after Ctrl-C or SIGTERM)


def postgres_binaries() -> Path | None:
    """The bin folder of Debian's newest PostgreSQL (/usr/lib/postgresql/<version>/bin), if any."""
    found = [Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/postgres")]
    return max(found, key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0, default=None)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def temporary_cluster(settings: dict[str, str]) -> Iterator[str]:
    """A PostgreSQL cluster of its own: Debian's binaries, ``initdb`` into a temporary folder (trust
    authentication on loopback, UTF8, superuser ``postgres``), started on a free port of 127.0.0.1 with
    ``settings`` on the command line; yields its admin URL (database ``postgres``). Stopped (fast
    shutdown) and its folder removed when the block ends, whether it ends well, on an error or on Ctrl-C.

    PostgreSQL refuses to run as root: as root (this machine's benchmarks and CI) the cluster runs as
    the ``postgres`` system user that Debian's package creates, otherwise as the current user."""
    binaries = postgres_binaries()
    if binaries is None:
        raise RuntimeError("no PostgreSQL binaries in /usr/lib/postgresql/*/bin (Debian's postgresql package)")
    user = None
    if os.geteuid() == 0:
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            raise RuntimeError("running as root and there is no 'postgres' user to run PostgreSQL as") from None
    folder = Path(tempfile.mkdtemp(prefix="tixtrace-pg-"))
    process: subprocess.Popen[bytes] | None = None
    try:
        if user is not None:
            os.chown(folder, user.pw_uid, user.pw_gid)
        uid, gid = (user.pw_uid, user.pw_gid) if user is not None else (None, None)
        groups: list[int] | None = [] if user is not None else None
        data, log = folder / "data", folder / "server.log"
        subprocess.run([str(binaries / "initdb"), "--pgdata", str(data), "--username", "postgres",
                        "--auth", "trust", "--encoding", "UTF8", "--locale", "C.UTF-8", "--no-sync"],
                       check=True, capture_output=True, cwd=folder, user=uid, group=gid, extra_groups=groups)
        port = _free_port()
        options = {**settings, "listen_addresses": "127.0.0.1", "port": str(port),
                   "unix_socket_directories": str(folder)}
        with open(log, "wb") as log_file:
            # A session of its own: Ctrl-C reaches this process only, which then stops the cluster in order.
            process = subprocess.Popen(
                [str(binaries / "postgres"), "-D", str(data),
                 *[arg for name, value in options.items() for arg in ("-c", f"{name}={value}")]],
                stdout=log_file, stderr=subprocess.STDOUT, cwd=folder, start_new_session=True,
                user=uid, group=gid, extra_groups=groups)
        url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
        engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1), poolclass=NullPool)
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the temporary PostgreSQL did not start:\n{log.read_text()[-2000:]}")
            try:
                with engine.connect() as conn:
                    conn.execute(text("SELECT 1"))
                break
            except Exception:  # not accepting connections yet
                time.sleep(0.1)
        engine.dispose()
        yield url
    finally:
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGINT)  # fast shutdown: roll back sessions, checkpoint, exit
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.send_signal(signal.SIGQUIT)  # immediate shutdown
                process.wait(timeout=30)
        shutil.rmtree(folder, ignore_errors=True)


def server_settings(admin_url: str) -> dict[str, str]:
    """The main settings of a running server (``REPORTED_SETTINGS``), with their units."""
    engine = create_engine(admin_url.replace("postgresql://", "postgresql+psycopg://", 1), poolclass=NullPool)
    with engine.connect() as conn:
        values = {name: conn.execute(text(f"SHOW {name}")).scalar_one() for name in REPORTED_SETTINGS}
    engine.dispose()
    return values


def cluster_activity(admin_url: str) -> dict[str, object]:
    """What a server wrote since it started: WAL and checkpoints (meaningful for a cluster of this run
    alone, not for the machine's server that other runs share)."""
    engine = create_engine(admin_url.replace("postgresql://", "postgresql+psycopg://", 1), poolclass=NullPool)
    with engine.connect() as conn:
        wal = conn.execute(text("SELECT wal_bytes FROM pg_stat_wal")).scalar_one()
        timed, requested = conn.execute(text("SELECT checkpoints_timed, checkpoints_req FROM pg_stat_bgwriter")).one()
    engine.dispose()
    return {"walMb": round(int(wal) / 2**20), "checkpoints": {"timed": timed, "requested": requested}}


def _stop_on_sigterm(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds the with-blocks (databases dropped), then atexit stops the cluster


def use_postgres(server: str) -> str:
    """Choose the PostgreSQL server of this run (``machine`` or ``sized``, see the module's doc) for
    ``fresh_database`` and ``report``; a sized cluster is started now and stopped when the process
    exits. Returns its admin URL."""
    global PG_ADMIN_URL, _server
    if server == "sized":
        PG_ADMIN_URL = _cleanup.enter_context(temporary_cluster(SIZED_SETTINGS))
        atexit.register(_cleanup.close)
        signal.signal(signal.SIGTERM, _stop_on_sigterm)
    elif server != "machine":
        raise SystemExit(f"--postgres must be machine or sized, got {server!r}")
    _server = {"server": server, **server_settings(PG_ADMIN_URL)}
    return PG_ADMIN_URL


def parse_args(options: argparse.ArgumentParser) -> argparse.Namespace:
    """``options.parse_args()``, and with ``--database postgresql`` the server that ``--postgres`` names."""
    args = options.parse_args()
    if getattr(args, "database", None) == "postgresql":
        use_postgres(getattr(args, "postgres", "machine"))
    return args


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
            with contextlib.suppress(Exception):  # a size not read never keeps the database from being dropped
                size = conn.execute(text("SELECT pg_database_size(:name)"), {"name": database}).scalar_one()
                _database_mb[name] = round(size / 2**20, 1)
                read, hit, temp = conn.execute(text(
                    "SELECT blks_read, blks_hit, temp_bytes FROM pg_stat_database WHERE datname = :name"),
                    {"name": database}).one()
                _database_io[name] = {"blocksRead": read, "hitPercent": round(100 * hit / max(hit + read, 1), 2),
                                      "tempMb": round(temp / 2**20, 1)}
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
    """The options every benchmark takes: --tickets, --database, --postgres, --port, --json; read them
    with ``parse_args``."""
    options = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    options.add_argument("--tickets", type=int, default=100_000)
    options.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    options.add_argument("--postgres", choices=["machine", "sized"], default="machine",
                         help="with --database postgresql: this machine's server (5432) or a temporary cluster "
                              "sized for the data (see benchmarks/harness.py)")
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
    """Print ``result`` (with the PostgreSQL server used, when there was one) as JSON or as a table."""
    if _server is not None:
        server = {**_server, "databaseMb": dict(_database_mb), "databaseIo": dict(_database_io)}
        if _server["server"] == "sized":
            server |= cluster_activity(PG_ADMIN_URL)
        result = {**result, "postgres": server}
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
def background(args: list[str], log: Path | None = None) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``tixtrace <args>`` (a process that serves no port, e.g. the scheduler) until the block
    ends; it is stopped with SIGTERM, as an operator's service manager would. ``log``: a file that
    receives its standard error (its log lines), else they are dropped."""
    with open(log, "wb") if log is not None else open(os.devnull, "wb") as errors:
        process = subprocess.Popen([*TIXTRACE, *args], stdout=subprocess.DEVNULL, stderr=errors)
    try:
        time.sleep(0.2)
        if process.poll() is not None:
            raise SystemExit(f"{' '.join(args)} ended at once (exit {process.returncode})")
        yield process
    finally:
        process.terminate()
        process.wait(timeout=60)


def cpu_seconds(process: subprocess.Popen[bytes]) -> float:
    """User and system CPU time of a live child process so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
