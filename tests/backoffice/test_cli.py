"""``tixtrace backoffice`` commands: migrate, create-user, import (serve is the app of the API tests)."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from tests.backoffice.services.test_imports import CONTACTS, EVENTS, TICKETS
from tixtrace.backoffice.app import create_backoffice_app
from tixtrace.backoffice.cli import app
from tixtrace.backoffice.db.database import open_backoffice_database
from tixtrace.backoffice.db.tables import tickets
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
