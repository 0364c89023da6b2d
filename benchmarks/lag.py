"""Continuous feedback lag: how long a wallet change takes to show in the back office.

    python benchmarks/lag.py [--rate 20] [--duration 60] [--database sqlite|postgresql] [--json]

1. A wallet in its own process (``tixtrace wallet serve --sandbox``: passwordless spectator sessions)
   with one ticket per transfer to come, injected over HTTP; the back office holds the same tickets
   (PRINTED) and their holders' contacts, and a TIXNGO interface with the feature active and an
   AUTOMATIC feedback schedule of frequency 0 (continuous mode).
2. ``tixtrace backoffice scheduler`` runs in its own process and catches up with the injection
   records first (not measured).
3. A steady stream of spectator transfers through the wallet's spectator API: ``--rate`` new
   transfers a second for ``--duration`` seconds; ``--resolve-after`` seconds after its start each
   transfer is accepted (50 %), rejected (20 %), cancelled by its sender (15 %) or left pending (15 %).
4. For each wallet change (a transfer started, accepted, rejected, cancelled) the time its HTTP answer
   came back is recorded (the change was committed by then); a poller reads the back-office database
   every ``--poll-ms`` and notes when the change is visible: the transfer's distribution line exists
   (started), is CONFIRMED (accepted) or CANCELLED (rejected, cancelled).

Prints {"changes", "transfers", "seconds", "changesPerSecond", "lagP50Ms", "lagP99Ms", "lagMaxMs",
"notVisible", "executions", "driverLateMaxMs", "database", ...}. driverLateMaxMs: how far behind its
timetable the stream fell (large: the offered rate was not reached). Lag includes up to one poll
interval. Indicative on a shared machine: the stream driver, the poller, the wallet, the scheduler
and the database share the same cores.
"""

from __future__ import annotations

import heapq
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx
from harness import background, create_organizer, fresh_database, parse_args, parser, report, serve
from scenery import inject, seed_backoffice, sender_email, sign_in
from sqlalchemy import Engine, func, select

from tixtrace.backoffice.db.database import open_backoffice_database
from tixtrace.backoffice.db.tables import distribution_lines, executions, schedules
from tixtrace.kernel.db import unit_of_work
from tixtrace.wallet.db.database import open_wallet_database
from tixtrace.wallet.db.tables import status_log

SENDERS = 100
RECIPIENTS = 200
#: what a change must reach in the back office to count as visible
VISIBLE = {"start": {"PENDING", "CONFIRMED", "CANCELLED"}, "accept": {"CONFIRMED"}, "reject": {"CANCELLED"},
           "cancel": {"CANCELLED"}}


def sender(i: int) -> str:
    return sender_email(i % SENDERS)


def recipient(i: int) -> str:
    return f"friend{i % RECIPIENTS}@bench.example"


def number(i: int) -> str:
    return f"L{i:08d}"


@dataclass
class Change:
    kind: str  # start | accept | reject | cancel
    ticket: int
    transfer_id: str
    made: float  # time.monotonic() when the wallet answered
    seen: float | None = None


def seed(wallet: httpx.Client, backoffice: Engine, tickets: int, base: str, auth: tuple[str, str],
         batch_size: int) -> int:
    """The tickets in both services, the interface and its continuous feedback schedule; its id."""
    made = [(number(i), f"BC{i:010d}", i % SENDERS) for i in range(tickets)]
    inject(wallet, made)
    [schedule_id] = seed_backoffice(backoffice, base, made, SENDERS, [auth], batch_size)
    return schedule_id


def sessions(wallet: httpx.Client) -> dict[str, str]:
    """A session token per sender and recipient; recipients get the profile accepting needs."""
    return sign_in(wallet, [sender(s) for s in range(SENDERS)], [recipient(r) for r in range(RECIPIENTS)])


def wait_caught_up(wallet_db: Engine, backoffice: Engine, schedule_id: int, timeout: float = 600) -> None:
    with unit_of_work(wallet_db, write=False) as conn:
        last = conn.scalar(select(func.max(status_log.c.record_id))) or 0
    deadline = time.monotonic() + timeout
    while True:
        with unit_of_work(backoffice, write=False) as conn:
            applied = conn.scalar(select(schedules.c.last_record_id).where(schedules.c.id == schedule_id)) or 0
        if applied >= last:
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"the scheduler did not catch up with the injection ({applied} of {last} records)")
        time.sleep(0.2)


class Poller(threading.Thread):
    """Reads the distribution lines every ``interval`` s and stamps the changes that became visible."""

    def __init__(self, engine: Engine, interval: float) -> None:
        super().__init__(name="poller", daemon=True)
        self.engine = engine
        self.interval = interval
        self.lock = threading.Lock()
        self.waiting: list[Change] = []
        self.stop = threading.Event()

    def add(self, change: Change) -> None:
        with self.lock:
            self.waiting.append(change)

    def outstanding(self) -> int:
        with self.lock:
            return len(self.waiting)

    def run(self) -> None:
        while not self.stop.is_set():
            with unit_of_work(self.engine, write=False) as conn:
                lines = dict(conn.execute(select(distribution_lines.c.transfer_id, distribution_lines.c.status)).all())
            now = time.monotonic()
            with self.lock:
                still = []
                for change in self.waiting:
                    if lines.get(change.transfer_id) in VISIBLE[change.kind]:
                        change.seen = now
                    else:
                        still.append(change)
                self.waiting = still
            self.stop.wait(self.interval)


def drive(wallet: httpx.Client, tokens: dict[str, str], poller: Poller, rate: float, duration: float,
          resolve_after: float, seed_value: int, workers: int) -> tuple[list[Change], float, float]:
    """The stream of changes, sent on time by ``workers`` threads; returns the changes, the seconds the
    stream took, and how late (s) the latest action was sent (0 when the driver kept up)."""
    rng = random.Random(seed_value)
    changes: list[Change] = []
    agenda: list[tuple[float, int, str, str]] = []  # (due, ticket, kind, transfer id)
    outcomes = {}
    for i in range(int(rate * duration)):
        heapq.heappush(agenda, (i / rate, i, "start", ""))
        roll = rng.random()
        outcomes[i] = "accept" if roll < 0.5 else "reject" if roll < 0.7 else "cancel" if roll < 0.85 else None
    ready = threading.Condition()
    in_flight = 0
    failures: list[BaseException] = []

    def act(due: float, i: int, kind: str, transfer_id: str) -> None:
        nonlocal in_flight
        follow_up = None
        try:
            if kind == "start":
                response = wallet.post(f"/spectator/tickets/{number(i)}/transfers",
                                       json={"recipientEmail": recipient(i)},
                                       headers={"Authorization": f"Bearer {tokens[sender(i)]}"})
                response.raise_for_status()
                transfer_id = response.json()["transferId"]
                if outcomes[i]:
                    follow_up = (due + resolve_after, i, str(outcomes[i]), transfer_id)
            else:
                actor = sender(i) if kind == "cancel" else recipient(i)
                wallet.post(f"/spectator/transfers/{transfer_id}/{kind}",
                            headers={"Authorization": f"Bearer {tokens[actor]}"}).raise_for_status()
            change = Change(kind, i, transfer_id, time.monotonic())
            poller.add(change)
            with ready:
                changes.append(change)
        except BaseException as exc:  # reported after the stream
            failures.append(exc)
        finally:
            with ready:
                in_flight -= 1
                if follow_up:
                    heapq.heappush(agenda, follow_up)
                ready.notify()

    started = time.monotonic()
    late = 0.0
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="driver") as pool, ready:
        while (agenda or in_flight) and not failures:
            if not agenda:
                ready.wait(0.05)
                continue
            wait = started + agenda[0][0] - time.monotonic()
            if wait > 0:
                ready.wait(wait)
                continue
            late = max(late, -wait)
            in_flight += 1
            pool.submit(act, *heapq.heappop(agenda))
    if failures:
        raise SystemExit(f"a wallet call failed: {failures[0]!r}")
    return changes, time.monotonic() - started, late


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))] if ordered else float("nan")


def main() -> None:
    options = parser(__doc__, 18305)
    options.set_defaults(tickets=0)
    options.add_argument("--rate", type=float, default=20.0, help="new transfers a second")
    options.add_argument("--duration", type=float, default=60.0, help="seconds of stream")
    options.add_argument("--resolve-after", type=float, default=1.0,
                         help="seconds between a transfer's start and its accept/reject/cancel")
    options.add_argument("--poll-ms", type=float, default=50.0, help="how often the back office is read")
    options.add_argument("--batch-size", type=int, default=1000, help="the feedback schedule's batch size")
    options.add_argument("--settle", type=float, default=120.0, help="seconds to wait for the last changes")
    options.add_argument("--seed", type=int, default=7)
    options.add_argument("--workers", type=int, default=8, help="threads sending the stream")
    args = parse_args(options)
    transfers = int(args.rate * args.duration)
    tickets = max(args.tickets, transfers)
    with fresh_database(args.database, "lagwallet") as wallet_url, \
            fresh_database(args.database, "lagbackoffice") as backoffice_url:
        auth = create_organizer(wallet_url)  # migrates the wallet database first, in its own process
        wallet_db = open_wallet_database(wallet_url)
        backoffice = open_backoffice_database(backoffice_url)
        with serve(["wallet", "serve", "--database-url", wallet_url, "--sandbox"], args.port) as base, \
                httpx.Client(base_url=base, auth=auth, timeout=60) as organizer, \
                httpx.Client(base_url=base, timeout=60,
                             limits=httpx.Limits(max_connections=args.workers + 2)) as spectators:
            schedule_id = seed(organizer, backoffice, tickets, base, auth, args.batch_size)
            tokens = sessions(spectators)
            with background(["backoffice", "scheduler", "--database-url", backoffice_url]):
                wait_caught_up(wallet_db, backoffice, schedule_id)
                with unit_of_work(backoffice, write=False) as conn:
                    runs_before = conn.scalar(select(func.count()).select_from(executions)) or 0
                poller = Poller(backoffice, args.poll_ms / 1000)
                poller.start()
                changes, seconds, late = drive(spectators, tokens, poller, args.rate, args.duration,
                                               args.resolve_after, args.seed, args.workers)
                deadline = time.monotonic() + args.settle
                while poller.outstanding() and time.monotonic() < deadline:
                    time.sleep(0.1)
                poller.stop.set()
                poller.join()
                with unit_of_work(backoffice, write=False) as conn:
                    runs = (conn.scalar(select(func.count()).select_from(executions)) or 0) - runs_before
                    errors = conn.scalar(select(func.count()).select_from(executions)
                                         .where(executions.c.status == "ERROR")) or 0
        wallet_db.dispose()
        backoffice.dispose()
    lags = [(c.seen - c.made) * 1000 for c in changes if c.seen is not None]
    by_kind = {kind: sum(1 for c in changes if c.kind == kind) for kind in VISIBLE}
    report({"changes": len(changes), "transfers": transfers, "byKind": by_kind, "seconds": round(seconds, 2),
            "changesPerSecond": round(len(changes) / seconds, 1),
            "lagP50Ms": round(percentile(lags, 0.50), 1), "lagP99Ms": round(percentile(lags, 0.99), 1),
            "lagMaxMs": round(max(lags), 1) if lags else None, "notVisible": len(changes) - len(lags),
            "executions": runs, "errorExecutions": errors, "driverLateMaxMs": round(late * 1000, 1),
            "pollMs": args.poll_ms, "database": args.database}, args.json)


if __name__ == "__main__":
    main()
