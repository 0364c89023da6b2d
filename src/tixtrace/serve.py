"""``tixtrace serve``: the back office (8000), the wallet (8001) and the scheduler in one process."""

from __future__ import annotations

import secrets
import threading
from datetime import UTC, datetime
from pathlib import Path

import uvicorn
from rich.console import Console
from sqlalchemy import func, select

from tixtrace.backoffice.app import create_backoffice_app
from tixtrace.backoffice.db.database import open_backoffice_database
from tixtrace.backoffice.db.tables import users
from tixtrace.backoffice.interfaces.local_urls import misdirected_interfaces
from tixtrace.backoffice.interfaces.scheduler import Scheduler, automatic_schedules_found
from tixtrace.backoffice.services.users import create_user
from tixtrace.demo import data_paths
from tixtrace.kernel.clock import SystemClock
from tixtrace.kernel.db import unit_of_work
from tixtrace.kernel.errors import BadInput, CommandCode
from tixtrace.kernel.serving import BackgroundServer, port_is_free
from tixtrace.wallet.app import create_wallet_app
from tixtrace.wallet.db.database import open_wallet_database


def serve_all(data_dir: Path, *, port: int, wallet_port: int, host: str, sandbox: bool,
              backoffice_url: str | None = None, wallet_url: str | None = None) -> None:
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
            create_user(conn, "admin", password, datetime.now(UTC))
            console.print(f"first start: back-office user [bold]admin[/bold], password [bold]{password}[/bold] "
                          "(shown once; add users with tixtrace backoffice create-user)")
    for warning in misdirected_interfaces(backoffice, host=host, wallet_port=wallet_port):
        console.print(f"[yellow]warning:[/yellow] {warning}", soft_wrap=True)
    stop = threading.Event()
    scheduler = threading.Thread(target=Scheduler(backoffice, SystemClock()).run_forever, args=(stop,),
                                 name="scheduler", daemon=True)
    try:
        with BackgroundServer(create_wallet_app(wallet, sandbox=sandbox), host=host, port=wallet_port) as wallet_base:
            scheduler.start()
            console.print(f"wallet      {wallet_base}  (API docs {wallet_base}/docs"
                          + (f", spectator app {wallet_base}/app, sandbox clock" if sandbox else "") + ")")
            console.print(f"back office http://{host}:{port}  (screens /tickets, API docs /docs)")
            console.print(f"scheduler   running: {automatic_schedules_found(backoffice)}; Ctrl-C stops everything")
            uvicorn.run(create_backoffice_app(backoffice), host=host, port=port, log_level="warning",
                        access_log=False)
    finally:
        stop.set()
        scheduler.join(timeout=30)
        backoffice.dispose()
        wallet.dispose()
