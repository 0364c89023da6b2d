"""Diff-feed read throughput: lifecycle records paged out of the wallet over HTTP.

    python benchmarks/feed_read.py --tickets 100000 --database sqlite [--batch-size 10000] [--json]

Seeds the wallet with ``--tickets`` injected tickets (one INJECTED record each) through its own HTTP
API, then times one full read of the feed from the start, the way the back office's feedback reads
it. Prints {"records", "seconds", "recordsPerSecond", "emptyCallMs", "database"}; ``emptyCallMs`` is
one more diff call once everything was read (the "nothing new" case).
"""

from __future__ import annotations

import time

import orjson
from harness import organizer_client, parse_args, parser, report
from injection import inject_over_http


def main() -> None:
    options = parser(__doc__, 18302)
    options.add_argument("--batch-size", type=int, default=10_000)
    args = parse_args(options)
    with organizer_client(args.database, args.port) as client:
        inject_over_http(client, args.tickets, 1000)
        records, key = 0, ""
        started = time.perf_counter()
        while True:
            response = client.get("/organizer/tickets/diff", params={"paginationKey": key,
                                                                     "batchSize": args.batch_size})
            response.raise_for_status()
            page = orjson.loads(response.content)
            records += len(page["records"])
            key = page["paginationKey"]
            if not page["hasMore"]:
                break
        seconds = time.perf_counter() - started
        empty_started = time.perf_counter()
        client.get("/organizer/tickets/diff", params={"paginationKey": key}).raise_for_status()
        empty_ms = (time.perf_counter() - empty_started) * 1000
    report({"records": records, "seconds": round(seconds, 2), "recordsPerSecond": round(records / seconds),
            "emptyCallMs": round(empty_ms, 1), "database": args.database}, args.json)


if __name__ == "__main__":
    main()
