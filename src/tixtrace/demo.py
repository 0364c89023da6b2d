"""``tixtrace demo``: the main job on SQLite, both services in one process, end to end.

One round: an event and N tickets with cultural contacts in the back office; a TIXNGO interface with
the three parameters of the feature page; injection; realistic spectator activity through the
wallet's spectator API (downloads, holders, transfers to known and unknown e-mails, acceptances,
rejections, cancels, time-outs through the sandbox clock, chains, returns); Retrieve ticket status
while transfers are pending and again once they resolve; then a report. A second run on the same
data directory adds a new round (a new event and new tickets) to what is there.

The wallet is served over HTTP on its usual port (8001 unless told otherwise) so that the interface
the demo configures keeps working under ``tixtrace serve --data-dir DIR --sandbox`` afterwards.
"""

from __future__ import annotations

import shutil
import sys
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import Engine, func, select

from tixtrace.backoffice.db.database import open_backoffice_database
from tixtrace.backoffice.db.tables import contacts, distribution_lines, events, interfaces, schedules, tickets
from tixtrace.backoffice.domain.executions import CLI
from tixtrace.backoffice.interfaces.runner import run_schedule
from tixtrace.backoffice.services.contacts import NewContact, create_contact
from tixtrace.backoffice.services.events import NewEvent, create_event
from tixtrace.backoffice.services.interfaces import NewInterface, create_interface, update_interface
from tixtrace.backoffice.services.schedules import NewSchedule, create_schedule
from tixtrace.backoffice.services.tickets import NewTicket, create_ticket
from tixtrace.kernel.clock import AdjustableClock, SystemClock
from tixtrace.kernel.db import unit_of_work
from tixtrace.kernel.emails import normalize_email
from tixtrace.kernel.errors import BadInput, CommandCode, Conflict
from tixtrace.kernel.serving import BackgroundServer, port_is_free
from tixtrace.wallet.app import create_wallet_app
from tixtrace.wallet.db.database import open_wallet_database
from tixtrace.wallet.db.tables import accounts
from tixtrace.wallet.db.tables import tickets as wallet_tickets
from tixtrace.wallet.services.clock import WalletClock
from tixtrace.wallet.services.organizers import create_organizer, rotate_key

ORGANIZER_EMAIL = "organizer@demo.tixtrace.example"
FEATURE_PARAMETERS = (
    "# the three parameters of the feature page\n"
    "TIXNGO_LIFECYCLE_MODE=lifecycle\n"
    "overlaySpectatorDetailsWithLastOwner=true\n"
    "enableTicketDistributionToCulturalContact=true\n"
)
FIRST_NAMES = ["Ana", "Bruno", "Chloé", "Dmitri", "Emeka", "Fatima", "Gustavo", "Hana", "Ivan", "Julia",
               "Kofi", "Lucía", "Mateo", "Nadia", "Omar", "Priya", "Quentin", "Rosa", "Sven", "Tomás",
               "Uma", "Viktor", "Wen", "Ximena", "Yusuf", "Zoé", "Aiko", "Bilal", "Carmen", "Diego",
               "Elif", "Farid", "Greta", "Hugo", "Inès", "Jonas", "Kenji", "Leila", "Marek", "Noor"]
LAST_NAMES = ["Lima", "Moreau", "Okafor", "Sato", "Novak", "Haddad", "Silva", "Kowalski", "Jensen", "Rossi",
              "Almeida", "Bauer", "Castillo", "Dubois", "Eriksen", "Fischer", "García", "Horvat", "Ivanova",
              "Jovanović", "Kim", "Larsen", "Mensah", "Nakamura", "Ortega", "Petrov", "Quispe", "Reyes", "Schmidt",
              "Tanaka", "Urquhart", "Vargas", "Weber", "Xu", "Yilmaz", "Zhang", "Abebe", "Brennan", "Costa", "Dlamini"]
SCENARIOS = ["holder", "accepted by a new fan", "accepted by a known contact", "rejected", "cancelled by sender",
             "timed out", "chain A→B→C", "returned to sender", "still pending", "untouched"]


def person_name(k: int) -> tuple[str, str]:
    """The k-th person of a round: 1,600 distinct first/last name pairs before any repeats."""
    return FIRST_NAMES[k % len(FIRST_NAMES)], LAST_NAMES[(k + k // len(FIRST_NAMES)) % len(LAST_NAMES)]


def data_paths(data_dir: Path) -> tuple[str, str]:
    """The SQLite URLs of the back office and the wallet in a data directory."""
    return f"sqlite:///{data_dir / 'backoffice.db'}", f"sqlite:///{data_dir / 'wallet.db'}"


@dataclass
class Round:
    number: int
    event_code: str
    tickets: list[dict[str, Any]] = field(default_factory=list)  # number, owner e-mail, scenario
    api_key: str = ""
    schedules: dict[str, int] = field(default_factory=dict)


class Spectators:
    """The mobile app, played through the wallet's spectator API."""

    def __init__(self, http: httpx.Client) -> None:
        self.http = http
        self.tokens: dict[str, str] = {}

    def call(self, email: str, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        if email not in self.tokens:
            self.tokens[email] = self.http.post("/spectator/session", json={"email": email}).raise_for_status() \
                .json()["token"]
        response = self.http.request(method, path, headers={"Authorization": f"Bearer {self.tokens[email]}"},
                                     **kwargs)
        response.raise_for_status()
        return response.json()  # type: ignore[no-any-return]

    def download(self, email: str) -> None:
        self.call(email, "GET", "/spectator/tickets")

    def transfer(self, sender: str, ticket: str, recipient: str) -> str:
        return str(self.call(sender, "POST", f"/spectator/tickets/{ticket}/transfers",
                             json={"recipientEmail": recipient})["transferId"])

    def accept(self, email: str, transfer_id: str, first: str, last: str) -> None:
        self.call(email, "PUT", "/spectator/profile", json={"firstName": first, "lastName": last, "language": "en"})
        self.call(email, "POST", f"/spectator/transfers/{transfer_id}/accept")
        self.download(email)  # the app opens the ticket: that shares the profile with the organizer (W10)


def _progress(console: Console) -> Progress:
    return Progress(TextColumn("{task.description:<34}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console, transient=False)


def _setup_round(backoffice: Engine, n: int, console: Console) -> Round:
    now = datetime.now(UTC)
    with unit_of_work(backoffice, write=False) as conn:
        number = (conn.scalar(select(func.count()).select_from(events)) or 0) + 1
    round_ = Round(number, f"WC26-DEMO-{number}")
    with _progress(console) as progress, unit_of_work(backoffice) as conn:
        create_event(conn, NewEvent(round_.event_code, f"World cup demo match {number}",
                                    now + timedelta(days=30), "Estadio Azteca", "Mexico City", "04650", "MX"), now)
        task = progress.add_task(f"back office: {n} tickets", total=n)
        for i in range(n):
            first, last = person_name(i // 2)  # owners: one person per pair of tickets
            email = f"fan{number}-{i // 2}@demo.tixtrace.example"
            if i % 2 == 0:
                contact_id = create_contact(conn, NewContact("INDIVIDUAL", last, first, email=email,
                                                             has_internet_account=True), now).id
            scenario = SCENARIOS[i % len(SCENARIOS)]
            if scenario == "accepted by a known contact":  # someone the back office already knows
                create_contact(conn, NewContact("INDIVIDUAL", "Known", f"Guest{i}",
                                                email=f"known{number}-{i}@demo.tixtrace.example"), now)
            row = create_ticket(conn, NewTicket(round_.event_code, contact_id, seat=f"B{i // 30}-{i % 30}",
                                                price="120.00", currency="USD"), now)
            round_.tickets.append({"number": row.number, "owner": email, "scenario": scenario, "i": i})
            progress.advance(task)
    return round_


def _configure(backoffice: Engine, wallet: Engine, wallet_url: str, round_: Round) -> None:
    """The wallet organizer and the TIXNGO interface with its four schedules (made once, reused after)."""
    now = datetime.now(UTC)
    with unit_of_work(backoffice, write=False) as conn:
        existing = conn.execute(select(interfaces.c.id).where(interfaces.c.name == "TIXNGO demo")).scalar()
    if existing is None:
        with unit_of_work(wallet) as conn:
            organizer, api_key = create_organizer(conn, SystemClock(), ORGANIZER_EMAIL)
        with unit_of_work(backoffice) as conn:
            existing = create_interface(conn, NewInterface(
                "TIXNGO demo", "TIXNGO", f"{wallet_url}/organizer/tickets", organizer.email, api_key,
                ["ops@demo.tixtrace.example"], FEATURE_PARAMETERS), now, actor=CLI).id
            for function in ("TICKETS_INJECTION", "RETRIEVE_TICKET_STATUS", "PUSH_CANCELLED", "PUSH_CONTROLLED"):
                create_schedule(conn, existing, NewSchedule(function, "MANUAL"), now, actor=CLI)
    else:  # a later round: the wallet may listen on another port this time
        with unit_of_work(backoffice) as conn:
            current = conn.execute(select(interfaces).where(interfaces.c.id == existing)).mappings().one()
            url = f"{wallet_url}/organizer/tickets"
            # a new port needs the password again (PASSWORD_REQUIRED): the demo owns the wallet, so it
            # gives the organizer a new key rather than keep the old one anywhere in clear
            new_key = None
            if url != current["url"]:
                with unit_of_work(wallet) as wallet_conn:
                    new_key = rotate_key(wallet_conn, current["login"])[1]
            update_interface(conn, existing, NewInterface(
                current["name"], current["type"], url, current["login"], new_key,
                list(current["notification_emails"]), current["custom_parameters"]), now, actor=CLI)
    with unit_of_work(backoffice, write=False) as conn:
        rows = conn.execute(select(schedules.c.id, schedules.c.function)
                            .where(schedules.c.interface_id == existing, schedules.c.deleted_at.is_(None))).all()
    round_.schedules = {row.function: row.id for row in rows}


def _run(backoffice: Engine, round_: Round, function: str, console: Console, label: str) -> dict[str, Any]:
    execution = asdict(run_schedule(backoffice, round_.schedules[function], clock=SystemClock(), launched_by=CLI))
    console.print(f"  {label}: execution {execution['id']} [bold]{execution['status']}[/bold] — "
                  f"{execution['records_read']} read, {execution['lines_created']} lines created, "
                  f"{execution['lines_updated']} updated, {execution['contacts_created']} contacts created, "
                  f"{execution['contacts_completed']} completed, {execution['contacts_removed']} removed")
    return execution


def _play(app: Spectators, clock: AdjustableClock, round_: Round, backoffice: Engine, console: Console) -> list[dict]:
    n, r = len(round_.tickets), round_.number
    executions = []
    with _progress(console) as progress:
        task = progress.add_task("spectators: download, first moves", total=n)
        for t in round_.tickets:
            if t["i"] % 2 == 0:
                app.download(t["owner"])
            s, i = t["scenario"], t["i"]
            t["guest"] = f"guest{r}-{i}@demo.tixtrace.example"
            if s == "holder":
                app.call(t["owner"], "POST", f"/spectator/tickets/{t['number']}/holder",
                         json={"firstName": "Child", "lastName": person_name(i // 2)[1]})
            elif s == "accepted by a known contact":
                t["guest"] = f"known{r}-{i}@demo.tixtrace.example"
            if s not in ("holder", "untouched", "still pending"):
                t["transfer"] = app.transfer(t["owner"], t["number"], t["guest"])
            progress.advance(task)
    executions.append(_run(backoffice, round_, "RETRIEVE_TICKET_STATUS", console, "feedback while pending"))
    clock.advance(600)  # ten minutes later, people answer
    with _progress(console) as progress:
        task = progress.add_task("spectators: answers, chains, returns", total=n)
        for t in round_.tickets:
            s, i = t["scenario"], t["i"]
            if s in ("accepted by a new fan", "accepted by a known contact", "chain A→B→C", "returned to sender"):
                app.accept(t["guest"], t["transfer"], *person_name(n // 2 + i))
            elif s == "rejected":
                app.call(t["guest"], "POST", f"/spectator/transfers/{t['transfer']}/reject")
            elif s == "cancelled by sender":
                app.call(t["owner"], "POST", f"/spectator/transfers/{t['transfer']}/cancel")
            if s == "chain A→B→C":
                t["third"] = f"third{r}-{i}@demo.tixtrace.example"
                third = app.transfer(t["guest"], t["number"], t["third"])
                app.accept(t["third"], third, *person_name(n + n // 2 + i // 10))
            elif s == "returned to sender":
                app.transfer(t["guest"], t["number"], t["owner"])
            progress.advance(task)
    clock.advance(3601)  # nobody answered the "timed out" transfers within the hour
    console.print("  sandbox clock advanced by one hour and one second: unanswered transfers time out")
    for t in round_.tickets:
        if t["scenario"] == "still pending":
            app.transfer(t["owner"], t["number"], t["guest"])
    executions.append(_run(backoffice, round_, "RETRIEVE_TICKET_STATUS", console, "feedback after resolution"))
    return executions


def _agreement(backoffice: Engine, wallet: Engine, numbers: list[str]) -> tuple[int, dict[str, str]]:
    """How many tickets the back office sees as the wallet does (mobile status, wallet owner, and the
    owner contact of the feature), computed from both databases; and the wallet owner of each ticket."""
    with unit_of_work(wallet, write=False) as conn:
        rows = conn.execute(select(wallet_tickets.c.ticket_id, wallet_tickets.c.status, accounts.c.email)
                            .join(accounts, accounts.c.id == wallet_tickets.c.owner_id)
                            .where(wallet_tickets.c.ticket_id.in_(numbers))).all()
    in_wallet = {row.ticket_id: (row.status, normalize_email(row.email)) for row in rows}
    owner = contacts.alias("owner")
    with unit_of_work(backoffice, write=False) as conn:
        mirrored = conn.execute(select(tickets.c.number, tickets.c.mobile_status, tickets.c.last_wallet_owner_email,
                                   owner.c.email_key)
                            .join(owner, owner.c.id == tickets.c.owner_contact_id)
                            .where(tickets.c.number.in_(numbers))).all()
    agree = sum(1 for row in mirrored if row.number in in_wallet
                and in_wallet[row.number] == (row.mobile_status, normalize_email(row.last_wallet_owner_email or ""))
                and row.email_key == in_wallet[row.number][1])
    return agree, {number: email for number, (_, email) in in_wallet.items()}


def _report(backoffice: Engine, wallet: Engine, round_: Round, console: Console) -> None:
    numbers = [t["number"] for t in round_.tickets]
    owner = contacts.alias("owner")
    with unit_of_work(backoffice, write=False) as conn:
        ids = dict(conn.execute(select(tickets.c.number, tickets.c.id).where(tickets.c.number.in_(numbers))).all())
        holders = dict(conn.execute(select(tickets.c.number, owner.c.id)
                                    .join(owner, owner.c.id == tickets.c.owner_contact_id)
                                    .where(tickets.c.number.in_(numbers))).all())
        lines = conn.execute(select(distribution_lines).where(distribution_lines.c.ticket_id.in_(ids.values()))
                             .order_by(distribution_lines.c.id)).mappings().all()
        names = {row.id: f"{row.first_name or ''} {row.last_name} <{row.email}>".strip()
                 + (" (temporary)" if row.is_temporary else "") for row in conn.execute(select(contacts))}
        temporary = conn.scalar(select(func.count()).select_from(contacts).where(contacts.c.is_temporary))
    outcomes = Counter((line["action"], line["status"], line["reason"] or "") for line in lines)
    table = Table(title=f"Round {round_.number}: distribution lines by outcome")
    for column in ("action", "status", "reason", "lines"):
        table.add_column(column)
    for (action, status, reason), count in sorted(outcomes.items()):
        table.add_row(action, status, reason, str(count))
    console.print(table)
    console.print(f"temporary contacts waiting for an acceptance: {temporary}")
    agree, wallet_owners = _agreement(backoffice, wallet, numbers)
    by_ticket: dict[int, list[Any]] = {}
    for line in lines:
        by_ticket.setdefault(line["ticket_id"], []).append(line)
    shown = set()
    for t in round_.tickets:
        if t["scenario"] in shown or t["scenario"] in ("holder", "untouched"):
            continue
        shown.add(t["scenario"])
        history = Table(title=f"ticket {t['number']} — {t['scenario']}", title_justify="left",
                        caption=f"held now by {names.get(holders.get(t['number'], 0), '?')}; "
                                f"wallet owner {wallet_owners.get(t['number'], '?')}", caption_justify="left")
        for column in ("action", "old contact", "new contact", "status", "reason", "matched"):
            history.add_column(column)
        for line in by_ticket.get(ids[t["number"]], []):
            new = names.get(line["new_contact_id"]) if line["new_contact_id"] else f"(none) {line['recipient_email']}"
            history.add_row(line["action"], names.get(line["old_contact_id"], "-"), new, line["status"],
                            line["reason"] or "", line["contact_match"] or "")
        console.print(history)
    style = "green" if agree == len(numbers) else "red"
    console.print(f"[bold {style}]back office agrees with the wallet on {agree}/{len(numbers)} tickets[/]"
                  " (mobile status, wallet owner and owner contact, read from both databases)")


def run_demo(data_dir: Path, n: int, *, wallet_port: int = 8001, console: Console | None = None) -> None:
    console = console or Console()
    if not 1 <= n <= 100_000:
        raise BadInput(f"--tickets must be from 1 to 100000, got {n}", code=CommandCode.INVALID_TICKETS)
    if not port_is_free("127.0.0.1", wallet_port):
        raise BadInput(f"port {wallet_port} is in use (is tixtrace serve running?); stop it or pass --wallet-port",
                       code=CommandCode.PORT_IN_USE)
    data_dir.mkdir(parents=True, exist_ok=True)
    backoffice_url, wallet_url = data_paths(data_dir)
    backoffice, wallet = open_backoffice_database(backoffice_url), open_wallet_database(wallet_url)
    started = datetime.now(UTC)
    try:
        console.rule(f"tixtrace demo — {n} tickets in {data_dir}")
        round_ = _setup_round(backoffice, n, console)
        clock = WalletClock(wallet)  # kept in the wallet database: `serve` goes on from where the demo left it (W9)
        app = create_wallet_app(wallet, clock=clock, sandbox=True)
        with BackgroundServer(app, port=wallet_port) as base_url, httpx.Client(base_url=base_url, timeout=60) as http:
            _configure(backoffice, wallet, base_url, round_)
            console.print(f"wallet (sandbox) at {base_url}; interface 'TIXNGO demo' with:\n{FEATURE_PARAMETERS}")
            _run(backoffice, round_, "TICKETS_INJECTION", console, "injection")
            try:
                _play(Spectators(http), clock, round_, backoffice, console)
            except httpx.HTTPStatusError as exc:
                raise Conflict(f"the wallet refused a spectator action of the demo: {exc.request.method} "
                               f"{exc.request.url.path}: {exc.response.text}",
                               code=CommandCode.DEMO_ACTION_REFUSED) from exc
        _report(backoffice, wallet, round_, console)
    finally:
        backoffice.dispose()
        wallet.dispose()
    seconds = (datetime.now(UTC) - started).total_seconds()
    console.rule(f"round {round_.number} done in {seconds:.1f} s")
    port_option = "" if wallet_port == 8001 else f" --wallet-port {wallet_port}"
    console.print(f"Browse the result: [bold]{tixtrace_command()} serve --data-dir {data_dir} --sandbox{port_option}"
                  f"[/bold] (back office on http://127.0.0.1:8000, spectator app on "
                  f"http://127.0.0.1:{wallet_port}/app)")


def tixtrace_command() -> str:
    """How to call this very tixtrace from the current directory: ``tixtrace`` when the shell finds this
    installation, else the path of its script (``.venv/bin/tixtrace`` after ``make demo``)."""
    script = Path(sys.prefix) / "bin" / "tixtrace"
    found = shutil.which("tixtrace")
    if found and Path(found).resolve() == script.resolve():
        return "tixtrace"
    try:
        return str(script.relative_to(Path.cwd()))
    except ValueError:
        return str(script)
