"""``tixtrace demo`` and ``tixtrace serve``: the main job end to end, and the one-process server."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from tixtrace.backoffice.db.database import open_backoffice_database
from tixtrace.backoffice.db.tables import contacts, distribution_lines, executions, tickets
from tixtrace.cli import app
from tixtrace.demo import data_paths, run_demo
from tixtrace.kernel.db import unit_of_work
from tixtrace.kernel.errors import BadInput
from tixtrace.kernel.serving import free_port


def _counts(data_dir):
    engine = open_backoffice_database(data_paths(data_dir)[0])
    try:
        with unit_of_work(engine, write=False) as conn:
            lines = dict(conn.execute(select(distribution_lines.c.status, func.count())
                                      .group_by(distribution_lines.c.status)).all())
            return {
                "tickets": conn.scalar(select(func.count()).select_from(tickets)),
                "printed": conn.scalar(select(func.count()).select_from(tickets).where(tickets.c.status == "PRINTED")),
                "lines": lines,
                "people": conn.scalar(select(func.count()).select_from(contacts).where(~contacts.c.is_temporary)),
                "distinct names": conn.scalar(select(func.count()).select_from(
                    select(contacts.c.first_name, contacts.c.last_name).where(~contacts.c.is_temporary)
                    .distinct().subquery())),
                "temporary": conn.scalar(select(func.count()).select_from(contacts).where(contacts.c.is_temporary)),
                "errors": conn.scalar(select(func.count()).select_from(executions)
                                      .where(executions.c.status != "OK")),
            }
    finally:
        engine.dispose()


def test_demo_plays_a_round_and_a_second_run_adds_one(tmp_path):
    runner = CliRunner()
    wallet_port = free_port()
    result = runner.invoke(app, ["demo", "--data-dir", str(tmp_path), "--tickets", "40",
                                 "--wallet-port", str(wallet_port)], env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    assert "Round 1: distribution lines by outcome" in result.output
    # the closing command runs as printed: this installation's script, the data directory, the real port
    assert f"serve --data-dir {tmp_path} --sandbox --wallet-port {wallet_port}" in result.output
    assert "back office agrees with the wallet on 40/40 tickets" in result.output
    assert "held now by" in result.output
    first = _counts(tmp_path)
    assert first["people"] == first["distinct names"]  # every person of the demo has a name of their own
    # 40 tickets, 10 scenarios, 4 tickets each. CONFIRMED: accepted by a new fan, by a known contact, both legs
    # of the chain, the first leg and the return (TAKE_BACK) of the returned ones = 6 x 4. CANCELLED: rejected,
    # cancelled, timed out = 3 x 4. PENDING: still pending = 4.
    assert first["tickets"] == first["printed"] == 40
    assert first["lines"] == {"CONFIRMED": 24, "CANCELLED": 12, "PENDING": 4}
    assert first["temporary"] == 4  # only the still-pending recipients
    assert first["errors"] == 0
    result = runner.invoke(app, ["demo", "--data-dir", str(tmp_path), "--tickets", "10",
                                 "--wallet-port", str(free_port())])
    assert result.exit_code == 0, result.output
    assert "Round 2" in result.output
    second = _counts(tmp_path)
    assert second["tickets"] == 50
    # W9: the second round's clock goes on from where the first left it (kept in the wallet database) and
    # moves another hour and ten minutes: the first round's 4 still-pending transfers time out in it
    assert second["lines"] == {"CONFIRMED": 30, "CANCELLED": 15 + 4, "PENDING": 5 - 4}


def test_demo_refuses_bad_input_clearly(tmp_path):
    """The command line refuses it as a bad option value (tests/test_cli_hygiene.py); a caller of the
    library gets the same limits by name, before anything is created."""
    with pytest.raises(BadInput, match="--tickets must be from 1 to 100000, got 0"):
        run_demo(tmp_path / "data", 0)
    assert list(tmp_path.iterdir()) == []


def test_serve_runs_both_services_and_prints_the_first_admin(tmp_path):
    port, wallet_port = free_port(), free_port()
    process = subprocess.Popen([sys.executable, "-m", "tixtrace.cli", "serve", "--data-dir", str(tmp_path),
                                "--port", str(port), "--wallet-port", str(wallet_port), "--sandbox"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, "COLUMNS": "200"})
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if (httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200
                        and httpx.get(f"http://127.0.0.1:{wallet_port}/health").status_code == 200):
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            assert time.monotonic() < deadline, "tixtrace serve did not start"
            time.sleep(0.2)
        assert httpx.get(f"http://127.0.0.1:{wallet_port}/sandbox/clock").status_code == 401  # exists, needs auth
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)
    assert "back-office user admin, password" in output
