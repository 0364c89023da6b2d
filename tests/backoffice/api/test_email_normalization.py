"""C1 in the back office: contacts match by e-mail trimmed, NFKC, lower-cased (never casefold), and an
address with a control, zero-width or bidi character is refused, by the API as by the CSV import.

Issue 12 item 7: ``casefold`` matched ``straße@`` to ``strasse@``'s contact; fullwidth ``ａlice@`` and
``alice@`` + U+200B were accepted as new people that look like ``alice@``."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, text

from tests.support.backoffice import START, contact_body, new_contact
from tests.support.migrations import downgrade
from tixtrace.backoffice.db.database import SCRIPT_LOCATION, VERSION_TABLE
from tixtrace.backoffice.db.tables import contacts
from tixtrace.backoffice.services.imports import ImportKind, import_csv
from tixtrace.kernel.db import migrate, unit_of_work

ZWSP = "\u200b"
NOW = "2026-06-01 10:00:00+00:00"
INVISIBLE = [f"alice{ZWSP}@example.com", "alice@exa\u202emple.com", "al\x1bice@example.com"]


def _found(api: TestClient, email: str) -> list[int]:
    response = api.get("/api/contacts", params={"email": email})
    assert response.status_code == 200, response.text
    return [contact["id"] for contact in response.json()["items"]]


def test_strasse_and_strasse_with_eszett_are_two_contacts(api: TestClient) -> None:
    eszett = new_contact(api, email="Straße@example.com")["id"]
    double_s = new_contact(api, email="strasse@example.com")["id"]
    assert _found(api, "straße@example.com") == [eszett]
    assert _found(api, "STRASSE@example.com") == [double_s]


def test_a_fullwidth_address_matches_its_ascii_twin_nfkc(api: TestClient) -> None:
    alice = new_contact(api, email="\uff41lice@example.com")["id"]  # ａlice
    assert _found(api, "Alice@example.com") == [alice]


@pytest.mark.parametrize("bad", INVISIBLE)
def test_an_address_with_invisible_characters_is_refused_by_the_api(api: TestClient, bad: str) -> None:
    response = api.post("/api/contacts", json=contact_body(email=bad))
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "INVALID_INPUT"
    assert [problem["field"] for problem in error["details"]["errors"]] == ["email"]


def test_an_address_with_invisible_characters_is_refused_by_the_csv_import(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "contacts.csv"
    rows = "".join(f"C{n},INDIVIDUAL,Ana,Lima,{email}\n" for n, email in enumerate(INVISIBLE, start=1))
    path.write_text("reference,kind,firstName,lastName,email\nC0,INDIVIDUAL,Ana,Lima,alice@example.com\n" + rows,
                    encoding="utf-8")
    report = import_csv(engine, ImportKind.CONTACTS, path, START)
    assert not report.ok and report.written == 0
    assert [problem.line for problem in report.problems] == [3, 4, 5]
    assert all("email" in " ".join(problem.messages) for problem in report.problems)
    with unit_of_work(engine, write=False) as conn:
        assert conn.scalar(select(func.count()).select_from(contacts)) == 0


def _before_0009() -> str:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.attributes["version_table"] = VERSION_TABLE
    return str(ScriptDirectory.from_config(config).get_revision("0009").down_revision)


def test_migration_0009_renormalizes_and_reports_collisions_without_merging(engine: Engine, caplog: Any) -> None:
    downgrade(engine, SCRIPT_LOCATION, VERSION_TABLE, _before_0009())
    people = {  # id: (email as written, key casefold gave it, claimed)
        1: ("Straße@example.com", "strasse@example.com", True),
        2: ("\uff41lice@example.com", "\uff41lice@example.com", True),
        3: ("alice@example.com", "alice@example.com", True),
        4: ("ＢOB@example.com", "ｂob@example.com", False),
        5: (f"eve{ZWSP}@example.com", f"eve{ZWSP}@example.com", False),
    }
    with engine.begin() as conn:
        for contact_id, (email, key, claimed) in people.items():
            conn.execute(text("INSERT INTO contacts (id, kind, last_name, email, email_key, has_internet_account, "
                              "is_temporary, created_at, updated_at) VALUES (:i, 'INDIVIDUAL', 'L', :e, :k, false, "
                              "false, :n, :n)"), {"i": contact_id, "e": email, "k": key, "n": NOW})
            if claimed:
                conn.execute(text("INSERT INTO contact_emails (email_key, contact_id, created_at) "
                                  "VALUES (:k, :i, :n)"), {"i": contact_id, "k": key, "n": NOW})
    with caplog.at_level(logging.INFO):
        migrate(engine, SCRIPT_LOCATION, VERSION_TABLE)
    with engine.connect() as conn:
        keys = dict(conn.execute(text("SELECT id, email_key FROM contacts")).all())
        claims = dict(conn.execute(text("SELECT contact_id, email_key FROM contact_emails")).all())
    assert keys == {1: "straße@example.com", 2: "\uff41lice@example.com", 3: "alice@example.com",
                    4: "bob@example.com", 5: f"eve{ZWSP}@example.com"}
    assert claims == {1: "straße@example.com", 2: "\uff41lice@example.com", 3: "alice@example.com"}
    messages = [r.getMessage() for r in caplog.records if r.getMessage().startswith("0009")]
    assert any("contacts 2, 3 would share one e-mail key" in m for m in messages), messages
    assert any("claims of contacts 2, 3 would become one" in m for m in messages), messages
    assert any("contact 5 has an e-mail C1 refuses" in m for m in messages), messages
    assert "@" not in "".join(messages)
    downgrade(engine, SCRIPT_LOCATION, VERSION_TABLE, _before_0009())
    with engine.connect() as conn:
        assert dict(conn.execute(text("SELECT id, email_key FROM contacts")).all())[1] == "strasse@example.com"
    migrate(engine, SCRIPT_LOCATION, VERSION_TABLE)
