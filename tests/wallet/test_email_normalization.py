"""C1 in the wallet: an account is its e-mail trimmed, NFKC, lower-cased (never casefold), and an
address with a control, zero-width or bidi character is refused everywhere, never a new person.

Issue 12 item 7: ``casefold`` signed ``straße@`` into ``strasse@``'s account, while fullwidth
``ａlice@`` and ``alice@`` + U+200B were new people that look like ``alice@``."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy import Engine, text

from tests.support.migrations import downgrade
from tests.support.wallet import ticket_payload
from tixtrace.kernel.db import make_engine, migrate
from tixtrace.wallet.db.database import SCRIPT_LOCATION, VERSION_TABLE

ZWSP = "\u200b"
NOW = "2026-06-11 18:00:00+00:00"


def _ticket_ids(wallet: Any, email: str) -> list[str]:
    response = wallet.as_spectator(email, "GET", "/spectator/tickets")
    assert response.status_code == 200, response.text
    return [item["ticketId"] for item in response.json()["items"]]


def _refused(response: Any, field: str) -> None:
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] in ("INVALID_EMAIL", "INVALID_INPUT"), error
    assert field in response.text


def test_strasse_and_strasse_with_eszett_are_two_accounts(wallet):
    wallet.inject(ticket_payload("T1", "strasse@wc26.example"))
    assert _ticket_ids(wallet, "straße@wc26.example") == []
    assert _ticket_ids(wallet, "STRASSE@wc26.example") == ["T1"]
    wallet.inject(ticket_payload("T2", "Straße@wc26.example"))
    assert _ticket_ids(wallet, "straße@wc26.example") == ["T2"]
    assert _ticket_ids(wallet, "strasse@wc26.example") == ["T1"]


def test_a_fullwidth_address_is_the_same_account_nfkc(wallet):
    wallet.inject(ticket_payload("T1", "\uff41lice@wc26.example"))  # ａlice
    assert _ticket_ids(wallet, "alice@wc26.example") == ["T1"]
    assert _ticket_ids(wallet, "ALICE@ｗｃ26.example") == ["T1"]


@pytest.mark.parametrize("bad", [f"alice{ZWSP}@wc26.example", "alice@wc26\u202e.example", "al\x07ice@wc26.example"])
def test_an_address_with_invisible_characters_is_refused_everywhere(wallet, bad):
    # injection answers per ticket (W1): the ticket is REJECTED, naming the field
    [result] = wallet.inject(ticket_payload("T1", bad))
    assert result["result"] == "REJECTED" and "spectatorDetails.email" in result["error"], result
    _refused(wallet.client.post("/spectator/session", json={"email": bad}), "email")
    wallet.inject(ticket_payload("T2", "ana@wc26.example"))
    _refused(wallet.transfer("ana@wc26.example", "T2", bad), "recipientEmail")
    assert _ticket_ids(wallet, "alice@wc26.example") == []


@pytest.fixture
def engine(database_url: Any):
    engine = make_engine(database_url("wallet"))
    yield engine
    engine.dispose()


def test_migration_0008_renormalizes_and_reports_collisions_without_merging(engine: Engine, caplog) -> None:
    downgrade(engine, SCRIPT_LOCATION, VERSION_TABLE, "0008-1")
    rows = {1: "\uff41lice@wc26.example", 2: "alice@wc26.example", 3: "ｂob@wc26.example",
            4: f"eve{ZWSP}@wc26.example", 5: "strasse@wc26.example"}
    with engine.begin() as conn:
        for account_id, email in rows.items():
            conn.execute(text("INSERT INTO accounts (id, email, created_at) VALUES (:i, :e, :n)"),
                         {"i": account_id, "e": email, "n": NOW})
    with caplog.at_level(logging.INFO):
        migrate(engine, SCRIPT_LOCATION, VERSION_TABLE)
    with engine.connect() as conn:
        stored = dict(conn.execute(text("SELECT id, email FROM accounts")).all())
    assert stored == {**rows, 3: "bob@wc26.example"}  # 1 and 2 kept apart; 4 kept; 5 already right
    report = caplog.text
    assert "accounts rows 1, 2 would share one e-mail" in report
    assert "accounts row 4 has an e-mail C1 refuses" in report
    assert "@" not in "".join(r.getMessage() for r in caplog.records if r.getMessage().startswith("0008"))
