"""Running the feedback (DESIGN section 6): sync errors parked or stopping the run, payload dumps,
the ERROR notification by SMTP, and a run with nothing new.

A malformed record is made by a transport wrapped around a real ``httpx.HTTPTransport``: it rewrites one
record of the wallet's diff response on its way to the back office, the wallet itself stays sound.
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import smtplib
import socketserver
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from tests.support.feedback import (
    BOB,
    CARL,
    FEEDBACK,
    Rewriting,
    api_contacts,
    api_execution,
    api_history,
    api_ticket,
    backoffice_client,
    corrupt,
    log_of,
    parked,
    record_of,
    run_ok,
    run_via,
    schedule_row,
    send,
    snapshot,
    two_transfers,
)
from tests.support.system import FEATURE, System
from tixtrace.backoffice.db.tables import (
    executions,
    parked_records,
)
from tixtrace.backoffice.services.interfaces import NewInterface, create_interface
from tixtrace.kernel.db import unit_of_work

CONTINUE = f"{FEATURE}\ndoContinueInCaseOfSyncError=true"


@pytest.fixture
def bo(system: System, operator_hash: str) -> Iterator[TestClient]:
    yield from backoffice_client(system, operator_hash)


# --- doContinueInCaseOfSyncError ----------------------------------------------------------------


def test_continue_on_sync_error_parks_the_record_and_later_ones_of_its_ticket(system: System,
                                                                              bo: TestClient) -> None:
    first, second, feedback = two_transfers(system, CONTINUE)
    bad = record_of(system, first, "PENDING_TRANSFER")
    behind = record_of(system, first, "TRANSFERRED")

    execution = api_execution(bo, run_via(system, feedback, Rewriting(corrupt(bad["recordId"],
                                                                              status="TELEPORTED")), "WARNING"))

    assert execution["counters"]["parked"] == 2
    [warning] = log_of(execution, "WARNING")
    assert warning["ticketNumber"] == first["number"]
    assert str(bad["recordId"]) in warning["message"] and "TELEPORTED" in warning["message"]
    stored = parked(system)
    assert [(p["record_id"], p["ticket_number"]) for p in stored] == [
        (bad["recordId"], first["number"]), (behind["recordId"], first["number"])]
    assert "TELEPORTED" in stored[0]["error"] and "parked behind" in stored[1]["error"]
    assert stored[0]["record"]["status"] == "TELEPORTED"  # kept as received, visible
    # nothing of the parked ticket after the bad record was applied...
    assert api_history(bo, first) == [] and api_contacts(bo, BOB) == []
    assert api_ticket(bo, first)["mobileStatus"] == "INJECTED"
    # ...while the other ticket went through
    [line] = api_history(bo, second)
    # W10: Carl accepted but has not opened it: the organizer has his e-mail only, the contact stays temporary
    assert (line["status"], line["contactMatch"], line["newContact"]["firstName"]) == ("CONFIRMED", "CREATED_TEMPORARY",
                                                                                      "Pending")
    assert api_ticket(bo, second)["culturalContact"]["email"] == CARL
    assert schedule_row(system, feedback)["pagination_key"] == system.wallet.diff()["paginationKey"]


def test_parked_records_are_retried_first_on_the_next_run(system: System, bo: TestClient) -> None:
    first, second, feedback = two_transfers(system, CONTINUE)
    bad = record_of(system, first, "PENDING_TRANSFER")
    behind = record_of(system, first, "TRANSFERRED")
    run_via(system, feedback, Rewriting(corrupt(bad["recordId"], transfer__recipient__email="not-an-email")),
            "WARNING")
    assert len(parked(system)) == 2
    send(system, BOB, first, "dan@example.com")  # a new record of the parked ticket (bob owns it in the wallet)

    execution = api_execution(bo, run_ok(system, feedback, "WARNING"))

    assert execution["log"][0] == {"level": "INFO", "ticketNumber": None, "contactId": None,
                                   "message": "retrying 2 parked record(s)"}
    assert execution["counters"]["parked"] == 2  # the bad one again (not stored twice), the new one behind it
    newest = system.wallet.all_records()[-1]
    assert newest["ticketId"] == first["number"] and newest["status"] == "PENDING_TRANSFER"
    assert [(p["record_id"], p["ticket_number"]) for p in parked(system)] == [
        (record["recordId"], first["number"]) for record in (bad, behind, newest)]
    assert api_history(bo, first) == []

    with unit_of_work(system.engine) as conn:  # an operator corrects the parked record
        conn.execute(update(parked_records).where(parked_records.c.record_id == bad["recordId"])
                     .values(record=bad))
    execution = api_execution(bo, run_ok(system, feedback))

    assert execution["log"][0]["message"] == "retrying 3 parked record(s)"
    assert parked(system) == []
    lines = api_history(bo, first)
    assert [(line["status"], line["recipientEmail"]) for line in lines] == [
        ("CONFIRMED", BOB), ("PENDING", "dan@example.com")]
    bob = api_contacts(bo, BOB)[0]
    assert lines[1]["oldContact"] == bob and api_ticket(bo, first)["culturalContact"] == bob
    assert api_ticket(bo, first)["mobileStatus"] == "PENDING_TRANSFER"
    assert [line["status"] for line in api_history(bo, second)] == ["CONFIRMED"]


def test_stop_on_sync_error_keeps_the_work_before_and_stops_there_again(system: System, bo: TestClient) -> None:
    first, second, feedback = two_transfers(system, FEATURE, batch_size=2)
    records = system.wallet.all_records()
    # records, in order: 2 INJECTED, first PENDING, second PENDING, first TRANSFERRED, second TRANSFERRED
    assert [(r["ticketId"], r["status"]) for r in records][2:4] == [
        (first["number"], "PENDING_TRANSFER"), (second["number"], "PENDING_TRANSFER")]
    bad = records[3]  # second in its page: the record before it is applied, the page's key is not stored
    key_before_its_page = system.wallet.diff(None, 2)["paginationKey"]
    rewrite = corrupt(bad["recordId"], transfer__recipient__email="carl-at-example")

    execution = api_execution(bo, run_via(system, feedback, Rewriting(rewrite), "ERROR"))

    [error] = log_of(execution, "ERROR")
    assert error["message"].startswith(f"record {bad['recordId']}: transfer.recipient.email")
    assert execution["counters"]["failed"] == 1 and execution["counters"]["parked"] == 0
    # the record it stopped on is kept (ahead of the feed) for a fixed version to replace it
    assert [(p["record_id"], p["record"]["transfer"]["recipient"]["email"]) for p in parked(system)] == [
        (bad["recordId"], "carl-at-example")]
    schedule = schedule_row(system, feedback)
    assert schedule["pagination_key"] == key_before_its_page
    assert schedule["last_record_id"] == records[2]["recordId"]
    assert [line["status"] for line in api_history(bo, first)] == ["PENDING"]  # the work before it is kept
    assert api_history(bo, second) == [] and api_contacts(bo, CARL) == []
    before = snapshot(system)

    execution = api_execution(bo, run_via(system, feedback, Rewriting(rewrite), "ERROR"))

    assert [line["message"] for line in log_of(execution, "ERROR")] == [error["message"]]
    assert execution["counters"]["recordsRead"] == 0
    assert snapshot(system) == before

    run_ok(system, feedback)  # the wallet's record as it really is: the run goes through
    assert parked(system) == []
    assert [line["status"] for line in api_history(bo, first)] == ["CONFIRMED"]
    assert [line["status"] for line in api_history(bo, second)] == ["CONFIRMED"]
    assert schedule_row(system, feedback)["pagination_key"] == system.wallet.diff()["paginationKey"]


# --- payload dumps ------------------------------------------------------------------------------


@pytest.mark.parametrize("kilobytes", [1, 0])
def test_dumped_calls_are_kept_up_to_max_length(system: System, kilobytes: int) -> None:
    _, _, feedback = two_transfers(system, f"{FEATURE}\nmaxLengthDumpedCallsInKbs={kilobytes}")
    assert len(json.dumps(system.wallet.diff())) > 2048  # more to dump than 1 KB

    execution = run_ok(system, feedback)

    with unit_of_work(system.engine, write=False) as conn:
        dumped = conn.scalar(select(executions.c.dumped_calls).where(executions.c.id == execution["id"]))
    if kilobytes == 0:
        assert dumped is None
    else:
        assert dumped is not None and 0 < len(dumped) <= 1024, len(dumped or "")
        assert dumped.startswith("> GET /diff") and "\n< 200 {" in dumped


# --- SMTP notification --------------------------------------------------------------------------


class _SMTPHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP to receive a message: EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT."""

    def handle(self) -> None:
        sink: list[dict[str, Any]] = self.server.sink  # type: ignore[attr-defined]
        reply = self.wfile.write
        reply(b"220 sink ESMTP\r\n")
        mail: dict[str, Any] = {"from": None, "to": [], "data": ""}
        while line := self.rfile.readline():
            command = line.decode().strip()
            verb = command[:4].upper()
            if verb in ("EHLO", "HELO"):
                reply(b"250 sink\r\n")
            elif verb == "MAIL":
                mail = {"from": command.partition(":")[2].strip(" <>"), "to": [], "data": ""}
                reply(b"250 OK\r\n")
            elif verb == "RCPT":
                mail["to"].append(command.partition(":")[2].strip(" <>"))
                reply(b"250 OK\r\n")
            elif verb == "DATA":
                reply(b"354 end with <CRLF>.<CRLF>\r\n")
                data = []
                while (chunk := self.rfile.readline()) not in (b".\r\n", b".\n", b""):
                    data.append(chunk.decode())
                mail["data"] = "".join(data)
                sink.append(mail)
                reply(b"250 OK queued\r\n")
            elif verb in ("RSET", "NOOP"):
                reply(b"250 OK\r\n")
            elif verb == "QUIT":
                reply(b"221 bye\r\n")
                return
            else:
                reply(b"502 not implemented\r\n")


@pytest.fixture
def smtp_sink(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    """A local SMTP server on a free port, configured for the back office; the messages it received."""
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SMTPHandler)
    server.daemon_threads = True
    server.sink = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("TIXTRACE_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("TIXTRACE_SMTP_PORT", str(server.server_address[1]))
    try:
        yield server.sink  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_an_error_execution_notifies_the_interfaces_notification_emails(system: System, bo: TestClient,
                                                                      smtp_sink: list[dict[str, Any]]) -> None:
    notified = ["ops@wc26.example", "noc@wc26.example"]
    with unit_of_work(system.engine) as conn:
        interface = create_interface(conn, NewInterface(
            "wrong key", "TIXNGO", f"{system.base_url}/organizer/tickets", system.wallet.auth[0], "not-the-api-key",
            notified, FEATURE), datetime.now(UTC), actor="test")
    feedback = system.schedule(interface.id, FEEDBACK)
    good = system.schedule(system.interface(), FEEDBACK)

    execution = api_execution(bo, run_ok(system, feedback, "ERROR"))

    [error] = log_of(execution, "ERROR")
    assert "401" in error["message"] or "BAD_CREDENTIALS" in error["message"], error
    [mail] = smtp_sink
    assert sorted(mail["to"]) == sorted(notified)
    message = email.message_from_string(mail["data"], policy=email.policy.default)
    body = message.get_content()  # quoted-printable decoded: long lines are folded on the wire
    assert "ended ERROR" in str(message["Subject"]) and "RETRIEVE_TICKET_STATUS" in str(message["Subject"])
    assert "BAD_CREDENTIALS" in body and "not-the-api-key" not in mail["data"] + body

    run_ok(system, good)  # an execution that does not end ERROR sends nothing
    assert len(smtp_sink) == 1


def test_smtp_sink_speaks_enough_smtp(smtp_sink: list[dict[str, Any]]) -> None:
    """The sink itself, through the standard library's client (so a failure above is not the sink's)."""
    with smtplib.SMTP("127.0.0.1", int(os.environ["TIXTRACE_SMTP_PORT"]), timeout=5) as smtp:
        smtp.sendmail("a@example.com", ["b@example.com"], "Subject: hi\r\n\r\nhello\r\n")
    assert smtp_sink == [{"from": "a@example.com", "to": ["b@example.com"], "data": "Subject: hi\r\n\r\nhello\r\n"}]


# --- nothing new --------------------------------------------------------------------------------


def test_a_run_with_nothing_new_changes_nothing(system: System, bo: TestClient) -> None:
    first, second, feedback = two_transfers(system, FEATURE)
    send(system, BOB, first, "dan@example.com")  # a temporary contact, pending
    send(system, CARL, second, "eve@example.com")
    system.wallet.advance(3601)  # ...and one that timed out
    send(system, CARL, second, "finn@example.com")
    run_ok(system, feedback)
    before = snapshot(system)
    assert before["distribution_lines"] and before["contacts"]
    calls = Rewriting()

    execution = api_execution(bo, run_via(system, feedback, calls, "OK"))

    assert all(value == 0 for value in execution["counters"].values()), execution["counters"]
    assert execution["log"] == []
    assert calls.calls == ["GET /organizer/tickets/diff"]  # one diff call, nothing else
    assert snapshot(system) == before
