"""``tixtrace wallet ...`` commands."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console

from tixtrace.kernel.clock import SystemClock
from tixtrace.kernel.db import missing_sqlite_file, unit_of_work
from tixtrace.kernel.errors import TixtraceError
from tixtrace.kernel.serving import serve_factory
from tixtrace.wallet.app import DATABASE_URL_VARIABLE, SANDBOX_VARIABLE
from tixtrace.wallet.db.database import open_wallet_database
from tixtrace.wallet.services.organizers import create_organizer as create
from tixtrace.wallet.services.organizers import rotate_key as rotate

app = typer.Typer(no_args_is_help=True)
console = Console()

DatabaseUrl = Annotated[str, typer.Option(
    "--database-url", envvar="TIXTRACE_WALLET_DATABASE_URL",
    help="sqlite:///path/wallet.db or postgresql://user@host/db (env TIXTRACE_WALLET_DATABASE_URL).")]


def _open(url: str):  # type: ignore[no-untyped-def]
    try:
        return open_wallet_database(url)
    except TixtraceError as exc:
        console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(2) from exc


@app.command()
def migrate(database_url: DatabaseUrl) -> None:
    """Bring the wallet database to the latest migration (every command does this first anyway)."""
    _open(database_url).dispose()
    console.print("wallet database is up to date")


@app.command("create-organizer")
def create_organizer(
    database_url: DatabaseUrl,
    email: Annotated[str, typer.Option(help="The organizer admin's e-mail: the login of the organizer API.")],
    as_json: Annotated[bool, typer.Option("--json", help='Print {"email": ..., "apiKey": ...} only.')] = False,
) -> None:
    """Create an organizer and print its API key. The key is shown this once: it is stored hashed."""

    engine = _open(database_url)
    try:
        with unit_of_work(engine) as conn:
            organizer, api_key = create(conn, SystemClock(), email)
    except TixtraceError as exc:
        console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()
    if as_json:
        print(json.dumps({"email": organizer.email, "apiKey": api_key}))
    else:
        console.print(f"organizer [bold]{organizer.email}[/bold] created")
        console.print(f"API key (shown once, keep it): [bold]{api_key}[/bold]")


@app.command("rotate-key")
def rotate_key(
    database_url: DatabaseUrl,
    email: Annotated[str, typer.Option(help="The organizer admin's e-mail.")],
    as_json: Annotated[bool, typer.Option("--json", help='Print {"email": ..., "apiKey": ...} only.')] = False,
) -> None:
    """Give an organizer a new API key and print it once; the old key stops working at once."""

    try:
        missing = missing_sqlite_file(database_url)
    except TixtraceError:
        missing = None  # _open says what is wrong with it
    if missing is not None:  # DESIGN section 7: only migrate, serve and create-organizer create a database
        console.print(f"[red]error:[/red] no wallet database at {missing}; run migrate first")
        raise typer.Exit(2)
    engine = _open(database_url)
    try:
        with unit_of_work(engine) as conn:
            organizer, api_key = rotate(conn, email)
    except TixtraceError as exc:
        console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()
    if as_json:
        print(json.dumps({"email": organizer.email, "apiKey": api_key}))
    else:
        console.print(f"new API key of [bold]{organizer.email}[/bold] (shown once; the old one no longer works): "
                      f"[bold]{api_key}[/bold]")


@app.command()
def serve(
    database_url: DatabaseUrl,
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port to listen on.")] = 8001,
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    sandbox: Annotated[bool, typer.Option(
        "--sandbox", help="Add the test clock (/sandbox/clock) and passwordless spectator sign-in.")] = False,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes answering on the port: a request "
                                         "that holds one (a large body being parsed) leaves the others free.")] = 1,
) -> None:
    """Serve the wallet's organizer and spectator APIs (docs at /docs)."""
    _open(database_url).dispose()  # migrated once, here, before the workers open it
    console.print(f"wallet listening on http://{host}:{port} (API docs: /docs){' [sandbox]' if sandbox else ''}"
                  + (f", {workers} worker processes" if workers > 1 else ""))
    serve_factory("tixtrace.wallet.app:wallet_app_from_environment", host=host, port=port, workers=workers,
                  environment={DATABASE_URL_VARIABLE: database_url,
                               SANDBOX_VARIABLE: "1" if sandbox else "0"})
