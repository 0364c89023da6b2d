"""``tixtrace wallet rotate-key``: a new API key, printed once; the old one stops working at once
(issue 12, item 4: a key that may have leaked can be replaced)."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tixtrace.cli import app as cli
from tixtrace.kernel.clock import TestClock
from tixtrace.wallet.app import create_wallet_app
from tixtrace.wallet.db.database import open_wallet_database

runner = CliRunner()
EMAIL = "org@wc26.example"


def _invoke(*args: str) -> dict[str, str]:
    result = runner.invoke(cli, ["wallet", *args])
    assert result.exit_code == 0, result.output
    parsed: dict[str, str] = json.loads(result.output)
    return parsed


def test_rotate_key_old_key_401_new_key_200(wallet_url: str) -> None:
    old = _invoke("create-organizer", "--database-url", wallet_url, "--email", EMAIL, "--json")["apiKey"]
    engine = open_wallet_database(wallet_url)
    try:
        with TestClient(create_wallet_app(engine, clock=TestClock())) as wallet:
            assert wallet.get("/organizer/settings", auth=(EMAIL, old)).status_code == 200
            rotated = _invoke("rotate-key", "--database-url", wallet_url, "--email", EMAIL.upper(), "--json")
            assert rotated["email"] == EMAIL and rotated["apiKey"] != old
            assert wallet.get("/organizer/settings", auth=(EMAIL, old)).status_code == 401
            assert wallet.get("/organizer/settings", auth=(EMAIL, rotated["apiKey"])).status_code == 200
    finally:
        engine.dispose()
    plain = runner.invoke(cli, ["wallet", "rotate-key", "--database-url", wallet_url, "--email", EMAIL])
    assert plain.exit_code == 0 and "the old one no longer works" in plain.output
    unknown = runner.invoke(cli, ["wallet", "rotate-key", "--database-url", wallet_url, "--email", "no@x.example"])
    assert unknown.exit_code == 1 and "no organizer with e-mail no@x.example" in unknown.output


def test_rotate_key_refuses_a_missing_sqlite_file(tmp_path: Path) -> None:
    missing = tmp_path / "wallet.db"
    result = runner.invoke(cli, ["wallet", "rotate-key", "--database-url", f"sqlite:///{missing}", "--email", EMAIL])
    assert result.exit_code == 2
    assert f"no wallet database at {missing}; run migrate first" in result.output.replace("\n", "")
    assert not missing.exists()
