"""Load: the wallet's spectator API under many concurrent spectators, for a bounded time.

    python benchmarks/load.py --database sqlite|postgresql [--clients 50] [--seconds 30]
                              [--spectators 500] [--tickets 2000] [--workers 1] [--json]

Seeds a fresh sandbox wallet (``tixtrace wallet serve --sandbox --workers N`` in its own process, on
loopback) with ``--tickets`` tickets spread over ``--spectators`` spectators through the organizer
API, signs every spectator in and has each start one transfer to the next (so there is something to
accept, reject or cancel from the first second), then runs ``--clients`` concurrent clients (httpx,
one connection each) for ``--seconds`` seconds; the run stops by itself. Each client plays the app of
its own share of the spectators, one request after the other, in a realistic mix: list my tickets,
get my profile, list my transfers, transfer a ticket to another spectator, accept / reject an
incoming transfer, cancel an outgoing one.

Spectators race each other as real ones do (a sender cancels while the recipient accepts), so some
refusals are expected answers and counted as ``conflicts``: 409 TRANSFER_NOT_PENDING on accept /
reject / cancel, and on a transfer 409 TRANSFER_ALREADY_PENDING or 404 TICKET_NOT_FOUND from a
stale list. Anything else (a 5xx, any other status, a transport error or time-out) is an ``error``.

Prints {"clients", "seconds", "spectators", "tickets", "requests", "requestsPerSecond", "errors",
"conflicts", "p50Ms", "p99Ms", "kinds": {kind: {"requests", "conflicts", "errors", "p50Ms",
"p99Ms"}}, "errorSamples", "workers", "database"}; exit code 1 when there was any error.

The load itself (``seed``, ``sign_in``, ``start_transfers``, ``run_load``) is importable:
tests/wallet/test_load.py runs it for a few seconds against an in-process wallet.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

#: relative weights of the actions of a client's loop (an action lists first when the app has nothing
#: to act on: transfer → list my tickets, respond / cancel → list my transfers)
MIX = {"tickets": 25, "profile": 15, "transfers": 20, "transfer": 15, "respond": 20, "cancel": 5}
KINDS = ("tickets", "profile", "transfers", "transfer", "accept", "reject", "cancel")
#: expected refusals of a race between spectators, per kind: (status, error code)
CONFLICTS = {
    "transfer": {(409, "TRANSFER_ALREADY_PENDING"), (404, "TICKET_NOT_FOUND")},
    "accept": {(409, "TRANSFER_NOT_PENDING")},
    "reject": {(409, "TRANSFER_NOT_PENDING")},
    "cancel": {(409, "TRANSFER_NOT_PENDING")},
}
SUCCESS = {"transfer": 201}
ERROR_SAMPLES = 10


def spectator_email(index: int) -> str:
    return f"spectator{index:05d}@load.example"


def ticket_payload(index: int, owner: int) -> dict[str, Any]:
    return {
        "ticketId": f"L{index:08d}",
        "event": {"id": "WC26-M01", "name": "Opening match", "startTime": "2026-06-11T19:00:00Z",
                  "address": {"site": "Estadio Azteca", "city": "Mexico City", "zip": "04650", "countryCode": "MX"}},
        "purchaseDetails": {"fileNumber": f"F{index}", "price": 120.0, "currency": "USD"},
        "security": {"barcode": f"LB{index:010d}"},
        "spectatorDetails": {"firstName": "Fan", "lastName": f"N{owner}", "email": spectator_email(owner)},
    }


def seed(base_url: str, auth: tuple[str, str], spectators: int, tickets: int, batch: int = 1000) -> None:
    """Inject ``tickets`` tickets round-robin over ``spectators`` spectators (each gets a complete
    profile with its first ticket, so it can accept transfers)."""
    with httpx.Client(base_url=base_url, auth=auth, timeout=120) as client:
        for start in range(0, tickets, batch):
            body = {"tickets": [ticket_payload(i, i % spectators) for i in range(start, min(start + batch, tickets))]}
            response = client.post("/organizer/tickets", json=body)
            response.raise_for_status()
            refused = [r for r in response.json()["results"] if r["result"] != "INJECTED"]
            if refused:
                raise RuntimeError(f"seeding refused {len(refused)} tickets, first: {refused[0]}")


def sign_in(base_url: str, spectators: int) -> list[str]:
    """A bearer token per spectator (sandbox: by e-mail alone)."""
    with httpx.Client(base_url=base_url, timeout=60) as client:
        tokens = []
        for index in range(spectators):
            response = client.post("/spectator/session", json={"email": spectator_email(index)})
            response.raise_for_status()
            tokens.append(response.json()["token"])
    return tokens


def start_transfers(base_url: str, tokens: list[str], tickets: int) -> int:
    """Spectator s transfers its first ticket to spectator s+1 (the last to the first): the load starts
    with pending transfers to accept, reject and cancel. Returns how many were started."""
    spectators = len(tokens)
    started = 0
    with httpx.Client(base_url=base_url, timeout=60) as client:
        for index in range(min(spectators, tickets)):  # ticket i was injected to spectator i % spectators
            response = client.post(f"/spectator/tickets/{ticket_payload(index, index)['ticketId']}/transfers",
                                   json={"recipientEmail": spectator_email((index + 1) % spectators)},
                                   headers={"Authorization": f"Bearer {tokens[index]}"})
            response.raise_for_status()
            started += 1
    return started


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: {kind: [] for kind in KINDS})
    conflicts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    errors: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    samples: list[str] = field(default_factory=list)

    def error(self, kind: str, what: str) -> None:
        self.errors[kind] += 1
        if len(self.samples) < ERROR_SAMPLES:
            self.samples.append(f"{kind}: {what}")


@dataclass
class Spectator:
    index: int
    email: str
    token: str
    free_tickets: list[str] = field(default_factory=list)  # mine, no pending transfer, as last listed
    incoming: list[str] = field(default_factory=list)  # pending transfer ids to me, as last listed
    outgoing: list[str] = field(default_factory=list)  # pending transfer ids from me


class Client:
    """One app at a time for its share of the spectators: one connection, one request after the other."""

    def __init__(self, http: httpx.AsyncClient, mine: list[Spectator], everyone: int, stats: Stats,
                 rng: random.Random) -> None:
        self.http, self.mine, self.everyone, self.stats, self.rng = http, mine, everyone, stats, rng

    async def call(self, kind: str, me: Spectator, method: str, path: str, **kwargs: Any) -> httpx.Response | None:
        """Time one request; classify it; None unless it succeeded."""
        started = time.perf_counter()
        try:
            response = await self.http.request(method, path, headers={"Authorization": f"Bearer {me.token}"},
                                               **kwargs)
        except httpx.HTTPError as exc:
            self.stats.latencies[kind].append(time.perf_counter() - started)
            self.stats.error(kind, f"{type(exc).__name__}: {exc}")
            return None
        self.stats.latencies[kind].append(time.perf_counter() - started)
        if response.status_code == SUCCESS.get(kind, 200):
            return response
        code = None
        try:
            code = response.json()["error"]["code"]
        except (ValueError, KeyError, TypeError):
            pass
        if (response.status_code, code) in CONFLICTS.get(kind, set()):
            self.stats.conflicts[kind] += 1
        else:
            self.stats.error(kind, f"{method} {path} -> {response.status_code} {response.text[:200]}")
        return None

    async def list_tickets(self, me: Spectator) -> None:
        response = await self.call("tickets", me, "GET", "/spectator/tickets", params={"limit": 100})
        if response is not None:
            me.free_tickets = [t["ticketId"] for t in response.json()["items"]
                               if t["pendingTransfer"] is None and t["status"] not in ("CONTROLLED", "DELETED")]

    async def list_transfers(self, me: Spectator) -> None:
        response = await self.call("transfers", me, "GET", "/spectator/transfers", params={"limit": 100})
        if response is not None:
            pending = [t for t in response.json()["items"] if t["status"] == "PENDING"]
            me.incoming = [t["transferId"] for t in pending if t["role"] == "INCOMING"]
            me.outgoing = [t["transferId"] for t in pending if t["role"] == "OUTGOING"]

    async def transfer(self, me: Spectator) -> None:
        if not me.free_tickets:  # the app shows my tickets first
            await self.list_tickets(me)
            if not me.free_tickets:
                return
        ticket = me.free_tickets.pop(self.rng.randrange(len(me.free_tickets)))
        other = self.rng.randrange(self.everyone - 1)
        recipient = spectator_email(other if other < me.index else other + 1)
        response = await self.call("transfer", me, "POST", f"/spectator/tickets/{ticket}/transfers",
                                   json={"recipientEmail": recipient})
        if response is not None and response.json()["status"] == "PENDING":
            me.outgoing.append(response.json()["transferId"])

    async def respond(self, me: Spectator) -> None:
        if not me.incoming:  # the app shows my transfers first
            await self.list_transfers(me)
            if not me.incoming:
                return
        transfer_id = me.incoming.pop(self.rng.randrange(len(me.incoming)))
        action = "accept" if self.rng.random() < 0.7 else "reject"
        await self.call(action, me, "POST", f"/spectator/transfers/{transfer_id}/{action}")

    async def cancel(self, me: Spectator) -> None:
        if not me.outgoing:
            await self.list_transfers(me)
            if not me.outgoing:
                return
        transfer_id = me.outgoing.pop(self.rng.randrange(len(me.outgoing)))
        await self.call("cancel", me, "POST", f"/spectator/transfers/{transfer_id}/cancel")

    async def run(self, deadline: float) -> None:
        actions = list(MIX)
        weights = list(MIX.values())
        while time.perf_counter() < deadline:
            me = self.rng.choice(self.mine)
            action = self.rng.choices(actions, weights)[0]
            if action == "tickets":
                await self.list_tickets(me)
            elif action == "profile":
                await self.call("profile", me, "GET", "/spectator/profile")
            elif action == "transfers":
                await self.list_transfers(me)
            elif action == "transfer":
                await self.transfer(me)
            elif action == "respond":
                await self.respond(me)
            else:
                await self.cancel(me)


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending list, in milliseconds (0 for no values)."""
    if not sorted_values:
        return 0.0
    rank = max(1, min(len(sorted_values), round(fraction * len(sorted_values) + 0.5)))
    return round(sorted_values[rank - 1] * 1000, 1)


async def _load(base_url: str, tokens: list[str], clients: int, seconds: float, seed_value: int) -> tuple[Stats, float]:
    stats = Stats()
    people = [Spectator(index, spectator_email(index), token) for index, token in enumerate(tokens)]
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    http_clients = [httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits) for _ in range(clients)]
    try:
        workers = [Client(http, people[c::clients], len(people), stats, random.Random(seed_value * 1000 + c))
                   for c, http in enumerate(http_clients)]
        started = time.perf_counter()
        await asyncio.gather(*(worker.run(started + seconds) for worker in workers))
        elapsed = time.perf_counter() - started
    finally:
        for http in http_clients:
            await http.aclose()
    return stats, elapsed


def run_load(base_url: str, tokens: list[str], *, clients: int, seconds: float, seed_value: int = 1) -> dict[str, Any]:
    """Run the load for ``seconds`` (each client finishes its request in flight) and summarize it."""
    if clients > len(tokens):
        raise ValueError(f"{clients} clients need at least as many spectators, got {len(tokens)}")
    stats, elapsed = asyncio.run(_load(base_url, tokens, clients, seconds, seed_value))
    everything = sorted(value for values in stats.latencies.values() for value in values)
    kinds = {}
    for kind in KINDS:
        values = sorted(stats.latencies[kind])
        kinds[kind] = {"requests": len(values), "conflicts": stats.conflicts[kind], "errors": stats.errors[kind],
                       "p50Ms": percentile(values, 0.50), "p99Ms": percentile(values, 0.99)}
    return {
        "clients": clients, "seconds": round(elapsed, 2), "requests": len(everything),
        "requestsPerSecond": round(len(everything) / elapsed, 1) if elapsed else 0.0,
        "errors": sum(stats.errors.values()), "conflicts": sum(stats.conflicts.values()),
        "p50Ms": percentile(everything, 0.50), "p99Ms": percentile(everything, 0.99),
        "kinds": kinds, "errorSamples": stats.samples,
    }


def main() -> None:
    from harness import parse_args, parser, report, sandbox_wallet  # here: the test imports this module without harness

    options = parser(__doc__, 18306)  # feedback.py has 18303, lag.py 18305
    options.set_defaults(tickets=2000)
    options.add_argument("--clients", type=int, default=50)
    options.add_argument("--seconds", type=float, default=30.0)
    options.add_argument("--spectators", type=int, default=500)
    options.add_argument("--workers", type=int, default=1, help="wallet worker processes (serve --workers)")
    args = parse_args(options)
    if (args.workers < 1 or args.clients < 1 or args.seconds <= 0 or args.spectators < max(2, args.clients)
            or args.tickets < 1):
        options.error("need --workers >= 1, --clients >= 1, --seconds > 0, --spectators >= max(2, clients), "
                      "--tickets >= 1")
    # its own database name: other benchmarks running at the same time keep theirs
    with sandbox_wallet(args.database, args.port, name="load_wallet", workers=args.workers) as (base_url, auth):
        seed(base_url, auth, args.spectators, args.tickets)
        tokens = sign_in(base_url, args.spectators)
        start_transfers(base_url, tokens, args.tickets)
        result = run_load(base_url, tokens, clients=args.clients, seconds=args.seconds)
    result = {**result, "spectators": args.spectators, "tickets": args.tickets, "workers": args.workers,
              "database": args.database}
    if args.json:
        report(result, True)
    else:
        kinds = result.pop("kinds")
        samples = result.pop("errorSamples")
        report(result, False)
        print(f"\n{'kind':<10} {'requests':>9} {'conflicts':>9} {'errors':>7} {'p50 ms':>8} {'p99 ms':>8}")
        for kind, row in kinds.items():
            print(f"{kind:<10} {row['requests']:>9} {row['conflicts']:>9} {row['errors']:>7} "
                  f"{row['p50Ms']:>8} {row['p99Ms']:>8}")
        for sample in samples:
            print(f"error: {sample}")
    if result["errors"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
