"""Injection throughput: tickets injected into the wallet over HTTP, in batches of 1,000.

    python benchmarks/injection.py --tickets 100000 --database sqlite [--json]

Prints {"tickets", "seconds", "ticketsPerSecond", "database"}. The wallet runs as its own process
(``tixtrace wallet serve``) on loopback; this process builds the payloads and posts them.
For now it measures the wallet's injection endpoint alone; the back office's injection function
(issue 4) will be measured end to end here once it exists.
"""

from __future__ import annotations

import time

import httpx
import orjson
from harness import organizer_client, parse_args, parser, report


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


def main() -> None:
    options = parser(__doc__, 18301)
    options.add_argument("--batch", type=int, default=1000)
    args = parse_args(options)
    with organizer_client(args.database, args.port) as client:
        started = time.perf_counter()
        inject_over_http(client, args.tickets, args.batch)
        seconds = time.perf_counter() - started
    report({"tickets": args.tickets, "seconds": round(seconds, 2),
            "ticketsPerSecond": round(args.tickets / seconds), "database": args.database}, args.json)


if __name__ == "__main__":
    main()
