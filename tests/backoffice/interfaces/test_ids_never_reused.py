"""C4 end to end: the id of a temporary contact the feedback deleted (F5) is never given to anyone else,
neither to a contact an operator creates next nor to the next contact the feedback creates."""

from __future__ import annotations

from sqlalchemy import func, select

from tests.support.system import System
from tixtrace.backoffice.db.tables import contacts
from tixtrace.kernel.db import unit_of_work

ANA, BOB, CARL = "ana@example.com", "bob@example.com", "carl@example.com"


def _run_ok(system: System, schedule_id: int) -> None:
    execution = system.run(schedule_id)
    assert execution["status"] == "OK", execution


def _send(system: System, ticket: dict[str, object], recipient: str) -> str:
    response = system.wallet.transfer(ANA, str(ticket["number"]), recipient)
    assert response.status_code == 201, response.text
    return str(response.json()["transferId"])


def test_a_deleted_temporary_contacts_id_is_never_handed_out_again(system: System) -> None:
    ana = system.contact(ANA)
    first, second = system.ticket(ana, number="ID-1"), system.ticket(ana, number="ID-2")
    interface = system.interface()
    injection = system.schedule(interface, "TICKETS_INJECTION")
    feedback = system.schedule(interface, "RETRIEVE_TICKET_STATUS")
    _run_ok(system, injection)
    rejected = _send(system, first, BOB)
    _run_ok(system, feedback)
    [temporary] = system.contacts_of(BOB)
    with unit_of_work(system.engine, write=False) as conn:
        assert temporary["is_temporary"] and conn.scalar(select(func.max(contacts.c.id))) == temporary["id"]

    response = system.wallet.act(BOB, rejected, "reject")
    assert response.status_code == 200, response.text
    _run_ok(system, feedback)  # F5: the temporary contact, the newest one, is deleted
    assert system.contacts_of(BOB) == []

    typed = system.contact("dan@example.com")  # an operator's contact
    _send(system, second, CARL)
    _run_ok(system, feedback)  # the feedback's next new contact (ids reserved in bulk)
    [created] = system.contacts_of(CARL)
    assert temporary["id"] < typed < created["id"]
