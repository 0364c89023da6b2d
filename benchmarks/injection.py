"""Injection throughput: tickets injected into the wallet over HTTP, in batches of 1,000.

    python benchmarks/injection.py --tickets 100000 --database sqlite [--json]

Prints {"tickets", "seconds", "ticketsPerSecond", "database", "cpuSeconds": {"wallet", "database",
"client"}}. The wallet runs as its own process (``tixtrace wallet serve``) on loopback; this process
builds the payloads and posts them. The CPU seconds of each part (the wallet's processes, the
PostgreSQL backends serving its database: 0 on SQLite, which runs inside the wallet, and this client)
are the figures to compare on a loaded machine, where the wall time is mostly waiting for a core.
It measures the wallet's injection endpoint alone, not the back office's injection function.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import httpx
import orjson
from harness import create_organizer, fresh_database, parse_args, parser, report, serve_process
from sqlalchemy import create_engine, text

_TICK = os.sysconf("SC_CLK_TCK")


def payload(i: int) -> dict[str, object]:
    return {
        "ticketId": f"B{i:08d}",
        "event": {"id": "WC26-M01", "name": "Opening match", "startTime": "2026-06-11T19:00:00Z",
                  "address": {"site": "Estadio Azteca", "city": "Mexico City", "zip": "04650", "countryCode": "MX"}},
        "purchaseDetails": {"fileNumber": f"F{i // 4}", "price": 120.0, "currency": "USD"},
        "security": {"barcode": f"BC{i:010d}"},
        "spectatorDetails": {"firstName": "Fan", "lastName": f"N{i}", "email": f"fan{i // 2}@bench.example"},
    }


def inject_over_http(client: httpx.Client, tickets: int, batch: int) -> None:
    """Post tickets 0..tickets-1 to the wallet, ``batch`` per call."""
    for start in range(0, tickets, batch):
        body = orjson.dumps({"tickets": [payload(i) for i in range(start, min(start + batch, tickets))]})
        client.post("/organizer/tickets", content=body, headers={"Content-Type": "application/json"}).raise_for_status()


def _cpu(pid: int) -> float:
    """CPU seconds (user + system) of one process so far; 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants (a server's worker processes)."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        found.append(todo.pop())
        todo.extend(parents.get(found[-1], []))
    return found


def _backends(url: str) -> list[int]:
    """The PostgreSQL backends connected to the database of ``url`` (none on SQLite)."""
    if not url.startswith("postgresql"):
        return []
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            return [int(pid) for pid in conn.scalars(text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"))]
    finally:
        engine.dispose()


def _cpu_of(pids: list[int]) -> dict[int, float]:
    return {pid: _cpu(pid) for pid in pids}


def main() -> None:
    options = parser(__doc__, 18301)
    options.add_argument("--batch", type=int, default=1000)
    args = parse_args(options)
    with fresh_database(args.database, "wallet") as url:
        auth = create_organizer(url)
        with serve_process(["wallet", "serve", "--database-url", url], args.port) as (base, process), \
                httpx.Client(base_url=base, auth=auth, timeout=120) as client:
            wallet_before, database_before = _cpu_of(_tree(process.pid)), _cpu_of(_backends(url))
            client_before = time.process_time()
            started = time.perf_counter()
            inject_over_http(client, args.tickets, args.batch)
            seconds = time.perf_counter() - started
            client_cpu = time.process_time() - client_before
            wallet_after, database_after = _cpu_of(_tree(process.pid)), _cpu_of(_backends(url))
    cpu = {
        "wallet": round(sum(t - wallet_before.get(pid, 0.0) for pid, t in wallet_after.items()), 2),
        "database": round(sum(t - database_before.get(pid, 0.0) for pid, t in database_after.items()), 2),
        "client": round(client_cpu, 2),
    }
    report({"tickets": args.tickets, "seconds": round(seconds, 2),
            "ticketsPerSecond": round(args.tickets / seconds), "database": args.database, "cpuSeconds": cpu},
           args.json)


if __name__ == "__main__":
    main()
