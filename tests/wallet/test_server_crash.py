"""The wallet server SIGKILLed while spectators act (DESIGN section 3: every change of status appends
one lifecycle record in the same transaction; section 10: nothing half-written).

The real server (``tixtrace wallet serve --database-url URL --port P --sandbox``) runs as a child
process; four spectator threads transfer, accept, reject and cancel over its spectator API as fast as
they can; the server is SIGKILLed at a seeded random moment, then the database is read directly, in one
snapshot once the dead server's PostgreSQL sessions are done (this is what was durable), and the
server is restarted on it. Five kill rounds per
backend, the state accumulating; each kill lands after a random number of acknowledged actions plus
a random few milliseconds, so that it falls inside the traffic. After every kill:

- no half-written transfer: every ticket's stored state (status, owner, level, pending transfer)
  equals the fold of its status log, checked record by record (each record a legal step from the one
  before, carrying the owner and level the fold gives), and also by the domain's ``replay``; every
  transfer row's state matches the records of that transfer, and no record names an unknown transfer;
- no gap for committed actions: every action acknowledged (2xx) before the kill is in the log
  (a PENDING_TRANSFER or BACKWARD TRANSFERRED per transfer started, TRANSFERRED per accept,
  FAILURE_TRANSFER REJECTED / CANCELLED_BY_SENDER per reject / cancel);
- after a restart, the organizer detail of every ticket and the diff feed show exactly that log.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import Engine, select, text

from tests.support.wallet import run
from tixtrace.kernel.clock import SystemClock
from tixtrace.kernel.db import is_sqlite
from tixtrace.kernel.serving import free_port
from tixtrace.wallet.db.database import open_wallet_database
from tixtrace.wallet.db.tables import accounts, status_log, tickets, transfers
from tixtrace.wallet.domain.tickets import Change, Direction, Initiator, Status, Transfer, replay
from tixtrace.wallet.services.organizers import create_organizer

pytestmark = pytest.mark.slow  # a slow tier (crash): `make test-fast` leaves it out

KILLS = 5
ACTORS = 4
SPECTATORS = [f"fan{index}@example.com" for index in range(6)]
TICKETS = [f"SC-{index:03d}" for index in range(24)]
TIXTRACE = str(Path(sys.executable).parent / "tixtrace")


class Server:
    """``tixtrace wallet serve`` in a child process, on a database that outlives it."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""

    def start(self) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen([TIXTRACE, "wallet", "serve", "--database-url", self.database_url,
                                         "--port", str(port), "--sandbox"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while True:
            assert self.process.poll() is None, self.process.stderr.read()  # type: ignore[union-attr]
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the wallet server never answered /health"
            time.sleep(0.05)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        if self.process is not None:
            self.process.communicate(timeout=30)
            assert self.process.returncode == -signal.SIGKILL


@pytest.fixture
def server(wallet_url: str) -> Iterator[Server]:
    running = Server(wallet_url)
    yield running
    running.kill()


@dataclass
class Acks:
    """What the server acknowledged (2xx) to the spectators: it must survive any kill."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    started: dict[str, str] = field(default_factory=dict)  # transferId -> direction
    resolved: dict[str, str] = field(default_factory=dict)  # transferId -> accept | reject | cancel
    pending: dict[str, tuple[str, str]] = field(default_factory=dict)  # transferId -> (sender, recipient)

    def count(self) -> int:
        with self.lock:
            return len(self.started) + len(self.resolved)


class Spectators:
    """Spectator sessions (tokens live in the wallet's database, so they survive restarts)."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.tokens: dict[str, str] = {}

    def request(self, client: httpx.Client, email: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens[email]}"}
        return client.request(method, f"{self.server.url}{path}", headers=headers, timeout=10, **kwargs)

    def sign_in_all(self) -> None:
        with httpx.Client() as client:
            for index, email in enumerate(SPECTATORS):
                response = client.post(f"{self.server.url}/spectator/session", json={"email": email})
                assert response.status_code == 200, response.text
                self.tokens[email] = response.json()["token"]
                response = self.request(client, email, "PUT", "/spectator/profile",
                                        json={"firstName": f"Fan{index}", "lastName": "Crash"})
                assert response.status_code == 200, response.text


def act(spectators: Spectators, acks: Acks, rng: random.Random, stop: threading.Event) -> None:
    """One spectator thread: transfers, accepts, rejects, cancels until told to stop or the server dies."""
    with httpx.Client() as client:
        while not stop.is_set():
            try:
                with acks.lock:
                    pending = list(acks.pending.items())
                if pending and rng.random() < 0.5:
                    transfer_id, (sender, recipient) = rng.choice(pending)
                    action = rng.choice(["accept", "accept", "reject", "cancel"])
                    actor = sender if action == "cancel" else recipient
                    response = spectators.request(client, actor, "POST", f"/spectator/transfers/{transfer_id}/{action}")
                    if response.is_success:
                        with acks.lock:
                            acks.resolved[transfer_id] = action
                            acks.pending.pop(transfer_id, None)
                    elif response.status_code == 409:
                        with acks.lock:  # another thread got there first
                            acks.pending.pop(transfer_id, None)
                    continue
                sender = rng.choice(SPECTATORS)
                response = spectators.request(client, sender, "GET", "/spectator/tickets")
                if not response.is_success:
                    continue
                movable = [t["ticketId"] for t in response.json()["items"]
                           if t["pendingTransfer"] is None and t["status"] not in ("CONTROLLED", "DELETED")]
                if not movable:
                    continue
                recipient = rng.choice([email for email in SPECTATORS if email != sender])
                response = spectators.request(client, sender, "POST", f"/spectator/tickets/{rng.choice(movable)}"
                                              "/transfers", json={"recipientEmail": recipient})
                if response.status_code == 201:
                    body = response.json()
                    with acks.lock:
                        acks.started[body["transferId"]] = body["direction"]
                        if body["status"] == "PENDING":
                            acks.pending[body["transferId"]] = (sender, recipient)
            except httpx.TransportError:  # the server is gone: this thread's work is over
                return


# -- what the database holds ---------------------------------------------------------------------------

def wait_for_dead_sessions(engine: Engine) -> None:
    """PostgreSQL: a COMMIT the server sent just before its death is still applied by its backend,
    a moment later; wait until no session of the dead server is busy on the database, so that what
    is read is all that will ever be there (SQLite commits in the process: nothing comes later)."""
    if is_sqlite(engine):
        return
    deadline = time.monotonic() + 15
    with engine.connect() as conn:
        while conn.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                               "AND pid <> pg_backend_pid() AND state <> 'idle'")):
            assert time.monotonic() < deadline, "the dead server's sessions never ended"
            conn.rollback()
            time.sleep(0.02)


def stored(engine: Engine) -> tuple[dict[str, dict[str, Any]], dict[str, list[dict[str, Any]]], dict[str, Any]]:
    """Tickets (state), their status logs (records in id order) and transfer rows, by id, from one
    snapshot (REPEATABLE READ on PostgreSQL; on SQLite no writer is left)."""
    options = {} if is_sqlite(engine) else {"isolation_level": "REPEATABLE READ"}
    with engine.connect().execution_options(**options) as conn, conn.begin():
        emails = dict(conn.execute(select(accounts.c.id, accounts.c.email)).all())
        ticket_rows = {row.id: row for row in conn.execute(select(tickets))}
        logs: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in conn.execute(select(status_log).order_by(status_log.c.record_id)):
            logs[ticket_rows[row.ticket_pk].ticket_id].append({"recordId": row.record_id, **orjson.loads(row.body)})
        transfer_rows = {row.transfer_id: row for row in conn.execute(select(transfers))}
    state = {row.ticket_id: {"status": row.status, "owner": emails[row.owner_id],
                             "level": len(row.previous_owner_ids),
                             "pending": [t.transfer_id for t in transfer_rows.values()
                                         if t.ticket_pk == pk and t.state == "PENDING"]}
             for pk, row in ticket_rows.items()}
    return state, dict(logs), transfer_rows


def fold(log: list[dict[str, Any]]) -> dict[str, Any]:
    """The ticket's state from its log, refusing any record that is not a legal next step."""
    assert log and log[0]["status"] == "INJECTED", log[:1]
    owner, level, pending, status, stack = log[0]["walletOwner"]["email"], 0, None, "INJECTED", []
    for record in log[1:]:
        transfer = record["transfer"]
        assert status not in ("DELETED",), record
        if record["status"] == "PENDING_TRANSFER":
            assert pending is None, f"a second pending transfer: {record}"
            pending = transfer["transferId"]
        elif record["status"] == "TRANSFERRED":
            assert transfer["sender"]["email"] == owner, record
            if transfer["direction"] == "FORWARD":
                assert pending == transfer["transferId"], f"accepted a transfer that was not pending: {record}"
                pending = None
                stack.append(owner)
                level += 1
            else:
                assert stack and stack[-1] == transfer["recipient"]["email"], record
                stack.pop()
                level -= 1
            owner = transfer["recipient"]["email"]
        elif record["status"] in ("FAILURE_TRANSFER", "FAILURE"):
            assert pending == transfer["transferId"], f"failed a transfer that was not pending: {record}"
            pending = None
        status = record["status"]
        assert record["walletOwner"]["email"] == owner and record["transferLevel"] == level, record
    return {"status": status, "owner": owner, "level": level, "pending": [pending] if pending else []}


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def domain_replay(ticket_id: str, log: list[dict[str, Any]]) -> dict[str, Any]:
    """The same log through the domain's own ``replay``."""
    changes = []
    for record in log:
        transfer = record["transfer"]
        snapshot = None if transfer is None else Transfer(
            transfer["transferId"], ticket_id, transfer["sender"]["email"], transfer["recipient"]["email"],
            Direction(transfer["direction"]), Initiator(transfer["initiatedBy"]), _when(record["occurredAt"]),
            _when(transfer["expiresAt"]) if transfer["expiresAt"] else None)
        changes.append(Change(ticket_id, Status(record["status"]), _when(record["occurredAt"]),
                              record["walletOwner"]["email"], record["ticketHolder"], record["transferLevel"],
                              snapshot))
    replayed = replay(changes)
    assert replayed is not None
    return {"status": replayed.status.value, "owner": replayed.owner, "level": replayed.transfer_level,
            "pending": [replayed.pending_transfer_id] if replayed.pending_transfer_id else []}


def check_durable_state(engine: Engine, acks: Acks) -> dict[str, list[dict[str, Any]]]:
    state, logs, transfer_rows = stored(engine)
    assert set(state) == set(TICKETS) and set(logs) == set(TICKETS)
    by_transfer: dict[str, list[tuple[str, str | None]]] = defaultdict(list)
    for ticket_id, log in logs.items():
        assert fold(log) == state[ticket_id] == domain_replay(ticket_id, log), ticket_id
        for record in log:
            if record["transfer"] is not None:
                by_transfer[record["transfer"]["transferId"]].append((record["status"],
                                                                      record["transfer"]["failureReason"]))
    assert set(by_transfer) <= set(transfer_rows), "a record names a transfer that was never written"
    Step = tuple[str, str | None]
    outcome: dict[str, list[Step]] = {
        "ACCEPTED": [("TRANSFERRED", None)], "REJECTED": [("FAILURE_TRANSFER", "REJECTED")],
        "CANCELLED": [("FAILURE_TRANSFER", "CANCELLED_BY_SENDER")], "PENDING": []}
    for transfer_id, row in transfer_rows.items():
        start: list[Step] = [] if row.direction == "BACKWARD" else [("PENDING_TRANSFER", None)]
        assert by_transfer[transfer_id] == start + outcome[row.state], (transfer_id, row.state, row.direction)
    for transfer_id, direction in acks.started.items():
        first = ("TRANSFERRED" if direction == "BACKWARD" else "PENDING_TRANSFER", None)
        assert by_transfer[transfer_id][:1] == [first], f"acknowledged transfer {transfer_id} lost"
    expected = {"accept": ("TRANSFERRED", None), "reject": ("FAILURE_TRANSFER", "REJECTED"),
                "cancel": ("FAILURE_TRANSFER", "CANCELLED_BY_SENDER")}
    for transfer_id, action in acks.resolved.items():
        assert by_transfer[transfer_id][-1] == expected[action], f"acknowledged {action} of {transfer_id} lost"
    return logs


def check_served_state(server: Server, auth: tuple[str, str], logs: dict[str, list[dict[str, Any]]]) -> None:
    """After the restart the organizer API shows exactly the durable log: each ticket's detail, and
    the diff feed from the start."""
    with httpx.Client(auth=auth, timeout=30) as client:
        for ticket_id, log in logs.items():
            detail = client.get(f"{server.url}/organizer/tickets/{ticket_id}").json()
            assert detail["statusLog"] == log and detail["status"] == log[-1]["status"], ticket_id
        records, key = [], None
        while True:
            page = client.get(f"{server.url}/organizer/tickets/diff",
                              params={"batchSize": 1000, **({"paginationKey": key} if key else {})}).json()
            records += page["records"]
            key = page["paginationKey"]
            if not page["hasMore"]:
                break
    assert records == sorted((r for log in logs.values() for r in log), key=lambda r: r["recordId"])


def test_a_wallet_killed_while_spectators_act_keeps_every_acknowledged_action_whole(server: Server) -> None:
    """Five SIGKILLs of ``tixtrace wallet serve`` at random moments while four spectator threads move
    tickets: after each one, every ticket's state equals the fold of its status log, every transfer's
    row matches its records, every acknowledged action is there, and the restarted server serves
    exactly that log."""
    rng = random.Random(6_100)
    engine = open_wallet_database(server.database_url)
    try:
        organizer, api_key = run(engine, create_organizer, SystemClock(), "org@crash.example")
    finally:
        engine.dispose()
    auth = (organizer.email, api_key)
    server.start()
    spectators = Spectators(server)
    spectators.sign_in_all()
    payload = [{"ticketId": number,
                "event": {"id": "WC26-M01", "name": "Opening match", "startTime": "2026-06-11T19:00:00Z",
                          "address": {"site": "Estadio Azteca", "city": "Mexico City", "zip": "04650",
                                      "countryCode": "MX"}},
                "purchaseDetails": {}, "security": {"barcode": f"BC-{number}"},
                "spectatorDetails": {"firstName": "Fan", "lastName": "Crash", "email": SPECTATORS[index % 6]}}
               for index, number in enumerate(TICKETS)]
    response = httpx.post(f"{server.url}/organizer/tickets", json={"tickets": payload}, auth=auth, timeout=30)
    assert {r["result"] for r in response.json()["results"]} == {"INJECTED"}
    acks = Acks()
    progress = []
    for round_ in range(KILLS):
        stop = threading.Event()
        threads = [threading.Thread(target=act, args=(spectators, acks, random.Random(rng.random()), stop))
                   for _ in range(ACTORS)]
        before, wanted = acks.count(), rng.randint(3, 20)
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 60
        while acks.count() < before + wanted and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(rng.uniform(0.0, 0.05))  # then anywhere in the traffic
        server.kill()  # SIGKILL
        stop.set()
        for thread in threads:
            thread.join(30)
        engine = open_wallet_database(server.database_url)
        try:
            wait_for_dead_sessions(engine)
            logs = check_durable_state(engine, acks)
        finally:
            engine.dispose()
        progress.append(acks.count() - before)
        print(f"round {round_}: {progress[-1]} actions acknowledged before the kill")
        if round_ < KILLS - 1:
            server.start()
            check_served_state(server, auth, logs)
    assert all(count >= 3 for count in progress), f"a kill landed before the traffic: {progress}"
    assert set(acks.resolved.values()) == {"accept", "reject", "cancel"}, "every kind of action was exercised"


def _record(status: str, owner: str, level: int, transfer_id: str | None = None, sender: str = "",
            recipient: str = "", direction: str = "FORWARD") -> dict[str, Any]:
    transfer = None if transfer_id is None else {
        "transferId": transfer_id, "direction": direction, "initiatedBy": "SPECTATOR", "sender": {"email": sender},
        "recipient": {"email": recipient}, "expiresAt": None, "failureReason": None}
    return {"status": status, "occurredAt": "2026-06-11T18:00:00Z", "transferLevel": level,
            "walletOwner": {"email": owner}, "ticketHolder": None, "transfer": transfer}


def test_the_fold_refuses_a_half_written_transfer() -> None:
    """The checker above can fail: a log whose transfer lost its PENDING_TRANSFER record, or whose
    TRANSFERRED record does not carry the new owner, or that fails a transfer never started, is
    refused, while the whole log folds into its state."""
    a, b = SPECTATORS[0], SPECTATORS[1]
    whole = [_record("INJECTED", a, 0), _record("PENDING_TRANSFER", a, 0, "t1", a, b),
             _record("TRANSFERRED", b, 1, "t1", a, b), _record("TRANSFERRED", a, 0, "t2", b, a, "BACKWARD")]
    assert fold(whole) == {"status": "TRANSFERRED", "owner": a, "level": 0, "pending": []}
    assert domain_replay("SC-X", whole) == fold(whole)
    for broken in ([whole[0], whole[2]],  # accepted, never pending
                   [whole[0], whole[1], {**whole[2], "walletOwner": {"email": a}}],  # the owner did not move
                   [whole[0], _record("FAILURE_TRANSFER", a, 0, "t9", a, b)]):  # failed, never started
        with pytest.raises(AssertionError):
            fold(broken)
