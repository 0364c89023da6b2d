"""``tixtrace backoffice run``: the execution's summary, who launched it (``cli``), and its WARNING and
ERROR log lines, not only its counters (section 7; issue 13: it printed ``status │ ERROR`` without the
reason). Against a real wallet over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.support.system import FEATURE, System
from tixtrace.backoffice import cli
from tixtrace.backoffice.cli import app
from tixtrace.backoffice.domain.executions import LogLevel
from tixtrace.backoffice.interfaces import runner
from tixtrace.backoffice.services.interfaces import NewInterface, create_interface
from tixtrace.kernel.db import unit_of_work

invoke = CliRunner().invoke


def _url(system: System) -> str:
    return system.engine.url.render_as_string(hide_password=False)


def test_a_failed_run_prints_the_error_line_with_the_url_and_what_to_check(system: System) -> None:
    with unit_of_work(system.engine) as conn:
        interface = create_interface(conn, NewInterface("refused", "TIXNGO", f"{system.base_url}/organizer/tickets",
                                                        system.wallet.auth[0], "wrong-key", [], FEATURE),
                                     datetime.now(UTC), actor="test").id
    feedback = system.schedule(interface, "RETRIEVE_TICKET_STATUS")
    result = invoke(app, ["run", str(feedback), "--database-url", _url(system)], terminal_width=200)
    assert result.exit_code == 1, result.output
    output = " ".join(result.output.split())
    assert "launched by │ cli" in output or "launched by cli" in output.replace("│", ""), output
    assert f"ERROR wallet refused GET {system.base_url}/organizer/tickets/diff: BAD_CREDENTIALS" in output, output
    assert "check the interface's Login" in output and "wrong-key" not in output

    as_json = invoke(app, ["run", str(feedback), "--database-url", _url(system), "--json"])
    assert as_json.exit_code == 1
    summary = json.loads(as_json.output.strip().splitlines()[-1])
    assert summary["launchedBy"] == "cli" and summary["status"] == "ERROR"
    [problem] = summary["problems"]
    assert problem["level"] == "ERROR" and "BAD_CREDENTIALS" in problem["message"]
    assert summary["moreProblems"] is False


def test_warning_lines_are_printed_and_counted_beyond_the_first_ones(system: System,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    def parks(run: Any) -> None:
        for n in range(4):
            run.log(LogLevel.INFO, f"applied record {n}")
            run.log(LogLevel.WARNING, f"record {n} parked: [bold]no e-mail[/bold]", f"100000000000000{n}")

    monkeypatch.setitem(runner.FUNCTIONS, "RETRIEVE_TICKET_STATUS", parks)
    monkeypatch.setattr(cli, "PROBLEM_LINES", 3)
    feedback = system.schedule(system.interface(FEATURE), "RETRIEVE_TICKET_STATUS")
    result = invoke(app, ["run", str(feedback), "--database-url", _url(system)], terminal_width=200)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    warnings = [line for line in lines if line.startswith("WARNING")]
    assert warnings == [f"WARNING ticket 100000000000000{n}: record {n} parked: [bold]no e-mail[/bold]"
                        for n in range(3)]  # as written: no markup, no INFO lines
    assert any("GET /api/executions/" in line and "/log" in line for line in lines)
