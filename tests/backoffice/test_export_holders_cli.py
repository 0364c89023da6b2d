"""``tixtrace backoffice export-holders EVENT --database-url URL [--output FILE]``: the same CSV as the API."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from tests.support.backoffice import START
from tixtrace.backoffice.cli import app
from tixtrace.backoffice.services import holders
from tixtrace.backoffice.services.contacts import NewContact, create_contact
from tixtrace.backoffice.services.events import NewEvent, create_event
from tixtrace.backoffice.services.exports import HOLDER_COLUMNS
from tixtrace.backoffice.services.tickets import NewTicket, create_ticket
from tixtrace.kernel.db import unit_of_work

runner = CliRunner()


def scene(engine: Engine, code: str, count: int) -> list[str]:
    with unit_of_work(engine) as conn:
        create_event(conn, NewEvent(code=code, name="Final", start_time=START, venue_site="Stade", venue_city="Paris",
                                    venue_zip="75000", venue_country_code="FR"), START)
        create_event(conn, NewEvent(code="OTHER", name="Other", start_time=START, venue_site="Stade",
                                    venue_city="Paris", venue_zip="75000", venue_country_code="FR"), START)
        person = create_contact(conn, NewContact(kind="INDIVIDUAL", first_name="=1+1", last_name="Lima",
                                                 email="lima@example.com"), START)
        create_ticket(conn, NewTicket(event_code="OTHER", cultural_contact_id=person.id), START)
        return [create_ticket(conn, NewTicket(event_code=code, cultural_contact_id=person.id), START).number
                for _ in range(count)]


def test_export_holders_to_a_file_in_pages(engine: Engine, backoffice_url: str, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(holders, "EXPORT_PAGE", 2)
    numbers = scene(engine, "FINAL", 5)
    target = tmp_path / "holders.csv"
    result = runner.invoke(app, ["export-holders", "FINAL", "--database-url", backoffice_url, "--output", str(target)])
    assert result.exit_code == 0, result.output
    assert "5 ticket(s) of FINAL written to" in result.output
    header, *rows = list(csv.reader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert tuple(header) == HOLDER_COLUMNS and [row[0] for row in rows] == numbers
    assert {row[HOLDER_COLUMNS.index("culturalContactFirstName")] for row in rows} == {"'=1+1"}
    assert not list(tmp_path.glob("*.partial"))  # no partial file left


def test_export_holders_to_standard_output(engine: Engine, backoffice_url: str) -> None:
    numbers = scene(engine, "FINAL", 2)
    result = runner.invoke(app, ["export-holders", "FINAL", "--database-url", backoffice_url])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("ticketNumber,seat,status") and [line.split(",")[0] for line in lines[1:3]] == numbers


def test_export_holders_refuses_an_unknown_event_and_a_missing_database(engine: Engine, backoffice_url: str,
                                                                        tmp_path: Path) -> None:
    target = tmp_path / "holders.csv"
    result = runner.invoke(app, ["export-holders", "NOPE", "--database-url", backoffice_url, "--output", str(target)])
    assert result.exit_code == 1 and "event 'NOPE' does not exist" in result.output and not target.exists()
    missing = runner.invoke(app, ["export-holders", "NOPE", "--database-url", f"sqlite:///{tmp_path}/none.db"])
    assert missing.exit_code == 2 and "run migrate first" in missing.output
