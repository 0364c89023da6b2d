"""Run now (API), file to upload (API and CLI), the scheduler's tick, through both services."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.support.system import FEATURE
from tixtrace.backoffice.app import create_backoffice_app
from tixtrace.backoffice.interfaces.scheduler import Scheduler
from tixtrace.backoffice.services.schedules import NewSchedule, create_schedule
from tixtrace.backoffice.services.users import create_user
from tixtrace.cli import app as cli
from tixtrace.kernel.clock import SystemClock
from tixtrace.kernel.db import unit_of_work


def _api(system) -> TestClient:
    with unit_of_work(system.engine) as conn:
        create_user(conn, "operator", "correct horse", datetime.now(UTC))
    client = TestClient(create_backoffice_app(system.engine, SystemClock()))
    client.auth = ("operator", "correct horse")
    return client


def _injected_ticket(system):
    ana = system.contact("ana@example.com")
    ticket = system.ticket(ana)
    interface = system.interface(FEATURE)
    assert system.run(system.schedule(interface, "TICKETS_INJECTION"))["status"] == "OK"
    return ticket, interface


def test_run_now_answers_the_finished_execution_and_404_for_an_unknown_schedule(system):
    ticket, interface = _injected_ticket(system)
    feedback = system.schedule(interface, "RETRIEVE_TICKET_STATUS")
    system.wallet.transfer("ana@example.com", ticket["number"], "bob@example.com")
    api = _api(system)
    response = api.post(f"/api/schedules/{feedback}/run?wait=true")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "OK" and body["counters"]["linesCreated"] == 1
    assert api.post("/api/schedules/999999/run").status_code == 404
    assert [line["status"] for line in system.lines(ticket["number"])] == ["PENDING"]


def test_upload_applies_records_without_moving_the_pagination_key(system, tmp_path):
    ticket, interface = _injected_ticket(system)
    feedback = system.schedule(interface, "RETRIEVE_TICKET_STATUS")
    system.wallet.transfer("ana@example.com", ticket["number"], "bob@example.com")
    records = system.wallet.all_records()
    api = _api(system)
    response = api.post(f"/api/schedules/{feedback}/upload", json={"records": records})
    assert response.status_code == 200, response.text
    assert response.json()["counters"]["linesCreated"] == 1
    assert api.get(f"/api/schedules/{feedback}").json()["paginationKey"] in (None, "")
    # the feed read afterwards finds the same records and changes nothing more
    execution = system.run(feedback)
    assert execution["lines_created"] == 0 and execution["status"] == "OK"
    assert len(system.lines(ticket["number"])) == 1
    # the CLI takes the same file, and a wrong function is refused
    path = tmp_path / "records.json"
    path.write_text(json.dumps(records))
    url = str(system.engine.url.render_as_string(hide_password=False))
    result = CliRunner().invoke(cli, ["backoffice", "upload", str(feedback), str(path), "--database-url", url])
    assert result.exit_code == 0, result.output
    injection = system.schedule(interface, "PUSH_CANCELLED")
    result = CliRunner().invoke(cli, ["backoffice", "upload", str(injection), str(path), "--database-url", url])
    assert result.exit_code == 1 and "RETRIEVE_TICKET_STATUS" in result.output


def test_scheduler_starts_due_automatic_schedules_once(system):
    ticket, interface = _injected_ticket(system)
    feedback = system.schedule(interface, "RETRIEVE_TICKET_STATUS")
    with unit_of_work(system.engine) as conn:
        automatic = create_schedule(conn, interface, NewSchedule("PUSH_CONTROLLED", "AUTOMATIC", frequency_minutes=0),
                                    datetime.now(UTC)).id
    scheduler = Scheduler(system.engine, SystemClock())
    assert scheduler.due(SystemClock().now()) == [automatic]  # the MANUAL feedback is never due
    started = scheduler.tick()
    assert started == [automatic]
    for thread in scheduler._running.values():
        thread.join(timeout=30)
    assert feedback not in started
