"""``tixtrace serve``: the back office (8000), the wallet (8001) and the scheduler in one process, or
with ``--workers N`` the back office's N worker processes, the wallet's N in a child process, and the
scheduler beside the back office's supervisor."""

from __future__ import annotations

import multiprocessing
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
from rich.console import Console
from sqlalchemy import Engine, func, select

from tixtrace.backoffice.app import DATABASE_URL_VARIABLE as BACKOFFICE_URL_VARIABLE
from tixtrace.backoffice.db.database import open_backoffice_database
from tixtrace.backoffice.db.tables import users
from tixtrace.backoffice.domain.executions import CLI
from tixtrace.backoffice.interfaces.local_urls import misdirected_interfaces
from tixtrace.backoffice.interfaces.scheduler import Scheduler, automatic_schedules_found
from tixtrace.backoffice.services.users import create_user
from tixtrace.demo import data_paths
from tixtrace.kernel.clock import SystemClock
from tixtrace.kernel.db import unit_of_work
from tixtrace.kernel.errors import BadInput, CommandCode, Conflict, TixtraceError
from tixtrace.kernel.serving import BackgroundServer, port_is_free, serve_factory
from tixtrace.wallet.app import DATABASE_URL_VARIABLE as WALLET_URL_VARIABLE
from tixtrace.wallet.app import SANDBOX_VARIABLE, create_wallet_app
from tixtrace.wallet.db.database import open_wallet_database


def serve_all(data_dir: Path, *, port: int, wallet_port: int, host: str, sandbox: bool,
              backoffice_url: str | None = None, wallet_url: str | None = None, workers: int = 1) -> None:
    console = Console()
    for wanted in (port, wallet_port):
        if not port_is_free(host, wanted):
            raise BadInput(f"port {wanted} on {host} is in use; pass --port / --wallet-port",
                           code=CommandCode.PORT_IN_USE)
    data_dir.mkdir(parents=True, exist_ok=True)
    default_backoffice, default_wallet = data_paths(data_dir)
    backoffice = open_backoffice_database(backoffice_url or default_backoffice)
    wallet = open_wallet_database(wallet_url or default_wallet)
    with unit_of_work(backoffice) as conn:
        if not conn.scalar(select(func.count()).select_from(users)):
            password = secrets.token_urlsafe(12)
            create_user(conn, "admin", password, datetime.now(UTC), actor=CLI)
            console.print(f"first start: back-office user [bold]admin[/bold], password [bold]{password}[/bold] "
                          "(shown once; add users with tixtrace backoffice create-user)")
    for warning in misdirected_interfaces(backoffice, host=host, wallet_port=wallet_port):
        console.print(f"[yellow]warning:[/yellow] {warning}", soft_wrap=True)
    stop = threading.Event()
    scheduler = threading.Thread(target=_schedule, args=(Scheduler(backoffice, SystemClock()), stop, console),
                                 name="scheduler", daemon=True)
    try:
        with _wallet(wallet, wallet_url or default_wallet, host, wallet_port, sandbox, workers) as wallet_base:
            scheduler.start()
            console.print(f"wallet      {wallet_base}  (API docs {wallet_base}/docs"
                          + (f", spectator app {wallet_base}/app, sandbox clock" if sandbox else "") + ")")
            console.print(f"back office http://{host}:{port}  (screens /tickets, API docs /docs)"
                          + (f"; {workers} worker processes each" if workers > 1 else ""))
            console.print(f"scheduler   running: {automatic_schedules_found(backoffice)}; Ctrl-C stops everything")
            serve_factory("tixtrace.backoffice.app:backoffice_app_from_environment", host=host, port=port,
                          workers=workers,
                          environment={BACKOFFICE_URL_VARIABLE: backoffice_url or default_backoffice})
    finally:
        stop.set()
        if scheduler.is_alive():
            scheduler.join(timeout=30)
        backoffice.dispose()
        wallet.dispose()


def _schedule(scheduler: Scheduler, stop: threading.Event, console: Console) -> None:
    """The scheduler thread: on SQLite, one scheduler per database, so a scheduler already running
    on it (``tixtrace backoffice scheduler``) leaves this one out, with one line saying so."""
    try:
        scheduler.run_forever(stop)
    except TixtraceError as exc:
        console.print(f"[yellow]warning:[/yellow] the scheduler of serve did not start: {exc.message}", soft_wrap=True)


@contextmanager
def _wallet(engine: Engine, url: str, host: str, port: int, sandbox: bool, workers: int) -> Iterator[str]:
    """The wallet, served while the block runs: in a thread of this process with one worker, else by
    uvicorn's supervisor in a child process with ``workers`` processes of its own."""
    if workers == 1:
        with BackgroundServer(create_wallet_app(engine, sandbox=sandbox), host=host, port=port) as base:
            yield base
        return
    child = multiprocessing.get_context("spawn").Process(
        target=serve_factory, args=("tixtrace.wallet.app:wallet_app_from_environment",), name="wallet",
        kwargs={"host": host, "port": port, "workers": workers,
                "environment": {WALLET_URL_VARIABLE: url, SANDBOX_VARIABLE: "1" if sandbox else "0"}})
    child.start()
    base = f"http://{host}:{port}"
    try:
        deadline = time.monotonic() + 60
        while not _answers(f"{base}/health"):
            if not child.is_alive() or time.monotonic() > deadline:
                raise Conflict(f"the wallet did not start on {base} within a minute",
                               code=CommandCode.SERVICE_DID_NOT_START)
            time.sleep(0.1)
        yield base
    finally:
        child.terminate()
        child.join(timeout=30)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
