"""O1 and W11 seen from the back office: a feedback schedule's feed (pagination key, last applied
recordId) follows its wallet. Moving the interface to another wallet or organizer resets it in the
same transaction, so the next run reads the new feed from the start; a key the wallet refuses
(INVALID_CURSOR) ends the run ERROR naming the reset; ``POST /api/schedules/{id}/reset-feed`` and
``tixtrace backoffice reset-feed`` reset on purpose, and reading everything again changes nothing (F11).

Before W11 a key was ``base64("v1:<recordId>")``: after a move the new wallet answered nothing past the
old position (the run ended OK with 0 records and a transfer was never seen), and a refused key left
every later run ERROR with no way out but editing the database."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from typer.testing import CliRunner

from tests.support.feedback import (
    ANA,
    BOB,
    INJECTION,
    accept,
    backoffice_client,
    functions,
    new_ticket,
    run_ok,
    schedule_row,
    send,
    snapshot,
)
from tests.support.system import FEATURE, System
from tests.support.wallet import START, Wallet
from tixtrace.backoffice.cli import app as cli
from tixtrace.backoffice.db.tables import schedules
from tixtrace.backoffice.interfaces.locks import run_locks
from tixtrace.kernel.clock import TestClock
from tixtrace.kernel.db import unit_of_work
from tixtrace.kernel.serving import BackgroundServer
from tixtrace.wallet.app import create_wallet_app
from tixtrace.wallet.db.database import open_wallet_database
from tixtrace.wallet.services import feed
from tixtrace.wallet.services.organizers import create_organizer

CLI = CliRunner()


@pytest.fixture
def bo(system: System, operator_hash: str) -> Iterator[TestClient]:
    yield from backoffice_client(system, operator_hash)


@pytest.fixture
def other_wallet(database_url: Any) -> Iterator[tuple[Wallet, str]]:
    """A second wallet (its own database, so its own instance) with an organizer of the same e-mail
    and the same organizer id as the first: only the wallet instance tells their keys apart."""
    engine = open_wallet_database(database_url("wallet", second=True))
    clock = TestClock(START)
    with unit_of_work(engine) as conn:
        organizer, api_key = create_organizer(conn, clock, "org@wc26.example")
    wallet_app = create_wallet_app(engine, clock=clock, sandbox=True)
    with BackgroundServer(wallet_app) as base_url, TestClient(wallet_app) as client:
        yield Wallet(client, clock, (organizer.email, api_key)), base_url
    engine.dispose()


def _interface_body(bo: TestClient, interface_id: int, **changes: Any) -> dict[str, Any]:
    current = bo.get(f"/api/interfaces/{interface_id}").json()
    fields = ("name", "type", "url", "login", "notificationEmails", "customParameters")
    return {**{name: current[name] for name in fields}, "password": None, **changes}


def _history_statuses(system: System, ticket: dict[str, Any]) -> list[str]:
    return [line["status"] for line in system.lines(ticket["number"])]


def test_moving_an_interface_to_another_wallet_reads_the_new_feed_from_the_start(
        system: System, bo: TestClient, other_wallet: tuple[Wallet, str]) -> None:
    wallet_b, url_b = other_wallet
    ana = system.contact(ANA)
    old_tickets = [new_ticket(system, ana) for _ in range(4)]
    injection, feedback = functions(system)
    run_ok(system, injection)
    accept(system, BOB, send(system, ANA, old_tickets[0], BOB), "Bob", "Ross")
    run_ok(system, feedback)
    assert schedule_row(system, feedback)["last_record_id"] >= 6  # 4 injected, pending, transferred

    # the interface moves to wallet B (new URL, B's key); a new ticket goes there and is transferred
    interface = schedule_row(system, feedback)["interface_id"]
    moved = bo.put(f"/api/interfaces/{interface}", json=_interface_body(
        bo, interface, url=f"{url_b}/organizer/tickets", password=wallet_b.auth[1]))
    assert moved.status_code == 200, moved.text
    row = schedule_row(system, feedback)
    assert row["pagination_key"] is None and not row["last_record_id"]  # reset with the move (O1)
    ticket = new_ticket(system, ana)
    run_ok(system, injection)
    transfer = wallet_b.as_spectator(ANA, "POST", f"/spectator/tickets/{ticket['number']}/transfers",
                                     json={"recipientEmail": BOB})
    assert transfer.status_code == 201, transfer.text
    wallet_b.profile(BOB, "Bob", "Ross")
    assert wallet_b.act(BOB, transfer.json()["transferId"], "accept").status_code == 200
    assert len(wallet_b.all_records()) == 3  # all of them at or below the position the old wallet reached

    execution = run_ok(system, feedback)
    assert execution["records_read"] == 3, execution
    assert _history_statuses(system, ticket)[-1] == "CONFIRMED", system.lines(ticket["number"])
    assert system.ticket_row(ticket["number"])["wallet_owner"] is not None


def test_a_new_login_resets_the_feed_and_other_edits_do_not(system: System, bo: TestClient) -> None:
    ana = system.contact(ANA)
    new_ticket(system, ana)
    injection, feedback = functions(system)
    run_ok(system, injection)
    run_ok(system, feedback)
    interface = schedule_row(system, feedback)["interface_id"]
    key = schedule_row(system, feedback)["pagination_key"]
    same_login = system.wallet.auth[0].upper()
    for harmless in ({"name": "renamed"}, {"notificationEmails": ["ops@example.com"]}, {"login": same_login}):
        edited = bo.put(f"/api/interfaces/{interface}", json=_interface_body(bo, interface, **harmless))
        assert edited.status_code == 200, edited.text
        assert schedule_row(system, feedback)["pagination_key"] == key, harmless
    response = bo.put(f"/api/interfaces/{interface}", json=_interface_body(bo, interface, login="other@wc26.example"))
    assert response.status_code == 200, response.text
    assert schedule_row(system, feedback)["pagination_key"] is None
    # a refused edit resets nothing: it is one transaction
    bo.put(f"/api/interfaces/{interface}", json=_interface_body(bo, interface, login=system.wallet.auth[0]))
    run_ok(system, feedback)
    key = schedule_row(system, feedback)["pagination_key"]
    refused = bo.put(f"/api/interfaces/{interface}", json=_interface_body(
        bo, interface, login="third@wc26.example", customParameters="ticketIterationSize=0"))
    assert refused.status_code == 422
    assert schedule_row(system, feedback)["pagination_key"] == key


def _history_then_refused_key(system: System) -> tuple[int, int, dict[str, Any]]:
    """A feedback that has read a transfer; then its stored key is one the wallet refuses (another
    wallet's: the wallet's data was replaced). Returns (injection, feedback, snapshot before)."""
    ana = system.contact(ANA)
    ticket = new_ticket(system, ana)
    injection, feedback = functions(system)
    run_ok(system, injection)
    accept(system, BOB, send(system, ANA, ticket, BOB), "Bob", "Ross")
    run_ok(system, feedback)
    before = _state(system)
    row = schedule_row(system, feedback)
    with unit_of_work(system.engine) as conn:
        conn.execute(update(schedules).where(schedules.c.id == feedback).values(
            pagination_key=feed.encode_key("f" * 32, 1, row["last_record_id"])))
    return injection, feedback, before


def _state(system: System) -> dict[str, Any]:
    """What F11 keeps: every row the feedback writes, but a ticket's ``last_synced_at`` (and its
    ``updated_at``), which say when the wallet was last read, and a replay reads it."""
    rows = snapshot(system)
    rows["tickets"] = [{k: v for k, v in row.items() if k not in ("last_synced_at", "updated_at")}
                       for row in rows["tickets"]]
    return rows


def _refused_runs_name_the_reset(system: System, bo: TestClient, feedback: int) -> None:
    """The run ends ERROR with one line naming the reset (CLI and API), and so does every later run."""
    for _ in range(2):
        execution = system.run(feedback)
        assert execution["status"] == "ERROR", execution
        log = bo.get(f"/api/executions/{execution['id']}").json()["log"]
        errors = [line["message"] for line in log if line["level"] == "ERROR"]
        assert len(errors) == 1 and "INVALID_CURSOR" in errors[0], errors
        assert f"tixtrace backoffice reset-feed {feedback} --database-url URL --yes" in errors[0]
        assert f"POST /api/schedules/{feedback}/reset-feed" in errors[0]


def test_invalid_cursor_then_reset_feed_api_catches_up_and_changes_nothing(system: System, bo: TestClient) -> None:
    injection, feedback, before = _history_then_refused_key(system)
    _refused_runs_name_the_reset(system, bo, feedback)

    path = f"/api/schedules/{feedback}/reset-feed"
    for body in ({}, {"confirm": False}, {"confirm": "yes"}):
        refused = bo.post(path, json=body)
        assert refused.status_code == 422, (body, refused.text)
    assert bo.post(f"/api/schedules/{injection}/reset-feed", json={"confirm": True}).json()["error"]["code"] == \
        "RESET_NOT_FEEDBACK"
    assert bo.post("/api/schedules/9999/reset-feed", json={"confirm": True}).status_code == 404
    response = bo.post(path, json={"confirm": True})
    assert response.status_code == 200, response.text
    assert response.json()["id"] == feedback and response.json()["paginationKey"] is None

    execution = run_ok(system, feedback)
    assert execution["records_read"] == len(system.wallet.all_records())  # the whole feed again
    assert _state(system) == before  # F11: every contact, ticket, line and the feed state as they were


def test_reset_feed_is_refused_while_the_schedule_runs(system: System, bo: TestClient) -> None:
    new_ticket(system, system.contact(ANA))
    injection, feedback = functions(system)
    run_ok(system, injection)
    run_ok(system, feedback)
    key = schedule_row(system, feedback)["pagination_key"]
    with run_locks(system.engine, [(f"schedule:{feedback}", "a run")]):  # what a running execution holds
        response = bo.post(f"/api/schedules/{feedback}/reset-feed", json={"confirm": True})
        assert response.status_code == 409 and response.json()["error"]["code"] == "RUN_ALREADY_ACTIVE"
    assert schedule_row(system, feedback)["pagination_key"] == key


def test_invalid_cursor_then_reset_feed_cli_catches_up_and_changes_nothing(system: System, bo: TestClient) -> None:
    injection, feedback, before = _history_then_refused_key(system)
    _refused_runs_name_the_reset(system, bo, feedback)
    url = system.engine.url.render_as_string(hide_password=False)

    refused = CLI.invoke(cli, ["reset-feed", str(feedback), "--database-url", url])
    assert refused.exit_code == 2 and "--yes" in refused.output, refused.output
    assert schedule_row(system, feedback)["pagination_key"] is not None
    other = CLI.invoke(cli, ["reset-feed", str(injection), "--database-url", url, "--yes"])
    assert other.exit_code == 1 and "RETRIEVE_TICKET_STATUS" in other.output, other.output
    done = CLI.invoke(cli, ["reset-feed", str(feedback), "--database-url", url, "--yes"])
    assert done.exit_code == 0, done.output
    assert schedule_row(system, feedback)["pagination_key"] is None

    run_ok(system, feedback)
    assert _state(system) == before


def test_reset_feed_cli_refuses_a_missing_sqlite_file(tmp_path: Any) -> None:
    missing = tmp_path / "nowhere.db"
    result = CLI.invoke(cli, ["reset-feed", "1", "--database-url", f"sqlite:///{missing}", "--yes"])
    assert result.exit_code == 2, result.output
    assert f"no back-office database at {missing}; run migrate first" in result.output
    assert not missing.exists()


def test_an_unchanged_wallet_never_refuses_its_own_keys(system: System) -> None:
    """The keys the wallet hands out are always taken back, page after page (batch size 1)."""
    ana = system.contact(ANA)
    for _ in range(3):
        new_ticket(system, ana)
    injection = system.schedule(system.interface(FEATURE, name="small"), INJECTION)
    run_ok(system, injection)
    feedback = system.schedule(schedule_row(system, injection)["interface_id"], "RETRIEVE_TICKET_STATUS",
                               batch_size=1)
    assert run_ok(system, feedback)["records_read"] == 3
    assert run_ok(system, feedback)["records_read"] == 0
