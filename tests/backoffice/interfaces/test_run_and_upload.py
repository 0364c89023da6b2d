"""Run now (API), file to upload (API and CLI), the scheduler's tick, through both services."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from tests.support.feedback import Rewriting, corrupt
from tests.support.system import FEATURE
from tixtrace.backoffice.app import create_backoffice_app
from tixtrace.backoffice.db.tables import parked_records
from tixtrace.backoffice.interfaces.runner import run_schedule
from tixtrace.backoffice.interfaces.scheduler import Scheduler
from tixtrace.backoffice.services.schedules import NewSchedule, create_schedule
from tixtrace.backoffice.services.users import create_user
from tixtrace.cli import app as cli
from tixtrace.kernel.clock import SystemClock
from tixtrace.kernel.db import unit_of_work


def _api(system) -> TestClient:
    with unit_of_work(system.engine) as conn:
        create_user(conn, "operator", "correct horse", datetime.now(UTC), actor="test")
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
    assert f"upload {result.output.split('upload ')[1].split()[0]} of schedule {feedback}" in result.output
    assert "status / counter" in result.output and "launched by" in result.output  # the table `run` prints
    injection = system.schedule(interface, "PUSH_CANCELLED")
    result = CliRunner().invoke(cli, ["backoffice", "upload", str(injection), str(path), "--database-url", url])
    assert result.exit_code == 1 and "RETRIEVE_TICKET_STATUS" in result.output


def test_scheduler_starts_due_automatic_schedules_once(system):
    ticket, interface = _injected_ticket(system)
    feedback = system.schedule(interface, "RETRIEVE_TICKET_STATUS")
    with unit_of_work(system.engine) as conn:
        automatic = create_schedule(conn, interface, NewSchedule("PUSH_CONTROLLED", "AUTOMATIC", frequency_minutes=0),
                                    datetime.now(UTC), actor="test").id
    scheduler = Scheduler(system.engine, SystemClock())
    assert scheduler.due(SystemClock().now()) == [automatic]  # the MANUAL feedback is never due
    started = scheduler.tick()
    assert started == [automatic]
    for thread in scheduler._running.values():
        thread.join(timeout=30)
    assert feedback not in started


# --- file to upload: processed exactly as if it came from the wallet (section 6, issue 16 item 1) ---

CONTINUE = f"{FEATURE}\ndoContinueInCaseOfSyncError=true"


def _file_with_a_bad_first_record(system, parameters):
    """Ticket t0 sent to Bob, who accepts ten minutes later and opens it; ticket t1 sent to Carl. The
    file: t0's PENDING spoiled, t0's TRANSFERRED and DOWNLOADED, t1's PENDING, as the wallet sent them
    otherwise. W10: Bob's profile first comes on the DOWNLOADED record of his opening the ticket."""
    ana = system.contact("ana@example.com")
    t0, t1 = system.ticket(ana), system.ticket(ana)
    interface = system.interface(parameters)
    assert system.run(system.schedule(interface, "TICKETS_INJECTION"))["status"] == "OK"
    feedback = system.schedule(interface, "RETRIEVE_TICKET_STATUS")
    transfer = system.wallet.transfer("ana@example.com", t0["number"], "bob@example.com").json()["transferId"]
    system.wallet.profile("bob@example.com", "Bob", "Ross")
    system.wallet.advance(600)
    assert system.wallet.act("bob@example.com", transfer, "accept").status_code == 200
    system.wallet.open_tickets("bob@example.com")
    system.wallet.transfer("ana@example.com", t1["number"], "carl@example.com")
    records = [r for r in system.wallet.all_records() if r["status"] != "INJECTED"]
    assert [(r["ticketId"], r["status"]) for r in records] == [
        (t0["number"], "PENDING_TRANSFER"), (t0["number"], "TRANSFERRED"), (t0["number"], "DOWNLOADED"),
        (t1["number"], "PENDING_TRANSFER")]
    assert records[1]["walletOwner"]["lastName"] is None and records[2]["walletOwner"]["lastName"] == "Ross"
    return feedback, t0, t1, records, [{**records[0], "status": "TELEPORTED"}, *records[1:]]


def _parked_ids(system):
    with unit_of_work(system.engine, write=False) as conn:
        return sorted(conn.scalars(select(parked_records.c.record_id)))


def _opened_by_its_pending(system, ticket, pending):
    """The line was opened by its PENDING record, confirmed by its TRANSFERRED, and its temporary
    contact completed by the DOWNLOADED record that first carried Bob's profile (W10)."""
    [line] = system.lines(ticket["number"])
    assert line["status"] == "CONFIRMED" and line["contact_match"] == "COMPLETED"
    assert line["opened_record_id"] == pending["recordId"] and line["initiated_at"] < line["resolved_at"]


def test_a_file_stops_before_its_bad_record_and_its_fixed_version_goes_through(system, tmp_path):
    """doContinueInCaseOfSyncError=false: the CLI stops before the spoiled first record (ERROR, exit 1),
    nothing of the file is applied and nothing parked; the fixed file, the parameter untouched, applies
    t0's transfer from its PENDING (not a line made up from the TRANSFERRED alone)."""
    feedback, t0, t1, records, spoiled = _file_with_a_bad_first_record(system, FEATURE)
    url = str(system.engine.url.render_as_string(hide_password=False))
    path = tmp_path / "records.json"
    path.write_text(json.dumps(spoiled))

    result = CliRunner().invoke(cli, ["backoffice", "upload", str(feedback), str(path), "--database-url", url])

    assert result.exit_code == 1 and "ERROR" in result.output, result.output
    assert any(line.startswith("ERROR ") for line in result.output.splitlines()), result.output  # why, too
    assert system.lines(t0["number"]) == [] and system.lines(t1["number"]) == [] and _parked_ids(system) == []
    path.write_text(json.dumps({"records": records}))
    result = CliRunner().invoke(cli, ["backoffice", "upload", str(feedback), str(path), "--database-url", url])
    assert result.exit_code == 0 and "OK" in result.output, result.output
    _opened_by_its_pending(system, t0, records[0])
    assert [line["status"] for line in system.lines(t1["number"])] == ["PENDING"]


def test_a_file_parks_its_bad_record_with_the_later_records_of_its_ticket(system):
    """doContinueInCaseOfSyncError=true: the spoiled record is parked with t0's TRANSFERRED and
    DOWNLOADED behind it, t1's record applies (WARNING); the feed then brings t0's records and the line
    is the real one."""
    feedback, t0, t1, records, spoiled = _file_with_a_bad_first_record(system, CONTINUE)
    api = _api(system)

    response = api.post(f"/api/schedules/{feedback}/upload", json={"records": spoiled})

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "WARNING" and response.json()["counters"]["parked"] == 3
    assert system.lines(t0["number"]) == [] and _parked_ids(system) == [r["recordId"] for r in records[:3]]
    assert [line["status"] for line in system.lines(t1["number"])] == ["PENDING"]
    assert api.get(f"/api/schedules/{feedback}").json()["paginationKey"] in (None, "")

    assert system.run(feedback)["status"] == "OK"
    assert _parked_ids(system) == []
    _opened_by_its_pending(system, t0, records[0])


def test_uploading_the_fixed_record_releases_a_feed_stopped_on_it(system):
    """The feed stops on a record the wallet serves spoiled (doContinueInCaseOfSyncError=false) and
    stops there again; once its fixed version is uploaded the next run goes on, parameter untouched."""
    feedback, t0, t1, records, _ = _file_with_a_bad_first_record(system, FEATURE)
    spoil = corrupt(records[0]["recordId"], status="TELEPORTED")
    for _attempt in range(2):
        execution = asdict(run_schedule(system.engine, feedback, clock=system.clock, transport=Rewriting(spoil),
                                      client_options={"backoff_seconds": 0.01}))
        assert execution["status"] == "ERROR" and system.lines(t0["number"]) == []

    assert asdict(run_schedule(system.engine, feedback, clock=system.clock, upload=[records[0]]))["status"] == "OK"

    execution = asdict(run_schedule(system.engine, feedback, clock=system.clock, transport=Rewriting(spoil),
                                  client_options={"backoff_seconds": 0.01}))
    assert execution["status"] == "OK", execution
    _opened_by_its_pending(system, t0, records[0])
    assert [line["status"] for line in system.lines(t1["number"])] == ["PENDING"] and _parked_ids(system) == []


def test_records_out_of_record_id_order_are_applied_in_record_id_order(system):
    """Issue 16 item 10: a page (here a crafted file) whose records come out of recordId order is
    folded in recordId order (F6): t0's line is opened by its PENDING, not made up from its TRANSFERRED."""
    feedback, t0, t1, records, _ = _file_with_a_bad_first_record(system, FEATURE)

    execution = asdict(run_schedule(system.engine, feedback, clock=system.clock, upload=list(reversed(records))))

    assert execution["status"] == "OK", execution
    _opened_by_its_pending(system, t0, records[0])
    assert [line["status"] for line in system.lines(t1["number"])] == ["PENDING"]
