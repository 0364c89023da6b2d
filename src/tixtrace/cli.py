"""The ``tixtrace`` command: one Typer app with a sub-app per service (DESIGN section 7).

``main`` is the console script: a bad option value (a port out of range, a number that is not one
...) is one line on stderr and exit 2, never a traceback nor a framed panel (DESIGN section 7).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from tixtrace.backoffice.cli import app as backoffice_app
from tixtrace.demo import run_demo
from tixtrace.kernel.errors import TixtraceError
from tixtrace.serve import serve_all
from tixtrace.wallet.cli import app as wallet_app

app = typer.Typer(
    help="tixtrace: every change of ownership of a mobile ticket, traced in the ticketing back office.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(wallet_app, name="wallet", help="The mobile wallet service (the TIXNGO role).")
app.add_typer(backoffice_app, name="backoffice", help="The ticketing back office (the S-360 role).")


DataDir = Annotated[Path, typer.Option("--data-dir", help="Where the SQLite files of both services live.")]


@app.command()
def demo(
    data_dir: DataDir = Path("tixtrace-data"),
    tickets: Annotated[int, typer.Option("--tickets", min=1, max=100_000,
                                         help="Tickets in this round (1 to 100000).")] = 1000,
    wallet_port: Annotated[int, typer.Option(min=1, max=65535, help="Port of the wallet during the demo (keep "
                                                                    "8001 to browse with tixtrace serve "
                                                                    "afterwards).")] = 8001,
) -> None:
    """The main job on SQLite: inject tickets, play spectators' transfers, retrieve ticket status, report.

    Run it again on the same directory to add a round."""

    try:
        run_demo(data_dir, tickets, wallet_port=wallet_port)
    except TixtraceError as exc:
        Console(stderr=True).print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(1) from exc


@app.command()
def serve(
    data_dir: DataDir = Path("tixtrace-data"),
    port: Annotated[int, typer.Option(min=1, max=65535, help="Back-office port.")] = 8000,
    wallet_port: Annotated[int, typer.Option(min=1, max=65535, help="Wallet port.")] = 8001,
    host: Annotated[str, typer.Option(help="Address both services listen on.")] = "127.0.0.1",
    sandbox: Annotated[bool, typer.Option("--sandbox", help="Wallet sandbox: test clock, passwordless "
                                                            "spectator sign-in and the spectator app page.")] = False,
    backoffice_database_url: Annotated[str | None, typer.Option(
        envvar="TIXTRACE_BACKOFFICE_DATABASE_URL", help="Instead of DATA_DIR/backoffice.db.")] = None,
    wallet_database_url: Annotated[str | None, typer.Option(
        envvar="TIXTRACE_WALLET_DATABASE_URL", help="Instead of DATA_DIR/wallet.db.")] = None,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes of each service (1: everything "
                                                             "in this process).")] = 1,
) -> None:
    """Back office, wallet and scheduler in one process (Ctrl-C stops all three)."""
    try:
        serve_all(data_dir, port=port, wallet_port=wallet_port, host=host, sandbox=sandbox,
                  backoffice_url=backoffice_database_url, wallet_url=wallet_database_url, workers=workers)
    except TixtraceError as exc:
        Console(stderr=True).print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(1) from exc


def main(args: list[str] | None = None) -> None:
    """Run the command line; a usage error is ``error: <what>`` in one line (with where to find help)."""
    try:
        code = app(args=args, prog_name="tixtrace", standalone_mode=False)
    except typer.Abort:  # Ctrl-C or EOF at a prompt
        print("aborted", file=sys.stderr)
        sys.exit(1)
    except typer.TyperException as exc:  # Typer's (vendored) click exceptions: usage errors and the like
        context = getattr(exc, "ctx", None)
        if type(exc).__name__ == "NoArgsIsHelpError" and context is not None:  # no_args_is_help: the help
            text = context.get_help()  # Rich prints it itself and returns ""
            if text.strip():
                print(text, file=sys.stderr)
        else:
            message = " ".join(str(getattr(exc, "format_message", exc.__str__)()).split())
            hint = f" (see {context.command_path} --help)" if context is not None else ""
            print(f"error: {message}{hint}", file=sys.stderr)
        sys.exit(int(getattr(exc, "exit_code", 2)))
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
