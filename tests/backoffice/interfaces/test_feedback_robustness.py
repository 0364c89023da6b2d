"""What a code review found: long wallet ticket ids, a cancel racing the injection, fixing a parked
record with a file to upload, and exception texts that must not carry personal data."""

from __future__ import annotations

from dataclasses import asdict

import httpx
from sqlalchemy import select, update

from tests.support.system import FEATURE, System
from tests.support.wallet import ticket_payload
from tixtrace.backoffice.db.tables import execution_logs, parked_records, schedules, tickets
from tixtrace.backoffice.domain.tickets import TicketAction
from tixtrace.backoffice.interfaces.runner import describe, run_schedule
from tixtrace.backoffice.services.executions import get_execution, start_execution
from tixtrace.backoffice.services.tickets import apply_action
from tixtrace.kernel.db import unit_of_work

CONTINUE = FEATURE + "\ndoContinueInCaseOfSyncError=true"


def test_an_unknown_ticket_with_a_long_id_is_skipped_not_fatal(system: System) -> None:
    long_id = "X" * 64  # the wallet takes 64 characters (W13), the back office's numbers 50
    system.wallet.inject(ticket_payload(long_id, "zoe@example.com"))
    feedback = system.schedule(system.interface(FEATURE), "RETRIEVE_TICKET_STATUS")
    execution = system.run(feedback)
    assert execution["status"] == "OK" and execution["skipped"] == 1
    with unit_of_work(system.engine, write=False) as conn:
        numbers = list(conn.scalars(select(execution_logs.c.ticket_number)
                                    .where(execution_logs.c.ticket_number.is_not(None))))
    assert numbers == ["X" * 50]  # (and the line of what the run read, which names no ticket: O3)


class CancelDuringInjection(httpx.BaseTransport):
    """The operator cancels the ticket while the wallet is taking it."""

    def __init__(self, system: System, ticket_id: int) -> None:
        self.inner, self.system, self.ticket_id = httpx.HTTPTransport(), system, ticket_id

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.method == "POST" and request.url.path.endswith("/organizer/tickets"):
            with unit_of_work(self.system.engine) as conn:
                apply_action(conn, self.ticket_id, TicketAction.CANCEL, self.system.clock.now(), actor="test")
        return response


def test_a_ticket_cancelled_while_being_injected_is_deleted_by_push_cancelled(system: System) -> None:
    ticket = system.ticket(system.contact("ana@example.com"))
    interface = system.interface(FEATURE)
    injection = system.schedule(interface, "TICKETS_INJECTION")
    execution = asdict(run_schedule(system.engine, injection, clock=system.clock,
                                    transport=CancelDuringInjection(system, ticket["id"])))
    assert execution["status"] == "OK"
    row = system.ticket_row(ticket["number"])
    assert row["status"] == "CANCELLED" and row["injected_at"] is not None
    assert system.run(system.schedule(interface, "PUSH_CANCELLED"))["status"] == "OK"
    assert system.wallet.detail(ticket["number"])["status"] in ("DELETED", "DELETION_PENDING")


def test_a_fixed_parked_record_uploaded_alone_applies_with_the_ones_behind_it(system: System) -> None:
    ana = system.contact("ana@example.com")
    ticket = system.ticket(ana)
    interface = system.interface(CONTINUE)
    assert system.run(system.schedule(interface, "TICKETS_INJECTION"))["status"] == "OK"
    feedback = system.schedule(interface, "RETRIEVE_TICKET_STATUS")
    transfer = system.wallet.transfer("ana@example.com", ticket["number"], "bob@example.com").json()["transferId"]
    system.wallet.profile("bob@example.com", "Bob", "Ross")
    assert system.wallet.act("bob@example.com", transfer, "accept").status_code == 200
    pending = next(r for r in system.wallet.all_records() if r["status"] == "PENDING_TRANSFER")
    broken = {**pending, "status": "NOT_A_STATUS"}
    with unit_of_work(system.engine) as conn:  # as if the wallet had sent it broken: park it and the one behind
        last = max(r["recordId"] for r in system.wallet.all_records())  # the feed has passed them
        conn.execute(update(schedules).where(schedules.c.id == feedback).values(last_record_id=last))
        for raw in (broken, next(r for r in system.wallet.all_records() if r["status"] == "TRANSFERRED")):
            conn.execute(parked_records.insert().values(
                schedule_id=feedback, record_id=raw["recordId"], ticket_number=ticket["number"], record=raw,
                error="test", parked_at=system.clock.now()))
        conn.execute(update(tickets).where(tickets.c.id == ticket["id"]).values(mobile_status=None))
    execution = asdict(run_schedule(system.engine, feedback, clock=system.clock, upload=[pending]))
    assert execution["status"] == "OK", execution
    with unit_of_work(system.engine, write=False) as conn:
        assert conn.execute(select(parked_records)).all() == []
    assert [line["status"] for line in system.lines(ticket["number"])] == ["CONFIRMED"]
    assert system.ticket_row(ticket["number"])["mobile_status"] == "TRANSFERRED"


def test_exception_texts_in_execution_logs_keep_only_the_first_line() -> None:
    class Orig(Exception):
        pass

    class Wrapped(Exception):
        orig = Orig('duplicate key value violates unique constraint "uq"\nDETAIL:  Key (email)=(ana@example.com)')

    assert describe(Wrapped("[SQL: INSERT ...] [parameters: ('ana@example.com',)]")) == \
        'Orig: duplicate key value violates unique constraint "uq"'




def test_an_execution_left_running_by_a_killed_process_is_ended_by_the_next_run(system: System) -> None:
    feedback = system.schedule(system.interface(FEATURE), "RETRIEVE_TICKET_STATUS")
    with unit_of_work(system.engine) as conn:  # what a SIGKILLed run leaves behind
        killed = start_execution(conn, feedback, system.clock.now()).id
    execution = system.run(feedback)
    assert execution["status"] == "OK" and execution["id"] != killed
    with unit_of_work(system.engine, write=False) as conn:
        view = get_execution(conn, killed)
    assert view.execution.status == "ERROR" and view.execution.ended_at is not None
    assert [line.message for line in view.log][0].startswith("interrupted: its process ended")
