"""``tixtrace backoffice run`` and ``tixtrace backoffice scheduler``: the interface functions from the CLI."""

from __future__ import annotations

import json
import logging
import signal
import threading
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from tixtrace.backoffice.domain.executions import COUNTERS
from tixtrace.backoffice.interfaces.executions import run_schedule
from tixtrace.backoffice.interfaces.scheduler import Scheduler
from tixtrace.kernel.clock import SystemClock, isoformat
from tixtrace.kernel.errors import TixtraceError

out = Console(highlight=False)

DatabaseUrl = Annotated[str, typer.Option(
    "--database-url", envvar="TIXTRACE_BACKOFFICE_DATABASE_URL", show_envvar=True,
    help="sqlite:///path/backoffice.db or postgresql://user@host/db")]


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def summary(execution: Any) -> dict[str, Any]:
    return {"id": execution["id"], "scheduleId": execution["schedule_id"], "function": execution["function"],
            "status": execution["status"], "startedAt": isoformat(execution["started_at"]),
            "endedAt": isoformat(execution["ended_at"]),
            "counters": {_camel(name): execution[name] for name in COUNTERS}}


def register(app: typer.Typer, open_database: Any) -> None:
    @app.command("run")
    def run_command(
        schedule_id: Annotated[int, typer.Argument(help="The schedule to run once.")],
        database_url: DatabaseUrl,
        as_json: Annotated[bool, typer.Option("--json", help="Print the execution summary as JSON.")] = False,
    ) -> None:
        """Run one execution of a schedule now and print its summary; exit code 1 if it ends ERROR."""
        engine = open_database(database_url)
        try:
            execution = run_schedule(engine, schedule_id, clock=SystemClock())
        except TixtraceError as exc:
            out.print(f"[red]refused:[/red] {exc.message}")
            raise typer.Exit(1) from exc
        finally:
            engine.dispose()
        result = summary(execution)
        if as_json:
            print(json.dumps(result))
        else:
            table = Table(title=f"execution {result['id']} of schedule {schedule_id}: {result['function']}")
            table.add_column("status / counter")
            table.add_column("value", justify="right")
            table.add_row("status", result["status"])
            for name, value in result["counters"].items():
                table.add_row(name, str(value))
            out.print(table)
        if result["status"] == "ERROR":
            raise typer.Exit(1)

    @app.command("upload")
    def upload_command(
        schedule_id: Annotated[int, typer.Argument(help="A RETRIEVE_TICKET_STATUS schedule.")],
        file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True,
                                             help='JSON: a list of lifecycle records, or {"records": [...]}.')],
        database_url: DatabaseUrl,
    ) -> None:
        """Process a file of lifecycle records as if the wallet had sent them (support tool).

        The pagination key does not move; a record whose recordId is parked replaces the parked one."""
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            out.print(f"[red]error:[/red] {file} is not a JSON file: {exc}")
            raise typer.Exit(1) from exc
        records = data.get("records") if isinstance(data, dict) else data
        if not isinstance(records, list):
            out.print(f'[red]error:[/red] {file} must hold a list of records or {{"records": [...]}}')
            raise typer.Exit(1)
        engine = open_database(database_url)
        try:
            execution = run_schedule(engine, schedule_id, clock=SystemClock(), upload=records)
        except TixtraceError as exc:
            out.print(f"[red]refused:[/red] {exc.message}")
            raise typer.Exit(1) from exc
        finally:
            engine.dispose()
        result = summary(execution)
        out.print(f"execution {result['id']}: {result['status']} {result['counters']}")
        if result["status"] == "ERROR":
            raise typer.Exit(1)

    @app.command("scheduler")
    def scheduler_command(
        database_url: DatabaseUrl,
        poll_seconds: Annotated[float, typer.Option(help="How often to look for due schedules.")] = 1.0,
    ) -> None:
        """Run the AUTOMATIC schedules when they are due, until interrupted (Ctrl-C or SIGTERM)."""
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
        engine = open_database(database_url)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        out.print("scheduler running (Ctrl-C to stop)")
        try:
            Scheduler(engine, SystemClock()).run_forever(stop, poll_seconds)
        except KeyboardInterrupt:
            stop.set()
        finally:
            engine.dispose()
