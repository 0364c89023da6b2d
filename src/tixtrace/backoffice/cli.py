"""``tixtrace backoffice ...`` commands (DESIGN section 7): the only back-office module that speaks
Typer and Rich.

Every command that opens the database first migrates it to the latest revision. Only migrate, serve
and create-user may create a database; the others refuse a SQLite file that does not exist (exit 2,
nothing created: a typo in the path must not start an empty back office). ``--database-url`` may
also come from ``TIXTRACE_BACKOFFICE_DATABASE_URL``. Exit codes: 0 done, 1 refused (bad input, a
file with bad rows, a database that cannot be opened), 2 usage error (a missing SQLite file too).
"""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from tixtrace.backoffice.app import DATABASE_URL_VARIABLE
from tixtrace.backoffice.db.database import open_backoffice_database
from tixtrace.backoffice.domain.executions import CLI, LogLevel
from tixtrace.backoffice.interfaces.runner import reset_feed, run_schedule
from tixtrace.backoffice.interfaces.scheduler import Scheduler, automatic_schedules_found
from tixtrace.backoffice.secret_key import SecretKeyTooShort, service_secret
from tixtrace.backoffice.services.erasure import erase_contact
from tixtrace.backoffice.services.executions import ExecutionRecord, LogEntry, execution_log
from tixtrace.backoffice.services.exports import holders_csv
from tixtrace.backoffice.services.holders import HolderView, count_holders, event_by_code, holder_pages
from tixtrace.backoffice.services.imports import COLUMNS, ImportKind, ImportReport, count_rows, import_csv
from tixtrace.backoffice.services.users import create_user, disable_user, set_password
from tixtrace.kernel.clock import SystemClock, isoformat
from tixtrace.kernel.db import missing_sqlite_file, unit_of_work
from tixtrace.kernel.errors import TixtraceError
from tixtrace.kernel.serving import serve_factory

app = typer.Typer(no_args_is_help=True, pretty_exceptions_enable=False)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)
#: the interface commands' output (run, upload, scheduler): wrapped to the terminal, like the execution table
run_out = Console(highlight=False)

Workers = Annotated[int, typer.Option(min=1, max=64, help="worker processes answering on the port: a request that "
                                      "holds one (a large body being parsed) leaves the others free")]
DatabaseUrl = Annotated[str, typer.Option(
    "--database-url", envvar="TIXTRACE_BACKOFFICE_DATABASE_URL", show_envvar=True,
    help="sqlite:///path/backoffice.db or postgresql://user@host/db")]


def _check_secret_key() -> None:
    """A configured secret key under 32 bytes stops every command at once, in one line (DESIGN 10)."""
    try:
        service_secret()
    except SecretKeyTooShort as exc:
        err.print(f"error: {exc.message}")
        raise typer.Exit(2) from None


def _open(url: str) -> Engine:
    _check_secret_key()
    try:
        return open_backoffice_database(url)
    except TixtraceError as exc:
        err.print(f"error: {exc.message}")
    except SQLAlchemyError as exc:
        reason = exc.args[0] if exc.args else exc
        err.print(f"error: cannot open the back-office database: {type(exc).__name__}: {reason}")
    raise typer.Exit(1)


def _open_existing(url: str) -> Engine:
    """`_open` for the commands that may not create a database (all but migrate, serve and create-user):
    a missing SQLite file is exit 2 (DESIGN section 7), and neither it nor its directory is created."""
    try:
        missing = missing_sqlite_file(url)
    except TixtraceError as exc:
        err.print(f"error: {exc.message}")
        raise typer.Exit(1) from None
    if missing is not None:
        err.print(f"error: no back-office database at {missing}; run migrate first")
        raise typer.Exit(2)
    return _open(url)


@app.command()
def migrate(database_url: DatabaseUrl) -> None:
    """Bring the back-office database to the latest migration (every other command does it too)."""
    _open(database_url).dispose()
    out.print("back-office database is up to date")


@app.command()
def serve(
    database_url: DatabaseUrl,
    port: Annotated[int, typer.Option(min=1, max=65535, help="HTTP port")] = 8000,
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    workers: Workers = 1,
) -> None:
    """Serve the back-office API and screens (HTTP Basic or the sign-in page; GET /health is open)."""
    _open(database_url).dispose()  # migrated once, here, before the workers open it
    serve_factory("tixtrace.backoffice.app:backoffice_app_from_environment", host=host, port=port,
                  workers=workers, environment={DATABASE_URL_VARIABLE: database_url})


@app.command("create-user")
def create_user_command(
    name: Annotated[str, typer.Argument(help="the user name (no ':' or spaces)")],
    database_url: DatabaseUrl,
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True,
                                          help="at least 8 characters (asked when left out)")],
) -> None:
    """Create a back-office user for the API (HTTP Basic) and the screens."""
    engine = _open(database_url)
    try:
        with unit_of_work(engine) as conn:
            user = create_user(conn, name, password, SystemClock().now(), actor=CLI)
    except TixtraceError as exc:
        err.print(f"error: {exc.message}")
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    out.print(f"user {user.name} created (id {user.id})")


@app.command("disable-user")
def disable_user_command(
    name: Annotated[str, typer.Argument(help="the user name")],
    database_url: DatabaseUrl,
) -> None:
    """Disable a back-office user: no more sign-ins, and every session of the user ends at once."""
    engine = _open_existing(database_url)
    try:
        with unit_of_work(engine) as conn:
            ended = disable_user(conn, name, SystemClock().now(), actor=CLI)
    except TixtraceError as exc:
        err.print(f"error: {exc.message}")
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    out.print(f"user {name} disabled; {ended} session(s) ended")


@app.command("set-password")
def set_password_command(
    name: Annotated[str, typer.Argument(help="the user name")],
    database_url: DatabaseUrl,
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True,
                                          help="at least 8 characters (asked when left out)")],
) -> None:
    """Give a back-office user a new password; every session of the user ends (sign in again)."""
    engine = _open_existing(database_url)
    try:
        with unit_of_work(engine) as conn:
            ended = set_password(conn, name, password, SystemClock().now(), actor=CLI)
    except TixtraceError as exc:
        err.print(f"error: {exc.message}")
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    out.print(f"password of {name} changed; {ended} session(s) ended")


@app.command("erase-contact")
def erase_contact_command(
    contact_id: Annotated[int, typer.Argument(metavar="ID", help="the contact's id")],
    database_url: DatabaseUrl,
) -> None:
    """Erase a contact's personal data (GDPR); its tickets and distribution history keep pointing at it.

    The contact becomes "Erased CONTACT #ID" with every other personal field cleared, and its e-mail
    leaves the lines, the tickets' wallet profiles and the payload dumps. Refused (exit 1) for an
    unknown id, while a transfer involving the contact is pending, or while a parked feedback record
    holds its e-mail. Erasing an erased contact changes nothing (exit 0).
    """
    engine = _open_existing(database_url)
    try:
        with unit_of_work(engine) as conn:
            erasure = erase_contact(conn, contact_id, SystemClock().now())
    except TixtraceError as exc:
        err.print(f"error: {exc.message}")
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    if erasure.already_erased:
        out.print(f"contact {contact_id} was already erased; nothing changed")
        return
    out.print(f"contact {contact_id} erased: {erasure.lines_cleared} distribution line(s), "
              f"{erasure.tickets_cleared} ticket(s) and {erasure.dumps_cleared} payload dump(s) cleared")


@app.command("export-holders")
def export_holders_command(
    event: Annotated[str, typer.Argument(metavar="EVENT", help="the event's code")],
    database_url: DatabaseUrl,
    output: Annotated[Path | None, typer.Option("--output", "-o", dir_okay=False,
                                                help="the CSV file to write (default: standard output)")] = None,
) -> None:
    """Write every ticket of EVENT with who holds it as CSV (the same file as GET /api/events/{code}/holders.csv).

    Read a page of 1,000 tickets at a time (constant memory whatever the event's size), with a progress
    bar on standard error. With --output the file appears whole or not at all (written beside it, then
    renamed). An unknown event is exit 1.
    """
    engine = _open_existing(database_url)
    try:
        with unit_of_work(engine, write=False) as conn:
            found = event_by_code(conn, event)
            total = count_holders(conn, found.id)
        written = _write_holders(engine, found.id, total, output)
    except TixtraceError as exc:
        err.print(f"error: {exc.message}")
        raise typer.Exit(1) from None
    except OSError as exc:
        err.print(f"error: cannot write {output}: {exc.strerror or exc}")
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    (out if output is not None else err).print(
        f"{written} ticket(s) of {found.code} written to {output if output is not None else 'standard output'}")


def _write_holders(engine: Engine, event_id: int, total: int, output: Path | None) -> int:
    """Stream the holders CSV to `output` (through a temporary file renamed at the end) or stdout."""
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    done = 0
    partial = output.with_name(f".{output.name}.partial") if output is not None else None
    target = partial.open("w", encoding="utf-8", newline="") if partial is not None else sys.stdout
    try:
        with Progress(*columns, console=err, transient=True) as progress:
            task = progress.add_task("exporting holders", total=total)

            def counted() -> Iterator[list[HolderView]]:
                nonlocal done
                for views in holder_pages(engine, event_id):
                    yield views
                    done += len(views)
                    progress.update(task, completed=done)

            for chunk in holders_csv(counted()):
                target.write(chunk)
        target.flush()
    except BaseException:
        if partial is not None:
            target.close()
            partial.unlink(missing_ok=True)
        raise
    if output is not None and partial is not None:
        target.close()
        partial.replace(output)
    return done


def _columns_help() -> str:
    parts = []
    for kind, (required, optional) in COLUMNS.items():
        parts.append(f"{kind.value}: {', '.join(required)} (required); {', '.join(optional)} (optional).")
    return "\n\n".join(parts)


def _print_report(report: ImportReport) -> None:
    name = report.path.name
    if report.ok:
        out.print(f"{name}: {report.written} {report.kind.value} imported")
        return
    if report.file_error:
        out.print(f"{name}: refused, nothing written: {report.file_error}")
        return
    out.print(f"{name}: refused, nothing written: {len(report.problems)} bad row"
              f"{'s' if len(report.problems) > 1 else ''} of {report.rows}")
    for problem in report.problems:
        out.print(f"  line {problem.line}: {'; '.join(problem.messages)}")


ImportFile = Annotated[Path | None, typer.Option(exists=True, dir_okay=False, readable=True)]


@app.command("import", help=(
    "Import events, contacts and tickets from CSV files, in that order; each file all or nothing.\n\n"
    "A file with any bad row writes nothing; every bad row is reported with its line number (the header "
    "is line 1) and why; the files after it are not read; the exit code is 1.\n\n"
    "Files: UTF-8, comma-separated, a header naming the columns; blank cells are unknown; times are "
    "RFC 3339 with a time zone (2026-06-11T18:00:00Z), dates YYYY-MM-DD, booleans true/false. Tickets "
    "refer to their event by code and to contacts by the contacts' reference column; a blank ticket "
    "number is generated.\n\n" + _columns_help()))
def import_command(
    database_url: DatabaseUrl,
    events: ImportFile = None,
    contacts: ImportFile = None,
    tickets: ImportFile = None,
) -> None:
    files = [(ImportKind.EVENTS, events), (ImportKind.CONTACTS, contacts), (ImportKind.TICKETS, tickets)]
    chosen = [(kind, path) for kind, path in files if path is not None]
    if not chosen:
        err.print("error: give at least one of --events, --contacts, --tickets")
        raise typer.Exit(2)
    engine = _open_existing(database_url)
    try:
        for kind, path in chosen:
            report = _import_one(engine, kind, path)
            _print_report(report)
            if not report.ok:
                raise typer.Exit(1)
    finally:
        engine.dispose()


def _import_one(engine: Engine, kind: ImportKind, path: Path) -> ImportReport:
    total = count_rows(path)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as progress:
        tasks = {"check": progress.add_task(f"checking {path.name}", total=total),
                 "write": progress.add_task(f"writing {path.name}", total=total, visible=False)}

        def advance(phase: str, done: int) -> None:
            progress.update(tasks[phase], completed=done, visible=True)

        return import_csv(engine, kind, path, SystemClock().now(), progress=advance)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


#: the WARNING and ERROR lines ``run`` prints; the rest are counted (the API pages them all)
PROBLEM_LINES = 50


def _summary(execution: ExecutionRecord) -> dict[str, Any]:
    return {"id": execution.id, "scheduleId": execution.schedule_id, "function": execution.function,
            "launchedBy": execution.launched_by, "status": execution.status,
            "startedAt": isoformat(execution.started_at), "endedAt": isoformat(execution.ended_at),
            "counters": {_camel(name): value for name, value in execution.counters().items()}}


def _problems(engine: Engine, execution_id: int) -> tuple[list[LogEntry], bool]:
    """The execution's first WARNING and ERROR log lines, and whether there are more: what went wrong,
    which the counters alone do not say (section 7)."""
    with unit_of_work(engine, write=False) as conn:
        lines, more = execution_log(conn, execution_id, limit=PROBLEM_LINES,
                                    levels=(LogLevel.WARNING, LogLevel.ERROR))
    return lines, more is not None


def _print_problems(execution_id: int, problems: list[LogEntry], more: bool) -> None:
    for line in problems:
        ticket = f" ticket {line.ticket_number}:" if line.ticket_number else ""
        # markup off: a message quotes what the wallet sent, brackets and all
        run_out.print(f"{line.level}{ticket} {line.message}", markup=False, highlight=False)
    if more:
        run_out.print(f"... more WARNING/ERROR lines: GET /api/executions/{execution_id}/log", markup=False)


@app.command("run")
def run_command(
    schedule_id: Annotated[int, typer.Argument(help="The schedule to run once.")],
    database_url: DatabaseUrl,
    as_json: Annotated[bool, typer.Option("--json", help="Print the execution summary as JSON.")] = False,
) -> None:
    """Run one execution of a schedule now and print its summary and its WARNING and ERROR log lines;
    exit code 1 if it ends ERROR."""
    _run_and_print(database_url, schedule_id, as_json=as_json)


def _run_and_print(database_url: str, schedule_id: int, *, as_json: bool = False,
                   upload: list[Any] | None = None) -> None:
    """`run` and `upload`: one execution, then its summary table (or JSON) and its WARNING and ERROR log
    lines; exit code 1 if it ends ERROR or its start is refused."""
    engine = _open_existing(database_url)
    try:
        execution = run_schedule(engine, schedule_id, clock=SystemClock(), launched_by=CLI, upload=upload)
        problems, more = _problems(engine, execution.id)
    except TixtraceError as exc:
        run_out.print(f"[red]refused:[/red] {exc.message}")
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()
    result = _summary(execution)
    if as_json:
        result["problems"] = [{"level": line.level, "ticketNumber": line.ticket_number, "message": line.message}
                              for line in problems]
        result["moreProblems"] = more
        print(json.dumps(result))
    else:
        what = "upload" if upload is not None else "execution"
        table = Table(title=f"{what} {result['id']} of schedule {schedule_id}: {result['function']}")
        table.add_column("status / counter")
        table.add_column("value", justify="right")
        table.add_row("status", result["status"])
        table.add_row("launched by", result["launchedBy"])
        for name, value in result["counters"].items():
            table.add_row(name, str(value))
        run_out.print(table)
        _print_problems(result["id"], problems, more)
    if result["status"] == "ERROR":
        raise typer.Exit(1)


@app.command("reset-feed")
def reset_feed_command(
    schedule_id: Annotated[int, typer.Argument(help="A RETRIEVE_TICKET_STATUS schedule.")],
    database_url: DatabaseUrl,
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: the next run reads the wallet's whole feed again.")]
    = False,
) -> None:
    """Reset a feedback schedule's feed (O1): its pagination key and last applied recordId are cleared.

    The next run reads the wallet's whole feed again, which changes nothing already applied (F11): the way
    out when the wallet refuses the stored key (INVALID_CURSOR). Refused (exit 1) while the schedule runs
    and for a schedule of another function; without --yes nothing is done (exit 2)."""
    if not yes:
        err.print("error: resetting the feed makes the next run read the whole feed again; add --yes to confirm")
        raise typer.Exit(2)
    engine = _open_existing(database_url)
    try:
        schedule = reset_feed(engine, schedule_id, clock=SystemClock(), actor=CLI)
    except TixtraceError as exc:
        err.print(f"error: {exc.message}")
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    out.print(f"schedule {schedule.id}: feed reset; its next run reads the wallet's feed from the start")


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
        run_out.print(f"[red]error:[/red] {file} is not a JSON file: {exc}")
        raise typer.Exit(1) from exc
    records = data.get("records") if isinstance(data, dict) else data
    if not isinstance(records, list):
        run_out.print(f'[red]error:[/red] {file} must hold a list of records or {{"records": [...]}}')
        raise typer.Exit(1)
    _run_and_print(database_url, schedule_id, upload=records)


@app.command("scheduler")
def scheduler_command(
    database_url: DatabaseUrl,
    poll_seconds: Annotated[float, typer.Option(min=0.05, max=3600, help="How often to look for due schedules "
                                                                         "(seconds).")] = 1.0,
) -> None:
    """Run the AUTOMATIC schedules when they are due, until interrupted (Ctrl-C or SIGTERM)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    engine = _open_existing(database_url)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    run_out.print(f"scheduler running: {automatic_schedules_found(engine)} (Ctrl-C to stop)")
    try:
        Scheduler(engine, SystemClock()).run_forever(stop, poll_seconds)
    except KeyboardInterrupt:
        stop.set()
    except TixtraceError as exc:  # a second scheduler on one SQLite database
        err.print(f"error: {exc.message}")
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
