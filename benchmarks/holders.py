"""The holders export of one event: time and peak memory, by the command line and over HTTP.

    python benchmarks/holders.py --tickets 100000 --database sqlite|postgresql [--json]

Seeds a back office with an event of N tickets (a contact each, every other one synced from the wallet
with an owner and a holder, one in ten with a pending transfer) and a second event of N/10 tickets,
then measures, each in its own process:
- ``tixtrace backoffice export-holders EVENT --output FILE`` for both events, each in a process of its
  own (this script with ``--export``, which runs the Typer command and times it from inside, so the
  seconds leave out Python's start-up): seconds, the process's peak RSS once everything is imported and
  after the export; the peaks of the two events side by side show whether memory grows with the event;
- ``GET /api/events/{code}/holders.csv`` from ``tixtrace backoffice serve``, read as a stream: seconds
  and the server's peak RSS (VmHWM) before and after the download.
Prints {"tickets", "database", "cliSeconds", "cliRowsPerSecond", "cliPeakRssMbImports", "cliPeakRssMb",
"cliPeakRssMbTenth", "httpSeconds", "serverRssMbBefore", "serverPeakRssMbAfter", "bytes", "rowsPerSecond"}.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from harness import TIXTRACE, fresh_database, parse_args, parser, report, serve_process
from sqlalchemy import Engine, insert, text

from tixtrace.backoffice.db.database import open_backoffice_database
from tixtrace.backoffice.db.tables import contacts, distribution_lines, events, tickets
from tixtrace.backoffice.domain.search import name_keys
from tixtrace.kernel.db import unit_of_work

NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
CHUNK = 5000
PASSWORD = "benchmark password"


def seed_event(engine: Engine, event_id: int, code: str, count: int, first_id: int) -> None:
    """An event of `count` tickets with ids from `first_id`, each with its own contact."""
    with unit_of_work(engine) as conn:
        conn.execute(insert(events).values(id=event_id, code=code, name=f"Match {code}", start_time=NOW,
                                           venue_site="Stade", venue_city="Paris", venue_zip="75000",
                                           venue_country_code="FR", created_at=NOW))
    for start in range(first_id, first_id + count, CHUNK):
        ids = range(start, min(start + CHUNK, first_id + count))
        with unit_of_work(engine) as conn:
            conn.execute(insert(contacts), [
                {"id": i, "kind": "INDIVIDUAL", "first_name": "Chloé", "last_name": f"Lima{i}",
                 "email": f"fan{i}@bench.example", "email_key": f"fan{i}@bench.example",
                 **name_keys("Chloé", f"Lima{i}"), "has_internet_account": i % 2 == 0, "is_temporary": False,
                 "created_at": NOW, "updated_at": NOW} for i in ids])
            conn.execute(insert(tickets), [
                {"id": i, "number": f"{3470498000000000 + i}", "event_id": event_id, "seat": f"S-{i % 40000}",
                 "barcode": f"{990000000000000000 + i}", "status": "PRINTED", "cultural_contact_id": i,
                 "owner_contact_id": i, "mobile_status": "ASSIGNED" if i % 2 == 0 else None,
                 "wallet_owner": {"email": f"fan{i}@bench.example", "firstName": "Chloé"} if i % 2 == 0 else None,
                 "ticket_holder": {"firstName": "=Léa", "lastName": f"Holder{i}"} if i % 2 == 0 else None,
                 "last_wallet_owner_email": f"fan{i}@bench.example" if i % 2 == 0 else None,
                 "last_synced_at": NOW if i % 2 == 0 else None, "created_at": NOW, "updated_at": NOW} for i in ids])
            pending = [i for i in ids if i % 10 == 0]
            if pending:
                conn.execute(insert(distribution_lines), [
                    {"ticket_id": i, "transfer_id": f"T{i}", "action": "DISTRIBUTE", "old_contact_id": i,
                     "new_contact_id": None, "recipient_email": f"friend{i}@bench.example", "status": "PENDING",
                     "initiated_at": NOW, "recorded_at": NOW, "updated_at": NOW, "opened_record_id": i,
                     "expires_at": NOW + timedelta(hours=1)} for i in pending])


def run_cli(url: str, code: str, target: Path) -> tuple[float, float, float]:
    """Seconds of one ``export-holders`` command, its process's peak RSS (MB) before it started (the
    imports) and after it ended; in a process of its own (``--export``), so that nothing else counts."""
    out = subprocess.run([sys.executable, __file__, "--export", url, code, str(target)], check=True,
                         capture_output=True, text=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    return result["seconds"], result["peakBefore"], result["peakAfter"]


def export_in_this_process(url: str, code: str, target: str) -> None:
    """The ``export-holders`` command as the command line runs it (Typer), timed from inside."""
    from tixtrace.backoffice.cli import app
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    try:
        app(["export-holders", code, "--database-url", url, "--output", target], standalone_mode=False)
    finally:
        seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peakBefore": before, "peakAfter": after}))


def vm_hwm_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise SystemExit("no VmHWM")


def run_http(url: str, code: str, port: int) -> tuple[float, float, float, int]:
    """Seconds of the streamed download, the server's peak RSS before and after it (MB), and its bytes."""
    subprocess.run([*TIXTRACE, "backoffice", "create-user", "--database-url", url, "bench", "--password",
                    PASSWORD], check=True, capture_output=True)
    with serve_process(["backoffice", "serve", "--database-url", url], port) as (base, server):
        with httpx.Client(base_url=base, auth=("bench", PASSWORD), timeout=600) as client:
            client.get(f"/api/events/{code}/holders", params={"limit": 10}).raise_for_status()  # warm up
            before = vm_hwm_mb(server.pid)
            started = time.perf_counter()
            size = 0
            with client.stream("GET", f"/api/events/{code}/holders.csv") as response:
                response.raise_for_status()
                for chunk in response.iter_bytes():
                    size += len(chunk)
            seconds = time.perf_counter() - started
            return seconds, before, vm_hwm_mb(server.pid), size


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--export":
        export_in_this_process(*sys.argv[2:])
        return
    options = parser(__doc__, 18311)
    args = parse_args(options)
    tenth = max(1, args.tickets // 10)
    with fresh_database(args.database, "holders") as url:
        engine = open_backoffice_database(url)
        try:
            seed_event(engine, 1, "BIG", args.tickets, 1)
            seed_event(engine, 2, "SMALL", tenth, args.tickets + 1)
            if args.database == "postgresql":  # what autovacuum would have done (it is off on this machine)
                with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    conn.execute(text("ANALYZE"))
        finally:
            engine.dispose()
        with tempfile.TemporaryDirectory() as directory:
            _, _, small_peak = run_cli(url, "SMALL", Path(directory) / "small.csv")
            seconds, imports_peak, peak = run_cli(url, "BIG", Path(directory) / "big.csv")
            rows = sum(1 for _ in (Path(directory) / "big.csv").open(encoding="utf-8")) - 1
            if rows != args.tickets:
                raise SystemExit(f"the file has {rows} rows for {args.tickets} tickets")
        http_seconds, before, after, size = run_http(url, "BIG", args.port)
    report({"tickets": args.tickets, "database": args.database, "cliSeconds": round(seconds, 2),
            "cliRowsPerSecond": round(args.tickets / seconds), "cliPeakRssMbImports": round(imports_peak, 1),
            "cliPeakRssMb": round(peak, 1), "cliPeakRssMbTenth": round(small_peak, 1),
            "httpSeconds": round(http_seconds, 2), "serverRssMbBefore": round(before, 1),
            "serverPeakRssMbAfter": round(after, 1), "bytes": size,
            "rowsPerSecond": round(args.tickets / http_seconds)}, args.json)


if __name__ == "__main__":
    main()
