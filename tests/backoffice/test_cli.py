"""``tixtrace backoffice`` commands: migrate, create-user, import (good and broken files), erase-contact
(serve is the app of the API tests)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, insert, select, update
from typer.testing import CliRunner

from tests.support.backoffice import START
from tests.support.imports import CONTACTS, EVENTS, TICKETS
from tixtrace.backoffice.app import create_backoffice_app
from tixtrace.backoffice.cli import app
from tixtrace.backoffice.db.database import open_backoffice_database
from tixtrace.backoffice.db.tables import contacts, distribution_lines, events, tickets
from tixtrace.backoffice.services.audit import list_audit
from tixtrace.backoffice.services.contacts import NewContact, create_contact
from tixtrace.backoffice.services.events import NewEvent, create_event
from tixtrace.backoffice.services.interfaces import NewInterface, create_interface
from tixtrace.backoffice.services.schedules import NewSchedule, create_schedule
from tixtrace.backoffice.services.tickets import NewTicket, create_ticket
from tixtrace.kernel.db import unit_of_work

runner = CliRunner()


def test_migrate_creates_a_new_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/new/backoffice.db"
    result = runner.invoke(app, ["migrate", "--database-url", url])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "new" / "backoffice.db").exists()
    result = runner.invoke(app, ["migrate"], env={"TIXTRACE_BACKOFFICE_DATABASE_URL": url})
    assert result.exit_code == 0, result.output


def test_bad_database_urls_exit_1(tmp_path: Path) -> None:
    for url in ("mysql://x/y", "not a url", "postgresql://nobody@127.0.0.1:1/none"):
        result = runner.invoke(app, ["migrate", "--database-url", url])
        assert result.exit_code == 1, (url, result.output)
        assert "error" in result.output


def test_create_user_then_the_api_accepts_it(backoffice_url: str) -> None:
    result = runner.invoke(app, ["create-user", "--database-url", backoffice_url, "jane", "--password",
                                 "a long password"])
    assert result.exit_code == 0, result.output
    assert "jane" in result.output and "a long password" not in result.output
    again = runner.invoke(app, ["create-user", "--database-url", backoffice_url, "jane", "--password",
                                "another password"])
    assert again.exit_code == 1 and "already exists" in again.output
    short = runner.invoke(app, ["create-user", "--database-url", backoffice_url, "joe", "--password", "short"])
    assert short.exit_code == 1 and "8" in short.output
    engine = open_backoffice_database(backoffice_url)
    try:
        with TestClient(create_backoffice_app(engine)) as client:
            assert client.get("/api/contacts", auth=("jane", "a long password")).status_code == 200
            assert client.get("/api/contacts", auth=("jane", "another password")).status_code == 401
    finally:
        engine.dispose()


def test_import_good_files_then_a_broken_one(backoffice_url: str, tmp_path: Path) -> None:
    files = {}
    for name, text in (("events", EVENTS), ("contacts", CONTACTS), ("tickets", TICKETS)):
        files[name] = tmp_path / f"{name}.csv"
        files[name].write_text(text, encoding="utf-8")
    result = runner.invoke(app, ["import", "--database-url", backoffice_url, "--events", str(files["events"]),
                                 "--contacts", str(files["contacts"]), "--tickets", str(files["tickets"])])
    assert result.exit_code == 0, result.output
    assert "events.csv: 2 events imported" in result.output
    assert "tickets.csv: 3 tickets imported" in result.output
    broken = tmp_path / "more.csv"
    broken.write_text("number,eventCode,culturalContactReference\nT-9,WC26-M01,C1\nT-0001,WC26-M01,C1\n"
                      "T-10,WC26-M09,C1\n", encoding="utf-8")
    result = runner.invoke(app, ["import", "--database-url", backoffice_url, "--tickets", str(broken)])
    assert result.exit_code == 1, result.output
    assert "more.csv: refused, nothing written: 2 bad rows of 3" in result.output
    assert "line 3: number 'T-0001' is already a ticket" in result.output
    assert "line 4: eventCode 'WC26-M09' is not a known event" in result.output
    engine = open_backoffice_database(backoffice_url)
    try:
        with unit_of_work(engine, write=False) as conn:
            assert conn.execute(select(func.count()).select_from(tickets)).scalar_one() == 3
    finally:
        engine.dispose()


def test_import_usage(backoffice_url: str, tmp_path: Path) -> None:
    assert runner.invoke(app, ["import", "--database-url", backoffice_url]).exit_code == 2
    assert runner.invoke(app, ["import", "--database-url", backoffice_url, "--events",
                               str(tmp_path / "missing.csv")]).exit_code == 2
    result = runner.invoke(app, ["import", "--help"], terminal_width=200)
    assert result.exit_code == 0
    for column in ("venueCountryCode", "culturalContactReference", "hasInternetAccount"):
        assert column in result.output


# --- broken CSV files: a clear message, exit 1, nothing written ------------------------------------

EVENT_HEADER = "code,name,startTime,venueSite,venueCity,venueZip,venueCountryCode"
EVENT_ROW = "X1,Final,2026-07-19T19:00:00Z,MetLife Stadium,East Rutherford,07073,US"
BROKEN_EVENTS: dict[str, tuple[bytes, str]] = {
    # case: (file content, what the message must say)
    "empty file": (b"", "the file is empty: its first line must name the columns"),
    "blank lines only": (b"\n \n\n", "the file is empty"),
    "binary file": (bytes(range(256)) * 8, "the file is not UTF-8 text"),
    "wrong encoding": (f"{EVENT_HEADER}\nX1,Café,2026-07-19T19:00:00Z,S,C,Z,US\n".encode("utf-16"),
                       "the file is not UTF-8 text"),
    "latin-1 after good lines": ((f"{EVENT_HEADER}\n" + f"{EVENT_ROW}\n" * 3).encode()
                                 + "X9,Café,2026-07-19T19:00:00Z,S,C,Z,US\n".encode("latin-1"),
                                 "the file is not UTF-8 text"),
    "missing header": (f"{EVENT_ROW}\n{EVENT_ROW.replace('X1', 'X2')}\n".encode(), "missing required columns: code"),
    "a required column missing": (b"code,name,startTime\nX1,Final,2026-07-19T19:00:00Z\n",
                                  "missing required columns: venueSite, venueCity, venueZip, venueCountryCode"),
    "an unknown column": (f"{EVENT_HEADER},colour\n{EVENT_ROW},red\n".encode(), "unknown columns: colour"),
    "a column named twice": (f"{EVENT_HEADER},code\n{EVENT_ROW},X1\n".encode(), "columns named twice: code"),
    "a row with an extra cell": (f"{EVENT_HEADER}\n{EVENT_ROW},surplus\n".encode(),
                                 "line 2: has 8 cells, the header has 7"),
    "a row with missing cells": (f"{EVENT_HEADER}\nX1,Final\n".encode(), "line 2: has 2 cells, the header has 7"),
    "a field beyond the CSV limit": (f"{EVENT_HEADER}\nX1,{'A' * 200_000},2026-07-19T19:00:00Z,S,C,Z,US\n".encode(),
                                     "line 2: field larger than field limit"),
    "a huge name": (f"{EVENT_HEADER}\nX1,{'A' * 100_000},2026-07-19T19:00:00Z,S,C,Z,US\n".encode(),
                    "line 2: name must be at most 200 characters"),
    "duplicate rows": (f"{EVENT_HEADER}\n{EVENT_ROW}\n{EVENT_ROW}\n".encode(), "line 3: code 'X1' is also on line 2"),
    "a NUL byte": (f"{EVENT_HEADER}\nX1,Fin\x00al,2026-07-19T19:00:00Z,S,C,Z,US\n".encode(),
                   "line 2: name 'Fin\\x00al' contains a control character"),
    "a quote never closed": (f'{EVENT_HEADER}\nX1,"Final,2026-07-19T19:00:00Z,S,C,Z,US\n{EVENT_ROW}\n'.encode(),
                             "line 2: a quoted cell is never closed"),
}


def _count(url: str, table) -> int:  # type: ignore[no-untyped-def]
    engine = open_backoffice_database(url)
    try:
        with unit_of_work(engine, write=False) as conn:
            return int(conn.execute(select(func.count()).select_from(table)).scalar_one())
    finally:
        engine.dispose()


@pytest.mark.parametrize("case", list(BROKEN_EVENTS))
def test_a_broken_csv_file_is_refused_whole_with_a_clear_message(backoffice_url: str, tmp_path: Path,
                                                                 case: str) -> None:
    """``backoffice import``: each kind of broken file exits 1 with a message naming what is wrong (and the
    line when a row is at fault), writes nothing, and the files given after it are not read."""
    content, says = BROKEN_EVENTS[case]
    good = tmp_path / "good.csv"
    good.write_text(f"{EVENT_HEADER}\nX0,Semi-final,2026-07-14T19:00:00Z,S,C,Z,US\n", encoding="utf-8")
    assert runner.invoke(app, ["import", "--database-url", backoffice_url, "--events", str(good)]).exit_code == 0
    broken = tmp_path / "broken.csv"
    broken.write_bytes(content)
    people = tmp_path / "contacts.csv"
    people.write_text(CONTACTS, encoding="utf-8")

    result = runner.invoke(app, ["import", "--database-url", backoffice_url, "--events", str(broken),
                                 "--contacts", str(people)], terminal_width=400)

    assert result.exit_code == 1, result.output
    assert "broken.csv: refused, nothing written: " in result.output
    assert "Traceback" not in result.output and "contacts.csv" not in result.output
    assert _count(backoffice_url, events) == 1 and _count(backoffice_url, contacts) == 0
    assert says in result.output, result.output


# --- erase-contact ---------------------------------------------------------------------------------


def test_erase_contact_erases_once_and_refuses_unknown_ids_and_pending_transfers(backoffice_url: str) -> None:
    """``backoffice erase-contact ID``: exit 0 with what was cleared; again: exit 0, nothing changed; an
    unknown id or a contact in a pending transfer: exit 1 with the reason, nothing written."""
    engine = open_backoffice_database(backoffice_url)
    try:
        with unit_of_work(engine) as conn:
            create_event(conn, NewEvent("E1", "Final", START, "Stadium", "City", "10001", "US"), START)
            ana = create_contact(conn, NewContact("INDIVIDUAL", "Lima", first_name="Ana", email="ana@example.com"),
                                 START).id
            bob = create_contact(conn, NewContact("INDIVIDUAL", "Ross", first_name="Bob", email="bob@example.com"),
                                 START).id
            ticket = create_ticket(conn, NewTicket("E1", ana, number="T-1"), START).id
            conn.execute(insert(distribution_lines).values(
                ticket_id=ticket, transfer_id="t1", action="DISTRIBUTE", old_contact_id=ana, new_contact_id=bob,
                recipient_email="bob@example.com", status="PENDING", initiated_at=START, recorded_at=START,
                updated_at=START, opened_record_id=1))
    finally:
        engine.dispose()

    refused = runner.invoke(app, ["erase-contact", str(bob), "--database-url", backoffice_url])
    assert refused.exit_code == 1, refused.output
    assert f"error: contact {bob} is part of a pending transfer (tickets T-1)" in refused.output
    unknown = runner.invoke(app, ["erase-contact", "999999", "--database-url", backoffice_url])
    assert unknown.exit_code == 1 and "error: contact 999999 does not exist" in unknown.output
    assert runner.invoke(app, ["erase-contact", "bob", "--database-url", backoffice_url]).exit_code == 2

    engine = open_backoffice_database(backoffice_url)
    try:
        with unit_of_work(engine) as conn:
            assert conn.scalar(select(contacts.c.email).where(contacts.c.id == bob)) == "bob@example.com"
            conn.execute(update(distribution_lines).values(status="CONFIRMED"))
    finally:
        engine.dispose()
    erased = runner.invoke(app, ["erase-contact", str(bob)], env={"TIXTRACE_BACKOFFICE_DATABASE_URL": backoffice_url})
    assert erased.exit_code == 0, erased.output
    assert f"contact {bob} erased: 1 distribution line(s), 0 ticket(s) and 0 payload dump(s) cleared" in erased.output
    again = runner.invoke(app, ["erase-contact", str(bob), "--database-url", backoffice_url])
    assert again.exit_code == 0 and f"contact {bob} was already erased; nothing changed" in again.output
    engine = open_backoffice_database(backoffice_url)
    try:
        with unit_of_work(engine, write=False) as conn:
            row = conn.execute(select(contacts).where(contacts.c.id == bob)).mappings().one()
            line = conn.execute(select(distribution_lines)).mappings().one()
    finally:
        engine.dispose()
    assert (row["first_name"], row["last_name"], row["email"], row["erased_at"] is not None) == (
        "Erased", f"CONTACT #{bob}", None, True)
    assert (line["new_contact_id"], line["recipient_email"]) == (bob, None)


@pytest.mark.parametrize("command", [["disable-user", "operator"], ["set-password", "operator", "--password",
                                                                    "long-enough-pw"]])
def test_user_commands_refuse_a_missing_sqlite_file(tmp_path: Path, command: list[str]) -> None:
    missing = tmp_path / "nothing-here.db"
    result = runner.invoke(app, [*command, "--database-url", f"sqlite:///{missing}"])
    assert result.exit_code == 2, result.output
    assert f"no back-office database at {missing}; run migrate first" in result.output
    assert not missing.exists()


def test_disable_user_and_set_password_name_unknown_users(backoffice_url: str) -> None:
    for command in (["disable-user", "nobody"], ["set-password", "nobody", "--password", "long-enough-pw"]):
        result = runner.invoke(app, [*command, "--database-url", backoffice_url])
        assert result.exit_code == 1 and "user 'nobody' does not exist" in result.output
    short = runner.invoke(app, ["set-password", "nobody", "--password", "short", "--database-url", backoffice_url])
    assert short.exit_code == 1 and "8 to 200 characters" in short.output


def test_user_commands_reset_feed_and_run_are_audited_as_the_cli(backoffice_url: str) -> None:
    """O2: what a command changes names ``cli`` as its actor, in the same transaction as the change."""
    for command in (["create-user", "jane", "--password", "long-enough-pw"],
                    ["set-password", "jane", "--password", "another-long-pw"], ["disable-user", "jane"]):
        result = runner.invoke(app, [*command, "--database-url", backoffice_url])
        assert result.exit_code == 0, result.output
    engine = open_backoffice_database(backoffice_url)
    try:
        with unit_of_work(engine) as conn:
            interface = create_interface(conn, NewInterface("tixngo", "TIXNGO", "http://127.0.0.1:9/organizer/tickets",
                                                            "a@b.example", "pw", [], ""), START, actor="test").id
            feedback = create_schedule(conn, interface, NewSchedule("RETRIEVE_TICKET_STATUS", "MANUAL"), START,
                                       actor="test").id
            push = create_schedule(conn, interface, NewSchedule("PUSH_CANCELLED", "MANUAL"), START, actor="test").id
        assert runner.invoke(app, ["reset-feed", str(feedback), "--database-url", backoffice_url,
                                   "--yes"]).exit_code == 0
        ran = runner.invoke(app, ["run", str(push), "--database-url", backoffice_url])
        assert ran.exit_code == 0, ran.output
        with unit_of_work(engine, write=False) as conn:
            users_log, _ = list_audit(conn, object_type="user")
            feed_log, _ = list_audit(conn, object_type="schedule", object_id=feedback)
            push_log, _ = list_audit(conn, object_type="schedule", object_id=push)
    finally:
        engine.dispose()
    assert [(e.action, e.actor) for e in users_log] == [("DISABLE", "cli"), ("SET_PASSWORD", "cli"), ("CREATE", "cli")]
    assert [(e.action, e.actor) for e in feed_log] == [("RESET_FEED", "cli"), ("CREATE", "test")]
    assert [(e.action, e.actor) for e in push_log] == [("RUN", "cli"), ("CREATE", "test")]
