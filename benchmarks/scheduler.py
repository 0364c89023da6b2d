"""Schedulers scale out (issue 15 item 4): several ``tixtrace backoffice scheduler`` processes on one
database share the AUTOMATIC schedules of many wallet organizers, under wallet activity.

1. A wallet (its own process, sandbox mode) with ``--organizers`` organizers, each with
   ``--tickets-per-organizer`` injected tickets; the back office holds the same tickets, and one
   interface per organizer (its own login and API key, stored encrypted) with a continuous feedback
   schedule (AUTOMATIC, frequency 0).
2. ``--schedulers`` scheduler processes start; once every schedule has caught up with the injection,
   the measured window of ``--duration`` seconds begins: spectators transfer tickets of every
   organizer at ``--rate`` transfers a second, each accepted ``--resolve-after`` seconds later.
   ``--kill-after S``: one scheduler is SIGKILLed S seconds into the window (the others must take its
   schedules over).
3. Every execution is read from the schedulers' own log lines (one per ended execution: schedule,
   execution, start, end, records read), so the executions that continuous mode later folds away
   (O4) count too, and each is known by the scheduler that ran it; the executions table is checked
   as well (it also holds the run of a killed scheduler, ended "interrupted" by the one that took
   over).

Prints {"schedulers", "organizers", "executions", "overlaps", "maxStartDelaySeconds",
"executionsPerScheduler", ...}:
- overlaps: pairs of executions of one schedule that ran at the same time (logs and table); must be 0;
- maxStartDelaySeconds: the longest wait of a schedule beyond its due time, over consecutive
  executions of one schedule in the window (due = the previous end, plus the idle pause after a
  run that read nothing, or the error pause after an ERROR);
- startedBeforeDue: executions that started before they were due (a second run right after another
  scheduler's, inside the pause that run called for): 0 when schedulers agree on due times;
- takeoverSeconds (with --kill-after): the longest time from the kill to the next start of each
  schedule;
- executionsPerScheduler: executions ended in the window, per scheduler (in start order);
- schedulerCpuSeconds: CPU time of each scheduler process over the window.
By default the databases live in the temporary PostgreSQL cluster sized for the data
(``--postgres sized``, benchmarks/harness.py: ``max_connections=200``, removed afterwards): three
schedulers with ten runs each, a wallet and the spectators need more connections than the machine's
shared server (100) leaves to one user. ``--postgres machine`` uses that server instead.
Indicative on a shared machine: the wallet, the schedulers, the spectators and the database share
the same cores.
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import signal
import tempfile
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from harness import background, cpu_seconds, fresh_database, parse_args, parser, report, serve
from scenery import inject, seed_backoffice, sender_email, sign_in
from sqlalchemy import Engine, select

from tixtrace.backoffice.db.database import open_backoffice_database
from tixtrace.backoffice.db.tables import executions
from tixtrace.backoffice.interfaces.scheduler import ERROR_PAUSE_SECONDS, IDLE_PAUSE_SECONDS
from tixtrace.kernel.clock import SystemClock
from tixtrace.kernel.db import unit_of_work
from tixtrace.wallet.db.database import open_wallet_database
from tixtrace.wallet.services.organizers import create_organizer

SENDERS = 50
#: the scheduler's line for an ended execution (``Scheduler._run``)
ENDED = re.compile(r"schedule (\d+): execution (\d+) ended (\w+) \(started (\S+), ended (\S+), (\d+) records read\)")


def sender(i: int) -> str:
    return sender_email(i % SENDERS)


def recipient(i: int) -> str:
    return f"friend{i}@bench.example"


def number(organizer: int, i: int) -> str:
    return f"S{organizer:03d}-{i:06d}"


@dataclass(frozen=True)
class Execution:
    schedule: int
    id: int
    status: str
    start: datetime
    end: datetime
    records: int
    scheduler: int


def seed(wallet_url: str, base: str, backoffice: Engine, organizers: int, per_organizer: int) -> list[int]:
    """The organizers and their tickets in both services, an interface and a continuous feedback schedule
    per organizer; returns the schedule ids."""
    wallet_db = open_wallet_database(wallet_url)
    with unit_of_work(wallet_db) as conn:
        made = [create_organizer(conn, SystemClock(), f"org{o}@bench.example") for o in range(organizers)]
    wallet_db.dispose()
    auths = [(organizer.email, key) for organizer, key in made]
    made_tickets = []
    for o, auth in enumerate(auths):
        mine = [(number(o, i), f"B{o:03d}{i:06d}", i % SENDERS) for i in range(per_organizer)]
        with httpx.Client(base_url=base, auth=auth, timeout=120) as wallet:
            inject(wallet, mine)
        made_tickets += mine
    return seed_backoffice(backoffice, base, made_tickets, SENDERS, auths, batch_size=1000)


def sessions(base: str, transfers: int) -> dict[str, str]:
    """A sandbox session per sender and recipient; recipients get the profile accepting needs."""
    with httpx.Client(base_url=base, timeout=60) as wallet:
        return sign_in(wallet, [sender(s) for s in range(SENDERS)], [recipient(r) for r in range(transfers)])


def drive(base: str, tokens: dict[str, str], organizers: int, rate: float, duration: float, resolve_after: float,
          stop: threading.Event, failures: list[BaseException]) -> int:
    """Transfers at ``rate`` a second, spread over the organizers (transfer k: ticket k // organizers
    of organizer k % organizers), each accepted ``resolve_after`` seconds later; returns how many.
    Four threads, each holding its transfer until the accept: the rate reached is at most
    4 / ``resolve_after`` a second (activity for the schedulers, not a throughput figure)."""
    started = time.monotonic()
    count = int(rate * duration)
    with httpx.Client(base_url=base, timeout=60) as wallet, ThreadPoolExecutor(max_workers=4) as pool:
        def transfer(k: int) -> None:
            try:
                i, o = k // organizers, k % organizers
                response = wallet.post(f"/spectator/tickets/{number(o, i)}/transfers",
                                       json={"recipientEmail": recipient(k)},
                                       headers={"Authorization": f"Bearer {tokens[sender(i)]}"})
                response.raise_for_status()
                time.sleep(resolve_after)
                wallet.post(f"/spectator/transfers/{response.json()['transferId']}/accept",
                            headers={"Authorization": f"Bearer {tokens[recipient(k)]}"}).raise_for_status()
            except BaseException as exc:  # reported after the run
                failures.append(exc)

        for k in range(count):
            wait = started + k / rate - time.monotonic()
            if wait > 0 and stop.wait(wait):
                break
            pool.submit(transfer, k)
    return count


def ended_executions(log: Path, scheduler: int) -> list[Execution]:
    found = []
    for line in log.read_text(errors="replace").splitlines():
        match = ENDED.search(line)
        if match:
            schedule, execution, status, start, end, records = match.groups()
            found.append(Execution(int(schedule), int(execution), status, datetime.fromisoformat(start),
                                   datetime.fromisoformat(end), int(records), scheduler))
    return found


def overlaps(intervals: list[tuple[int, datetime, datetime]]) -> int:
    """Pairs of intervals of one schedule (``(schedule, start, end)``) that overlap."""
    by_schedule: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    for schedule, start, end in intervals:
        by_schedule[schedule].append((start, end))
    count = 0
    for runs in by_schedule.values():
        runs.sort()
        latest_end = None
        for start, end in runs:
            if latest_end is not None and start < latest_end:
                count += 1
            latest_end = end if latest_end is None else max(latest_end, end)
    return count


def start_delays(runs: list[Execution]) -> list[float]:
    """For consecutive executions of one schedule: how long the later one started after it was due."""
    by_schedule: dict[int, list[Execution]] = defaultdict(list)
    for run in runs:
        by_schedule[run.schedule].append(run)
    delays = []
    for ordered in by_schedule.values():
        ordered.sort(key=lambda r: r.start)
        for previous, following in zip(ordered, ordered[1:], strict=False):
            pause = ERROR_PAUSE_SECONDS if previous.status == "ERROR" else 0 if previous.records else IDLE_PAUSE_SECONDS
            delays.append((following.start - (previous.end + timedelta(seconds=pause))).total_seconds())
    return delays


def wait_caught_up(backoffice: Engine, schedule_ids: list[int], timeout: float = 600) -> None:
    """Until every schedule has an execution that read records and ended OK (the injection)."""
    deadline = time.monotonic() + timeout
    while True:
        with unit_of_work(backoffice, write=False) as conn:
            done = set(conn.scalars(select(executions.c.schedule_id).where(
                executions.c.status == "OK", executions.c.records_read > 0)))
        if done >= set(schedule_ids):
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"the schedulers did not catch up with the injection ({len(done)} of {len(schedule_ids)})")
        time.sleep(0.5)


def main() -> None:
    options = parser(__doc__, 18307)
    options.set_defaults(database="postgresql")
    options.add_argument("--schedulers", type=int, default=3)
    options.add_argument("--organizers", type=int, default=30)
    options.add_argument("--tickets-per-organizer", type=int, default=40)
    options.add_argument("--duration", type=float, default=60.0, help="seconds of the measured window")
    options.add_argument("--rate", type=float, default=5.0, help="spectator transfers a second (all organizers)")
    options.add_argument("--resolve-after", type=float, default=1.0, help="seconds before a transfer is accepted")
    options.add_argument("--kill-after", type=float, default=None,
                         help="SIGKILL the first scheduler this many seconds into the window")
    options.add_argument("--seed", type=int, default=7)
    options.set_defaults(postgres="sized")
    args = parse_args(options)
    if args.database == "sqlite" and args.schedulers != 1:
        raise SystemExit("SQLite runs one scheduler per database: pass --schedulers 1, or --database postgresql")
    random.seed(args.seed)
    transfers = int(args.rate * args.duration)
    if transfers > args.organizers * args.tickets_per_organizer:
        raise SystemExit("more transfers than tickets: raise --tickets-per-organizer")
    logs = Path(tempfile.mkdtemp(prefix="tixtrace-bench-schedulers-"))
    try:
        result = measure(args, transfers, logs)
    finally:
        shutil.rmtree(logs, ignore_errors=True)
    report(result, args.json)


def measure(args: argparse.Namespace, transfers: int, logs: Path) -> dict[str, object]:
    with fresh_database(args.database, "schedwallet") as wallet_url, \
            fresh_database(args.database, "schedbackoffice") as backoffice_url:
        backoffice = open_backoffice_database(backoffice_url)  # migrates it
        open_wallet_database(wallet_url).dispose()
        with serve(["wallet", "serve", "--database-url", wallet_url, "--sandbox"], args.port) as base:
            schedule_ids = seed(wallet_url, base, backoffice, args.organizers, args.tickets_per_organizer)
            tokens = sessions(base, transfers)
            command = ["backoffice", "scheduler", "--database-url", backoffice_url]
            killed: int | None = None
            with ExitStack() as stack:
                processes = [stack.enter_context(background(command, logs / f"scheduler{n}.log"))
                             for n in range(args.schedulers)]
                wait_caught_up(backoffice, schedule_ids)
                cpu_before = [cpu_seconds(p) for p in processes]
                window_start = datetime.now(UTC)
                stop, failures = threading.Event(), list[BaseException]()
                driver = threading.Thread(target=drive, args=(base, tokens, args.organizers, args.rate, args.duration,
                                                              args.resolve_after, stop, failures), daemon=True)
                driver.start()
                started = time.monotonic()
                killed_at = None
                if args.kill_after is not None:
                    time.sleep(max(0.0, args.kill_after))
                    processes[0].send_signal(signal.SIGKILL)
                    processes[0].wait(timeout=30)
                    killed, killed_at = 0, datetime.now(UTC)
                time.sleep(max(0.0, args.duration - (time.monotonic() - started)))
                window_end = datetime.now(UTC)
                cpu = [None if n == killed else round(cpu_seconds(p) - cpu_before[n], 2)
                       for n, p in enumerate(processes)]
                stop.set()
                driver.join(timeout=120)
        with unit_of_work(backoffice, write=False) as conn:
            rows = conn.execute(select(executions.c.schedule_id, executions.c.started_at, executions.c.ended_at,
                                       executions.c.status)).all()
        backoffice.dispose()
    if failures:
        raise SystemExit(f"a wallet call failed: {failures[0]!r}")
    runs = [run for n in range(args.schedulers) for run in ended_executions(logs / f"scheduler{n}.log", n)]
    in_window = [run for run in runs if window_start <= run.start and run.end <= window_end]
    table = [(int(r.schedule_id), _utc(r.started_at), _utc(r.ended_at) if r.ended_at else window_end) for r in rows]
    delays = start_delays(in_window)
    result: dict[str, object] = {
        "schedulers": args.schedulers, "organizers": args.organizers, "executions": len(in_window),
        "overlaps": overlaps([(r.schedule, r.start, r.end) for r in runs]) + overlaps(table),
        "maxStartDelaySeconds": round(max(delays), 3) if delays else None,
        "p50StartDelaySeconds": round(_percentile(delays, 0.50), 3) if delays else None,
        "p99StartDelaySeconds": round(_percentile(delays, 0.99), 3) if delays else None,
        "startedBeforeDue": sum(1 for delay in delays if delay < 0),
        "executionsPerScheduler": [sum(1 for r in in_window if r.scheduler == n) for n in range(args.schedulers)],
        "schedulesRun": len({r.schedule for r in in_window}),
        "recordsRead": sum(r.records for r in in_window),
        "errorExecutions": sum(1 for r in in_window if r.status == "ERROR"),
        "errorsInTable": sum(1 for r in rows if r.status == "ERROR"),
        "runningLeftInTable": sum(1 for r in rows if r.status == "RUNNING"),
        "transfers": transfers, "seconds": round((window_end - window_start).total_seconds(), 1),
        "schedulerCpuSeconds": cpu, "killed": killed, "database": args.database,
    }
    if killed_at is not None:
        first_after = {}
        for run in sorted(runs, key=lambda r: r.start):
            if run.start >= killed_at:
                first_after.setdefault(run.schedule, run.start)
        result["takeoverSeconds"] = round(max((at - killed_at).total_seconds() for at in first_after.values()), 3)
        result["schedulesRunAfterKill"] = len(first_after)
    return result


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


if __name__ == "__main__":
    main()
