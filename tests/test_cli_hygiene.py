"""CLI hygiene (DESIGN section 7): only migrate, serve, demo, create-organizer and create-user may create
a database; a bad option value is one line, never a traceback; the scheduler says what it found; serve
warns about interface URLs that point at this host on another port than its wallet's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from tests.support.backoffice import START
from tixtrace.backoffice import cli as backoffice_cli
from tixtrace.backoffice.interfaces.local_urls import misdirected_interfaces, port_elsewhere_on_this_host
from tixtrace.backoffice.interfaces.scheduler import automatic_schedules_found
from tixtrace.backoffice.services.interfaces import NewInterface, create_interface
from tixtrace.backoffice.services.schedules import NewSchedule, create_schedule
from tixtrace.cli import main
from tixtrace.kernel.db import unit_of_work
from tixtrace.wallet import cli as wallet_cli

runner = CliRunner()


def _commands(tmp_path: Path) -> list[list[str]]:
    records = tmp_path / "records.json"
    records.write_text("[]")
    events = tmp_path / "events.csv"
    events.write_text("code,name,startTime,site,city,zip,countryCode\n")
    return [["run", "1"], ["upload", "1", str(records)], ["scheduler"], ["erase-contact", "1"],
            ["import", "--events", str(events)], ["reset-feed", "1", "--yes"], ["disable-user", "someone"],
            ["set-password", "someone", "--password", "long-enough-pw"]]


@pytest.mark.parametrize("index", range(8), ids=["run", "upload", "scheduler", "erase-contact", "import",
                                                 "reset-feed", "disable-user", "set-password"])
def test_backoffice_commands_that_may_not_create_a_database_refuse_a_missing_file(tmp_path: Path,
                                                                                    index: int) -> None:
    missing = tmp_path / "no-such-dir" / "bo.db"
    result = runner.invoke(backoffice_cli.app, [*_commands(tmp_path)[index], "--database-url", f"sqlite:///{missing}"])
    assert result.exit_code == 2, result.output
    assert f"error: no back-office database at {missing}; run migrate first" in result.output
    assert not missing.parent.exists()  # neither the file nor its directory


def test_commands_that_may_create_a_database_still_do(tmp_path: Path) -> None:
    created = tmp_path / "new-dir" / "bo.db"
    result = runner.invoke(backoffice_cli.app, ["create-user", "ops", "--password", "long-enough-pw",
                                                "--database-url", f"sqlite:///{created}"])
    assert result.exit_code == 0, result.output
    assert created.exists()
    wallet = tmp_path / "w" / "wallet.db"
    result = runner.invoke(wallet_cli.app, ["create-organizer", "--email", "org@example.com", "--json",
                                            "--database-url", f"sqlite:///{wallet}"])
    assert result.exit_code == 0 and json.loads(result.output)["email"] == "org@example.com"


@pytest.mark.parametrize("args", [
    pytest.param(["wallet", "serve", "--port", "70000"], id="wallet-serve-port"),
    pytest.param(["backoffice", "serve", "--port", "0"], id="backoffice-serve-port"),
    pytest.param(["serve", "--wallet-port", "65536"], id="serve-wallet-port"),
    pytest.param(["demo", "--tickets", "0"], id="demo-tickets"),
    pytest.param(["demo", "--wallet-port", "-1"], id="demo-wallet-port"),
    pytest.param(["backoffice", "scheduler", "--poll-seconds", "0"], id="scheduler-poll"),
    pytest.param(["backoffice", "run", "one"], id="run-schedule-id"),
])
def test_a_bad_option_value_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                    args: list[str]) -> None:
    url = [] if args[0] in ("serve", "demo") else ["--database-url", f"sqlite:///{tmp_path / 'x.db'}"]
    extra = ["--data-dir", str(tmp_path / "data")] if args[0] in ("serve", "demo") else []
    with pytest.raises(SystemExit) as stopped:
        main([*args, *url, *extra])
    captured = capsys.readouterr()
    assert stopped.value.code == 2
    [line] = captured.err.splitlines()
    assert line.startswith("error: Invalid value for ") and line.endswith(" --help)"), line
    assert "Traceback" not in captured.err + captured.out
    assert list(tmp_path.iterdir()) == []  # refused before anything was opened


def test_main_runs_commands_and_passes_their_exit_codes(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as done:
        main(["backoffice", "migrate", "--database-url", f"sqlite:///{tmp_path / 'bo.db'}"])
    assert done.value.code == 0
    with pytest.raises(SystemExit) as refused:
        main(["backoffice", "run", "1", "--database-url", f"sqlite:///{tmp_path / 'other.db'}"])
    assert refused.value.code == 2


def _interface(engine: Engine, name: str, url: str) -> int:
    with unit_of_work(engine) as conn:
        return int(create_interface(conn, NewInterface(name, "TIXNGO", url, "org@example.com", "api-key", [], ""),
                                    START, actor="test").id)


def test_the_scheduler_says_how_many_automatic_schedules_it_found(engine: Engine, monkeypatch: pytest.MonkeyPatch,
                                                                  backoffice_url: str) -> None:
    assert automatic_schedules_found(engine).startswith("0 AUTOMATIC schedules found: nothing will run until")
    interface = _interface(engine, "tixngo", "http://wallet.example.com/organizer/tickets")
    with unit_of_work(engine) as conn:
        ids = [create_schedule(conn, interface, NewSchedule(function, launch, frequency_minutes=5), START,
                               actor="test").id
               for function, launch in (("RETRIEVE_TICKET_STATUS", "AUTOMATIC"), ("TICKETS_INJECTION", "MANUAL"),
                                        ("PUSH_CANCELLED", "AUTOMATIC"))]
    found = automatic_schedules_found(engine)
    assert found == f"2 AUTOMATIC schedules found (ids {ids[0]}, {ids[2]})"

    class Idle:
        def __init__(self, *_: Any, **__: Any) -> None: ...

        def run_forever(self, *_: Any) -> None:
            return None

    monkeypatch.setattr(backoffice_cli, "Scheduler", Idle)
    result = runner.invoke(backoffice_cli.app, ["scheduler", "--database-url", backoffice_url])
    assert result.exit_code == 0, result.output
    assert f"scheduler running: {found} (Ctrl-C to stop)" in " ".join(result.output.split())


@pytest.mark.parametrize(("url", "port"), [
    ("http://127.0.0.1:8001/organizer/tickets", 8001),
    ("http://LOCALHOST:8001/organizer/tickets", 8001),
    ("http://[::1]:8002/organizer/tickets", 8002),
    ("http://127.0.0.1/organizer/tickets", 80),
    ("http://127.0.0.1:9001/organizer/tickets", None),  # the wallet served beside it
    ("http://wallet.example.com:8001/organizer/tickets", None),  # another host
    ("http://127.0.0.1:notaport/organizer/tickets", None),
])
def test_which_urls_point_at_this_host_on_another_port(url: str, port: int | None) -> None:
    assert port_elsewhere_on_this_host(url, "127.0.0.1", 9001) == port


def test_serve_warns_about_interfaces_on_this_host_on_another_port(engine: Engine) -> None:
    stale = _interface(engine, "from the demo", "http://127.0.0.1:8001/organizer/tickets")
    _interface(engine, "beside", "http://localhost:9001/organizer/tickets")
    _interface(engine, "remote", "https://wallet.example.com/organizer/tickets")

    [warning] = misdirected_interfaces(engine, host="127.0.0.1", wallet_port=9001)

    assert warning.startswith(f"interface 'from the demo' (id {stale}) points at http://127.0.0.1:8001/organizer/"
                              "tickets: this host, port 8001, but the wallet here listens on port 9001")
    [other] = misdirected_interfaces(engine, host="127.0.0.1", wallet_port=8001)  # now "beside" is the stale one
    assert other.startswith("interface 'beside' ")
