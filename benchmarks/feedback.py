"""Feedback catch-up: Retrieve ticket status over a world-cup-sized status log, end to end over HTTP.

    python benchmarks/feedback.py --tickets 1000000 --database sqlite|postgresql [--json]

1. Seeds the wallet through its own service layer in bulk (injection service, then the ticket
   domain's transfers applied a page at a time and saved by the wallet's repositories): every ticket
   injected; 20 % transferred and accepted, 5 % chains A→B→C, 5 % returned to the sender, 5 %
   rejected, 5 % timed out, 5 % left pending.
2. Seeds the back office with the same tickets (PRINTED) and their cultural contacts, and a TIXNGO
   interface with the feature active.
3. Serves the wallet over HTTP (``tixtrace wallet serve``) and times one catch-up of the feedback
   (``tixtrace backoffice run``) into that back office, as its own process; its peak memory is read
   from the operating system when it exits.

4. Times 21 more runs, which find nothing new (in this process: no interpreter start-up).

Prints {"tickets", "records", "seconds", "recordsPerSecond", "peakRssMb", "cpuSeconds", "database",
"idleRunMs": {"median", "max"}} (cpuSeconds: the feedback process's own CPU time, the figure to
compare when the machine is busy).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import time
from dataclasses import asdict
from datetime import UTC, datetime, timedelta

from harness import TIXTRACE, fresh_database, parse_args, parser, report, serve
from rich.progress import Progress
from sqlalchemy import func, insert, select

from tixtrace.backoffice.db.database import open_backoffice_database
from tixtrace.backoffice.db.tables import contacts, events, interfaces, schedules, tickets
from tixtrace.backoffice.interfaces.runner import run_schedule
from tixtrace.backoffice.secret_key import encrypt_password
from tixtrace.kernel.clock import SystemClock, TestClock
from tixtrace.kernel.db import unit_of_work
from tixtrace.wallet.db import accounts as accounts_repo
from tixtrace.wallet.db import tickets as wallet_tickets
from tixtrace.wallet.db.database import open_wallet_database
from tixtrace.wallet.db.tables import status_log
from tixtrace.wallet.db.tables import tickets as wallet_ticket_table
from tixtrace.wallet.services.injection import NewTicket, inject
from tixtrace.wallet.services.organizers import create_organizer

PAGE = 5000
EVENT = {"id": "WC26-FINAL", "name": "Final", "startTime": "2026-07-19T19:00:00.000Z",
         "address": {"site": "MetLife Stadium", "city": "East Rutherford", "zip": "07073", "countryCode": "US"}}


def fan(i: int) -> str:
    return f"fan{i // 2}@bench.example"


def profile(email: str, first: str, last: str) -> dict[str, object]:
    return {"firstName": first, "lastName": last, "email": email, "language": "en", "residenceCountry": "US"}


def seed_wallet(url: str, n: int, progress: Progress) -> tuple[str, str]:
    engine = open_wallet_database(url)
    start = datetime.now(UTC) - timedelta(hours=3)
    clock = TestClock(start)
    with unit_of_work(engine) as conn:
        organizer, api_key = create_organizer(conn, clock, "bench@organizer.example")
    task = progress.add_task("wallet: inject", total=n)
    for lo in range(0, n, PAGE):
        batch = [NewTicket(f"B{i:08d}", EVENT, {"price": 90.0, "currency": "USD"}, f"BC{i:010d}",
                           profile(fan(i), "Fan", f"N{i // 2}")) for i in range(lo, min(lo + PAGE, n))]
        with unit_of_work(engine) as conn:
            inject(conn, clock, organizer.id, batch)
        progress.advance(task, len(batch))
    task = progress.add_task("wallet: transfers", total=n)
    t0, t1, t2, late = start, start + timedelta(minutes=10), start + timedelta(minutes=20), start + timedelta(hours=2)
    pending_time = datetime.now(UTC)
    for lo in range(0, n, PAGE):
        with unit_of_work(engine) as conn:
            page = wallet_ticket_table.c.ticket_id.between(f"B{lo:08d}", f"B{lo + PAGE - 1:08d}")
            batch = wallet_tickets.load(conn, page, lock=True)
            recipients = {}
            entries = []
            for stored in batch:
                ticket = stored.ticket
                i = int(ticket.ticket_id[1:])
                kind = i % 20
                bob, cid = f"new{i}@bench.example", f"third{i}@bench.example"
                changes = []
                if kind <= 8:
                    recipients[bob] = profile(bob, "New", f"Holder{i}")
                if kind <= 5:  # accepted forward transfer
                    transfer, ch = ticket.start_transfer(ticket.owner, bob, t0)
                    changes += ch + ticket.accept(bob, transfer.transfer_id, t1, profile_complete=True)
                    if kind == 4:  # chain A→B→C
                        recipients[cid] = profile(cid, "Third", f"Holder{i}")
                        transfer, ch = ticket.start_transfer(bob, cid, t1)
                        changes += ch + ticket.accept(cid, transfer.transfer_id, t2, profile_complete=True)
                    elif kind == 5:  # returned to the sender
                        _, ch = ticket.start_transfer(bob, fan(i), t2)
                        changes += ch
                elif kind == 6:  # rejected
                    transfer, ch = ticket.start_transfer(ticket.owner, bob, t0)
                    changes += ch + ticket.reject(bob, transfer.transfer_id, t1)
                elif kind == 7:  # timed out
                    _, ch = ticket.start_transfer(ticket.owner, bob, t0)
                    changes += ch + ticket.expire_if_due(late)
                elif kind == 8:  # still pending, to a fan already known
                    _, ch = ticket.start_transfer(ticket.owner, fan(i + 2), pending_time)
                    changes += ch
                entries.append((stored, changes))
            accounts_repo.ensure(conn, recipients, start)
            wallet_tickets.save(conn, organizer.id, entries, start)
        progress.advance(task, len(batch))
    with unit_of_work(engine, write=False) as conn:
        records = conn.scalar(select(func.count()).select_from(status_log))
    engine.dispose()
    return api_key, str(records)


def seed_backoffice(url: str, n: int, wallet_base: str, api_key: str, progress: Progress, batch_size: int) -> int:
    engine = open_backoffice_database(url)
    now = datetime.now(UTC)
    task = progress.add_task("back office: tickets", total=n)
    with unit_of_work(engine) as conn:
        event_id = conn.execute(insert(events).values(
            code=EVENT["id"], name=EVENT["name"], start_time=datetime(2026, 7, 19, 19, tzinfo=UTC),
            venue_site="MetLife Stadium", venue_city="East Rutherford", venue_zip="07073", venue_country_code="US",
            created_at=now).returning(events.c.id)).scalar_one()
    for lo in range(0, n, PAGE):
        hi = min(lo + PAGE, n)
        with unit_of_work(engine) as conn:
            fans = sorted({i // 2 for i in range(lo, hi)})
            ids = conn.execute(insert(contacts).returning(contacts.c.id, sort_by_parameter_order=True), [
                {"kind": "INDIVIDUAL", "first_name": "Fan", "last_name": f"N{f}", "email": f"fan{f}@bench.example",
                 "email_key": f"fan{f}@bench.example", "has_internet_account": True, "is_temporary": False,
                 "created_at": now, "updated_at": now}
                for f in fans if f * 2 >= lo]).scalars().all()
            by_fan = dict(zip([f for f in fans if f * 2 >= lo], ids, strict=True))
            if lo % 2:
                raise SystemExit("page size must be even")
            conn.execute(insert(tickets), [
                {"number": f"B{i:08d}", "event_id": event_id, "barcode": f"BC{i:010d}", "status": "PRINTED",
                 "cultural_contact_id": by_fan[i // 2], "owner_contact_id": by_fan[i // 2], "injected_at": now,
                 "created_at": now, "updated_at": now}
                for i in range(lo, hi)])
        progress.advance(task, hi - lo)
    parameters = ("TIXNGO_LIFECYCLE_MODE=lifecycle\nenableTicketDistributionToCulturalContact=true\n"
                  "overlaySpectatorDetailsWithLastOwner=true")
    with unit_of_work(engine) as conn:
        interface_id = conn.execute(insert(interfaces).values(
            name="tixngo", type="TIXNGO", url=f"{wallet_base}/organizer/tickets", login="bench@organizer.example",
            password=encrypt_password(api_key), notification_emails=[], custom_parameters=parameters, parameters={},
            warnings=[],
            created_at=now, updated_at=now).returning(interfaces.c.id)).scalar_one()
        schedule_id = conn.execute(insert(schedules).values(
            interface_id=interface_id, function="RETRIEVE_TICKET_STATUS", launch="MANUAL", frequency_minutes=5,
            batch_size=batch_size, skip_ticket_numbers=[], event_codes=[], created_at=now,
            updated_at=now).returning(schedules.c.id)).scalar_one()
    engine.dispose()
    return int(schedule_id)


def idle_run_ms(backoffice_url: str, schedule_id: int, runs: int = 21) -> dict[str, float]:
    """A run with nothing new, whole (execution recorded, one diff call, execution ended), in this
    process so that interpreter start-up is not counted: median and slowest of ``runs``, in ms."""
    engine = open_backoffice_database(backoffice_url)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        execution = asdict(run_schedule(engine, schedule_id, clock=SystemClock()))
        times.append((time.perf_counter() - started) * 1000)
        if execution["records_read"] or execution["status"] != "OK":
            raise SystemExit(f"a run after the catch-up found something: {execution}")
    engine.dispose()
    return {"median": round(statistics.median(times), 1), "max": round(max(times), 1)}


def main() -> None:
    options = parser(__doc__, 18303)
    options.add_argument("--batch-size", type=int, default=2_000, help="records per diff page (schedule batch size)")
    options.add_argument("--profile", metavar="FILE", help="run the feedback under cProfile, stats to FILE")
    args = parse_args(options)
    command = [*TIXTRACE]
    if args.profile:
        command = [command[0], "-m", "cProfile", "-o", args.profile, "-m", "tixtrace.cli"]
    with fresh_database(args.database, "wallet") as wallet_url, \
            fresh_database(args.database, "backoffice") as backoffice_url:
        with Progress(transient=True, disable=args.json) as progress:
            api_key, records = seed_wallet(wallet_url, args.tickets, progress)
            base = f"http://127.0.0.1:{args.port}"
            schedule_id = seed_backoffice(backoffice_url, args.tickets, base, api_key, progress, args.batch_size)
        with serve(["wallet", "serve", "--database-url", wallet_url], args.port):
            started = time.perf_counter()
            process = subprocess.Popen([*command, "backoffice", "run", str(schedule_id), "--database-url",
                                        backoffice_url, "--json"], stdout=subprocess.PIPE)
            assert process.stdout is not None
            output = process.stdout.read()
            _, status, usage = os.wait4(process.pid, 0)
            seconds = time.perf_counter() - started
            summary = json.loads(output)
            if status != 0 or summary["status"] not in ("OK", "WARNING"):
                raise SystemExit(f"the feedback did not end OK: {summary}")
            idle = idle_run_ms(backoffice_url, schedule_id)
    report({"tickets": args.tickets, "records": int(records), "seconds": round(seconds, 2),
            "recordsPerSecond": round(int(records) / seconds), "peakRssMb": round(usage.ru_maxrss / 1024, 1),
            "cpuSeconds": round(usage.ru_utime + usage.ru_stime, 2),
            "database": args.database, "batchSize": args.batch_size, "idleRunMs": idle,
            "counters": summary["counters"]}, args.json)


if __name__ == "__main__":
    main()
