"""Shortcuts of the end-to-end interface tests (tests/backoffice/interfaces, erasure, metrics): act in the
wallet as spectators, run the functions, read the back office back through its JSON API or its tables.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import asdict
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, insert, select

from tests.support.backoffice import PASSWORD, USER
from tests.support.system import FEATURE, System
from tests.support.wallet import START
from tixtrace.backoffice.app import create_backoffice_app
from tixtrace.backoffice.db.tables import (
    contact_emails,
    contacts,
    distribution_lines,
    parked_records,
    schedules,
    tickets,
    users,
)
from tixtrace.backoffice.interfaces.runner import run_schedule
from tixtrace.kernel.clock import SystemClock, as_utc
from tixtrace.kernel.db import unit_of_work

FEEDBACK = "RETRIEVE_TICKET_STATUS"
INJECTION = "TICKETS_INJECTION"
ANA = "ana@example.com"
BOB = "bob@example.com"
CARL = "carl@example.com"
_numbers = itertools.count(1)


def backoffice_client(system: System, operator_hash: str) -> Iterator[TestClient]:
    """The back office's JSON API over the system's database, signed in as an operator."""
    with unit_of_work(system.engine) as conn:
        conn.execute(insert(users).values(name=USER, password_hash=operator_hash, created_at=START))
    with TestClient(create_backoffice_app(system.engine, SystemClock())) as client:
        client.auth = (USER, PASSWORD)
        yield client


def api(bo: TestClient, path: str, **params: Any) -> Any:
    response = bo.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def api_ticket(bo: TestClient, ticket: dict[str, Any]) -> dict[str, Any]:
    return api(bo, f"/api/tickets/{ticket['id']}")  # type: ignore[no-any-return]


def api_history(bo: TestClient, ticket: dict[str, Any]) -> list[dict[str, Any]]:
    return api(bo, f"/api/tickets/{ticket['id']}/distribution-history")["items"]  # type: ignore[no-any-return]


def api_contacts(bo: TestClient, email: str) -> list[dict[str, Any]]:
    return api(bo, "/api/contacts", email=email)["items"]  # type: ignore[no-any-return]


def api_execution(bo: TestClient, execution: dict[str, Any]) -> dict[str, Any]:
    return api(bo, f"/api/executions/{execution['id']}")  # type: ignore[no-any-return]


def number() -> str:
    return f"T{next(_numbers):06d}"


def new_ticket(system: System, contact_id: int, **extra: Any) -> dict[str, Any]:
    return system.ticket(contact_id, number=extra.pop("number", None) or number(), **extra)


def functions(system: System, parameters: str = FEATURE, **feedback: Any) -> tuple[int, int]:
    """An interface on the system's wallet with an injection and a feedback schedule."""
    interface = system.interface(parameters)
    return system.schedule(interface, INJECTION), system.schedule(interface, FEEDBACK, **feedback)


def run_ok(system: System, schedule_id: int, status: str = "OK") -> dict[str, Any]:
    execution = system.run(schedule_id)
    assert execution["status"] == status, execution
    return execution


def send(system: System, sender: str, ticket: dict[str, Any], recipient: str) -> str:
    """The sender's app transfers the ticket; the transfer id."""
    response = system.wallet.transfer(sender, ticket["number"], recipient)
    assert response.status_code == 201, response.text
    return str(response.json()["transferId"])


def act(system: System, email: str, transfer_id: str, action: str) -> None:
    response = system.wallet.act(email, transfer_id, action)
    assert response.status_code == 200, response.text


def accept(system: System, email: str, transfer_id: str, first: str = "Bea", last: str = "Cruz",
           **profile: Any) -> None:
    system.wallet.profile(email, first, last, **profile)
    act(system, email, transfer_id, "accept")


def rows(engine: Engine, table: Any) -> list[dict[str, Any]]:
    with unit_of_work(engine, write=False) as conn:
        return [dict(r) for r in conn.execute(select(table).order_by(table.c[next(iter(table.primary_key)).name]))
                .mappings()]


def count(engine: Engine, table: Any) -> int:
    with unit_of_work(engine, write=False) as conn:
        return int(conn.scalar(select(func.count()).select_from(table)) or 0)


def log_of(execution: dict[str, Any], level: str | None = None) -> list[dict[str, Any]]:
    return [line for line in execution["log"] if level is None or line["level"] == level]


def canonical(engine: Engine) -> dict[str, Any]:
    """The back office's feedback-made state, keyed by e-mails and ticket numbers (never by ids)."""
    with unit_of_work(engine, write=False) as conn:
        people = {r["id"]: dict(r) for r in conn.execute(select(contacts)).mappings()}
        ticket_rows = [dict(r) for r in conn.execute(select(tickets)).mappings()]
        line_rows = [dict(r) for r in conn.execute(
            select(distribution_lines).order_by(distribution_lines.c.initiated_at, distribution_lines.c.id)).mappings()]

    def who(contact_id: int | None) -> str | None:
        return None if contact_id is None else people[contact_id]["email_key"]

    fields = ("email_key", "kind", "is_temporary", "has_internet_account", "title", "first_name", "last_name",
              "birth_date", "nationality", "id_number", "mobile_phone", "country", "language",
              "allow_promo_email", "allow_third_party_email")
    by_number = {t["id"]: t["number"] for t in ticket_rows}
    lines: dict[str, list[tuple[Any, ...]]] = {}
    for line in line_rows:
        lines.setdefault(by_number[line["ticket_id"]], []).append((
            line["action"], who(line["old_contact_id"]), who(line["new_contact_id"]), line["recipient_email"],
            line["status"], line["reason"], line["contact_match"], line["transfer_id"],
            as_utc(line["initiated_at"]), as_utc(line["resolved_at"]) if line["resolved_at"] else None))
    return {
        "contacts": sorted((tuple(c[f] for f in fields) for c in people.values()), key=repr),
        "tickets": {t["number"]: (t["mobile_status"], who(t["cultural_contact_id"]), who(t["owner_contact_id"]),
                                  (t["wallet_owner"] or {}).get("email"), t["ticket_holder"])
                    for t in ticket_rows},
        "lines": lines,
    }


def run_via(system: System, schedule_id: int, transport: httpx.BaseTransport, status: str) -> dict[str, Any]:
    execution = asdict(run_schedule(system.engine, schedule_id, clock=system.clock, transport=transport,
                                  client_options={"backoff_seconds": 0.01}))
    assert execution["status"] == status, execution
    return execution


def record_of(system: System, ticket: dict[str, Any], status: str) -> dict[str, Any]:
    [record] = [r for r in system.wallet.all_records() if r["ticketId"] == ticket["number"] and r["status"] == status]
    return record


def schedule_row(system: System, schedule_id: int) -> dict[str, Any]:
    with unit_of_work(system.engine, write=False) as conn:
        return dict(conn.execute(select(schedules).where(schedules.c.id == schedule_id)).mappings().one())


def parked(system: System) -> list[dict[str, Any]]:
    return rows(system.engine, parked_records)


def two_transfers(system: System, parameters: str, **feedback: Any) -> tuple[dict[str, Any], dict[str, Any], int]:
    """Two of ana's tickets go to bob and carl (both accepted); returns the tickets and the feedback."""
    ana = system.contact(ANA)
    first, second = new_ticket(system, ana), new_ticket(system, ana)
    injection, schedule = functions(system, parameters, **feedback)
    run_ok(system, injection)
    to_bob = send(system, ANA, first, BOB)
    to_carl = send(system, ANA, second, CARL)
    accept(system, BOB, to_bob, "Bob", "Ross")
    accept(system, CARL, to_carl, "Carl", "Sagan")
    return first, second, schedule


def snapshot(system: System) -> dict[str, list[dict[str, Any]]]:
    """Every row the feedback may write, whole (ids, times and all), executions aside, and so is a
    schedule's ``caught_up_at``: like an execution, it records that a run read the feed to its end (O4,
    the lag), which a run with nothing new does too."""
    found = {table.name: rows(system.engine, table)
             for table in (contacts, contact_emails, tickets, distribution_lines, schedules, parked_records)}
    found["schedules"] = [{k: v for k, v in row.items() if k != "caught_up_at"} for row in found["schedules"]]
    return found


class Rewriting(httpx.BaseTransport):
    """A real transport that passes every diff page through ``rewrite(record)`` and counts the calls."""

    def __init__(self, rewrite: Callable[[dict[str, Any]], None] = lambda record: None) -> None:
        self.inner = httpx.HTTPTransport()
        self.rewrite = rewrite
        self.calls: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(f"{request.method} {request.url.path}")
        response = self.inner.handle_request(request)
        if not request.url.path.endswith("/diff") or response.status_code != 200:
            return response
        body = json.loads(response.read())
        response.close()
        for record in body["records"]:
            self.rewrite(record)
        return httpx.Response(200, json=body)

    def close(self) -> None:
        self.inner.close()


def corrupt(record_id: int, **changes: Any) -> Callable[[dict[str, Any]], None]:
    def rewrite(record: dict[str, Any]) -> None:
        if record["recordId"] == record_id:
            for path, value in changes.items():
                target = record
                *parents, leaf = path.split("__")
                for parent in parents:
                    target = target[parent]
                target[leaf] = value
    return rewrite
