"""The overview (``GET /api/overview``, the home screen) at scale: it must answer in under 100 ms with a
million tickets (issue 13 item 1), by reading indexes, never scanning a table.

    python benchmarks/overview.py --tickets 1000000 --database sqlite|postgresql [--json]

1. A fresh back-office database (migrated) is seeded with bulk inserts (``kernel.bulk.bulk_insert``,
   pages of 20,000 rows): ``--tickets`` tickets of one event with ``--contacts`` contacts, one
   distribution line per ticket (the newest 2 % PENDING: a transfer stays pending at most the wallet's
   time-out, so pending lines are recent ones; 3 % CANCELLED, the rest CONFIRMED), three interfaces of
   four schedules each, ``--executions`` executions spread over the last 30 days (2 % ERROR, 5 % WARNING,
   the rest OK; continuous mode's history) and ``--parked`` parked records on the feedback schedules.
   ``--vacuum``: then ``VACUUM ANALYZE`` (PostgreSQL) or ``ANALYZE`` (SQLite), what autovacuum does
   after a bulk load (this machine runs PostgreSQL with autovacuum off): PostgreSQL's counts become
   index-only scans once the visibility map is set.
2. The overview service (``services.overview.overview``, one read unit) is timed ``--repeat`` times after
   one warm-up call, then the endpoint itself through the ASGI app in process (HTTP Basic: each request
   also checks the password, a deliberately slow scrypt hash, which the API's dependency caches).

Prints {"tickets", "lines", "pendingLines", "executions", "parked", "seedSeconds", "serviceMinMs",
"serviceP50Ms", "serviceMaxMs", "endpointMinMs", "endpointP50Ms", "endpointMaxMs", "loadAverage",
"vacuum", "database"}: on a shared machine the minimum is the cost of the work, the median and maximum include
waiting for a core (``loadAverage``, the machine's one-minute load when the timing ended).
"""

from __future__ import annotations

import os
import statistics
import time
from datetime import datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from harness import fresh_database, parse_args, parser, report
from sqlalchemy import Engine, text

from tixtrace.backoffice.app import create_backoffice_app
from tixtrace.backoffice.db.database import open_backoffice_database
from tixtrace.backoffice.db.tables import (
    contacts,
    distribution_lines,
    events,
    executions,
    interfaces,
    parked_records,
    schedules,
    tickets,
)
from tixtrace.backoffice.services.overview import overview
from tixtrace.backoffice.services.users import create_user
from tixtrace.kernel.bulk import bulk_insert
from tixtrace.kernel.clock import SystemClock
from tixtrace.kernel.db import unit_of_work

PAGE = 20_000
FUNCTIONS = ("TICKETS_INJECTION", "RETRIEVE_TICKET_STATUS", "PUSH_CANCELLED", "PUSH_CONTROLLED")
FEATURE = ("TIXNGO_LIFECYCLE_MODE=lifecycle\nenableTicketDistributionToCulturalContact=true\n"
           "overlaySpectatorDetailsWithLastOwner=true")
COUNTERS = ("records_read", "tickets_updated", "contacts_created", "contacts_completed", "contacts_removed",
            "lines_created", "lines_updated", "skipped", "failed", "parked")


def _pages(engine: Engine, table: Any, count: int, row: Any) -> None:
    for start in range(0, count, PAGE):
        with unit_of_work(engine) as conn:
            bulk_insert(conn, table, [row(i) for i in range(start + 1, min(start + PAGE, count) + 1)])


def seed(engine: Engine, args: Any, now: datetime) -> dict[str, int]:
    with unit_of_work(engine) as conn:
        bulk_insert(conn, events, [{"id": 1, "code": "WC26-M01", "name": "Opening match", "start_time": now,
                                    "venue_site": "Estadio Azteca", "venue_city": "Mexico City", "venue_zip": "04650",
                                    "venue_country_code": "MX", "created_at": now}])
        bulk_insert(conn, interfaces, [{
            "id": i, "name": f"TIXNGO {i}", "type": "TIXNGO", "url": f"http://127.0.0.1:{8000 + i}/organizer/tickets",
            "login": "admin@organizer.example", "password": "fernet:not-a-real-key", "notification_emails": [],
            "custom_parameters": FEATURE, "parameters": {}, "warnings": [], "created_at": now, "updated_at": now,
        } for i in (1, 2, 3)])
        bulk_insert(conn, schedules, [{
            "id": (i - 1) * 4 + n + 1, "interface_id": i, "function": function, "launch": "AUTOMATIC",
            "frequency_minutes": 0 if function == "RETRIEVE_TICKET_STATUS" else 5, "batch_size": 1000,
            "skip_ticket_numbers": [], "event_codes": [], "created_at": now, "updated_at": now,
            "caught_up_at": now - timedelta(minutes=i),
        } for i in (1, 2, 3) for n, function in enumerate(FUNCTIONS)])
    _pages(engine, contacts, args.contacts, lambda i: {
        "id": i, "kind": "INDIVIDUAL", "last_name": f"N{i}", "email": f"fan{i}@bench.example",
        "email_key": f"fan{i}@bench.example", "has_internet_account": False, "is_temporary": False,
        "created_at": now, "updated_at": now})
    _pages(engine, tickets, args.tickets, lambda i: {
        "id": i, "number": f"B{i:010d}", "event_id": 1, "barcode": f"BC{i:010d}", "status": "PRINTED",
        "cultural_contact_id": i % args.contacts + 1, "owner_contact_id": i % args.contacts + 1,
        "mobile_status": "TRANSFERRED", "created_at": now, "updated_at": now})

    pending_from = args.tickets - args.tickets // 50  # a transfer is pending at most the wallet's time-out

    def line(i: int) -> dict[str, Any]:
        status = "PENDING" if i > pending_from else "CANCELLED" if i % 33 == 0 else "CONFIRMED"
        return {"id": i, "ticket_id": i, "transfer_id": f"tr-{i}", "action": "DISTRIBUTE",
                "old_contact_id": i % args.contacts + 1, "new_contact_id": (i + 1) % args.contacts + 1,
                "recipient_email": f"fan{(i + 1) % args.contacts + 1}@bench.example", "status": status,
                "initiated_at": now, "resolved_at": None if status == "PENDING" else now, "recorded_at": now,
                "updated_at": now, "opened_record_id": i, "initiated_by": "SPECTATOR",
                "expires_at": now + timedelta(hours=1) if status == "PENDING" else None}
    _pages(engine, distribution_lines, args.tickets, line)

    span = timedelta(days=30).total_seconds()

    def execution(i: int) -> dict[str, Any]:
        started = now - timedelta(seconds=span * (args.executions - i) / args.executions)
        status = "ERROR" if i % 50 == 0 else "WARNING" if i % 20 == 0 else "OK"
        schedule = i % 12 + 1
        return {"id": i, "schedule_id": schedule, "function": FUNCTIONS[(schedule - 1) % 4], "status": status,
                "started_at": started, "ended_at": started + timedelta(seconds=2), **dict.fromkeys(COUNTERS, 0)}
    _pages(engine, executions, args.executions, execution)
    feedbacks = [2, 6, 10]
    _pages(engine, parked_records, args.parked, lambda i: {
        "id": i, "schedule_id": feedbacks[i % 3], "record_id": i, "ticket_number": f"B{i:010d}",
        "record": {"recordId": i}, "error": "unknown status 'TELEPORTED'", "parked_at": now})
    return {"tickets": args.tickets, "lines": args.tickets, "pendingLines": args.tickets // 50,
            "executions": args.executions, "parked": args.parked}


def _timed(call: Any, repeat: int) -> list[float]:
    call()  # warm-up: caches, prepared plans
    spent = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        spent.append((time.perf_counter() - started) * 1000)
    return spent


def main() -> None:
    options = parser(__doc__, 0)
    options.add_argument("--contacts", type=int, default=100_000)
    options.add_argument("--executions", type=int, default=200_000)
    options.add_argument("--parked", type=int, default=1_000)
    options.add_argument("--repeat", type=int, default=50)
    options.add_argument("--vacuum", action="store_true", help="VACUUM ANALYZE / ANALYZE after seeding")
    args = parse_args(options)
    clock = SystemClock()
    with fresh_database(args.database, "overview") as url:
        engine = open_backoffice_database(url)
        now = clock.now()
        started = time.perf_counter()
        sizes = seed(engine, args, now)
        seed_seconds = time.perf_counter() - started
        if args.vacuum:
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE" if args.database == "postgresql" else "ANALYZE"))
        with unit_of_work(engine) as conn:
            create_user(conn, "bench", "bench password", now, actor="cli")

        def service() -> None:
            with unit_of_work(engine, write=False) as conn:
                view = overview(conn, clock.now())
            assert view.pending_transfers == sizes["pendingLines"] and view.parked_records == args.parked

        service_ms = _timed(service, args.repeat)
        with TestClient(create_backoffice_app(engine, clock)) as client:
            client.auth = ("bench", "bench password")

            def endpoint() -> None:
                response = client.get("/api/overview")
                assert response.status_code == 200, response.text

            endpoint_ms = _timed(endpoint, args.repeat)
        engine.dispose()
    report({**sizes, "seedSeconds": round(seed_seconds, 1),
            "serviceMinMs": round(min(service_ms), 1), "serviceP50Ms": round(statistics.median(service_ms), 1),
            "serviceMaxMs": round(max(service_ms), 1), "endpointMinMs": round(min(endpoint_ms), 1),
            "endpointP50Ms": round(statistics.median(endpoint_ms), 1), "endpointMaxMs": round(max(endpoint_ms), 1),
            "loadAverage": round(os.getloadavg()[0], 1), "vacuum": args.vacuum, "database": args.database},
           args.json)


if __name__ == "__main__":
    main()
