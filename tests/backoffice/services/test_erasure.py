"""Data protection: erasing a contact (``services.erasure.erase_contact``) removes the person and keeps
the distribution history consistent, on both databases; a feedback run after it never brings the person
back into the erased contact.

The scenarios are built through the services (contacts, events, tickets, interfaces, schedules) and a
few direct inserts for what only the feedback writes (lines, wallet profiles, claims, dumps, parked
records); the last test drives the real wallet over HTTP and the real feedback.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, insert, select, update

from tests.support.backoffice import START
from tests.support.feedback import accept, act, new_ticket, rows, run_ok, send
from tests.support.system import FEATURE, System
from tixtrace.backoffice.db.tables import (
    contact_emails,
    contacts,
    distribution_lines,
    executions,
    metadata,
    parked_records,
    tickets,
)
from tixtrace.backoffice.domain.records import parse_record
from tixtrace.backoffice.interfaces.tixngo.records import from_json_value
from tixtrace.backoffice.services.contacts import NewContact, create_contact
from tixtrace.backoffice.services.distribution import load_fold, write_fold
from tixtrace.backoffice.services.erasure import erase_contact
from tixtrace.backoffice.services.events import NewEvent, create_event
from tixtrace.backoffice.services.interfaces import NewInterface, create_interface
from tixtrace.backoffice.services.schedules import NewSchedule, create_schedule
from tixtrace.backoffice.services.tickets import NewTicket, create_ticket
from tixtrace.kernel.db import unit_of_work
from tixtrace.kernel.errors import Conflict, NotFound

BOB_EMAIL = "Bob.Ross@Example.com"  # as typed; its matching key is lower-case
BOB_KEY = "bob.ross@example.com"
BOB_TRACES = [BOB_KEY, "Ross", "Bob", "+33 6 12 34 56 78", "ID-B0B-77"]
LATER = START + timedelta(days=1)


def traces(engine: Engine, needles: list[str]) -> list[tuple[str, str, Any]]:
    """Every (table, column, row) of the whole database whose text or JSON holds one of `needles`
    (case-insensitive): the erased person must be found nowhere. Password hashes are skipped: they are
    random base64 that can spell "bob" by chance (a CI run once drew such a salt), and hold nobody's data."""
    lowered = [needle.lower() for needle in needles]
    found = []
    with unit_of_work(engine, write=False) as conn:
        for table in metadata.sorted_tables:
            for row in conn.execute(select(table)).mappings():
                for column, value in row.items():
                    if column == "password_hash":
                        continue
                    if isinstance(value, dict | list):
                        value = json.dumps(value, ensure_ascii=False)
                    if isinstance(value, str) and any(needle in value.lower() for needle in lowered):
                        found.append((table.name, column, value))
    return found


def profile(email: str, first: str, last: str, **extra: Any) -> dict[str, Any]:
    return {"email": email, "firstName": first, "lastName": last, **extra}


class Scene:
    """Ana's ticket went to Bob (confirmed), Bob's own transfer to Carl was rejected, an old transfer
    to Bob's e-mail was cancelled before he had a contact; Dan's ticket and Carl's contact are bystanders."""

    def __init__(self, conn: Connection) -> None:
        create_event(conn, NewEvent("E1", "Final", START, "Stadium", "City", "10001", "US"), START)
        self.ana = create_contact(conn, NewContact("INDIVIDUAL", "Lima", first_name="Ana", email="ana@example.com"),
                                  START).id
        self.bob = create_contact(conn, NewContact(
            "INDIVIDUAL", "Ross", first_name="Bob", title="Mr", email=BOB_EMAIL, mobile_phone="+33 6 12 34 56 78",
            birth_date=date(1990, 4, 2), nationality="FRA", id_number="ID-B0B-77", country="FR", language="fr",
            allow_promo_email=True, allow_third_party_email=False, has_internet_account=True), START).id
        # a company sharing Bob's e-mail is another contact: it is not erased with him
        self.acme = create_contact(conn, NewContact("STRUCTURE", "Acme", email=BOB_EMAIL), START).id
        self.carl = create_contact(conn, NewContact("INDIVIDUAL", "Sagan", first_name="Carl",
                                                    email="carl@example.com"), START).id
        conn.execute(insert(contact_emails).values(email_key=BOB_KEY, contact_id=self.bob, created_at=START))
        self.ticket = create_ticket(conn, NewTicket("E1", self.ana, number="T-1"), START).id
        self.other = create_ticket(conn, NewTicket("E1", self.carl, number="T-2"), START).id
        conn.execute(update(tickets).where(tickets.c.id == self.ticket).values(
            cultural_contact_id=self.bob, owner_contact_id=self.bob, mobile_status="ASSIGNED",
            wallet_owner=profile(BOB_EMAIL, "Bob", "Ross", phoneNumber="+33 6 12 34 56 78"),
            ticket_holder={"firstName": "bob", "lastName": "ROSS"}, last_wallet_owner_email=BOB_EMAIL))
        conn.execute(update(tickets).where(tickets.c.id == self.other).values(
            mobile_status="DOWNLOADED", wallet_owner=profile("carl@example.com", "Carl", "Sagan"),
            last_wallet_owner_email="carl@example.com"))
        self.line_ids = [self._line(conn, self.ticket, "t1", self.ana, self.bob, BOB_EMAIL, "CONFIRMED"),
                         self._line(conn, self.ticket, "t2", self.bob, None, "carl@example.com", "CANCELLED"),
                         self._line(conn, self.other, "t3", self.carl, None, f" {BOB_KEY.upper()} ", "CANCELLED"),
                         self._line(conn, self.other, "t4", self.carl, self.acme, BOB_EMAIL, "CANCELLED")]
        interface = create_interface(conn, NewInterface("tixngo", "TIXNGO", "http://wallet.test/organizer/tickets",
                                                        "org@example.com", "key", [], FEATURE), START, actor="test").id
        self.schedule = create_schedule(conn, interface, NewSchedule("RETRIEVE_TICKET_STATUS", "MANUAL"),
                                        START, actor="test").id
        self.dumps = [conn.execute(insert(executions).values(
            schedule_id=self.schedule, function="RETRIEVE_TICKET_STATUS", status="OK", started_at=START,
            dumped_calls=dump).returning(executions.c.id)).scalar_one()
            for dump in (f'< 200 {{"records": [{{"walletOwner": {{"email": "{BOB_EMAIL}"}}}}]}}',
                         '< 200 {"records": []}')]

    @staticmethod
    def _line(conn: Connection, ticket: int, transfer: str, old: int, new: int | None, email: str,
              status: str) -> int:
        return int(conn.execute(insert(distribution_lines).values(
            ticket_id=ticket, transfer_id=transfer, action="DISTRIBUTE", old_contact_id=old, new_contact_id=new,
            recipient_email=email, status=status, initiated_at=START, recorded_at=START,
            updated_at=START, opened_record_id=1).returning(distribution_lines.c.id)).scalar_one())


@pytest.fixture
def scene(engine: Engine) -> Scene:
    with unit_of_work(engine) as conn:
        return Scene(conn)


def erase(engine: Engine, contact_id: int) -> Any:
    with unit_of_work(engine) as conn:
        return erase_contact(conn, contact_id, LATER)


def by_id(engine: Engine, table: Any) -> dict[int, dict[str, Any]]:
    return {row["id"]: row for row in rows(engine, table)}


def test_erasure_removes_the_person_and_keeps_every_line_and_link(engine: Engine, scene: Scene) -> None:
    """The contact becomes a placeholder (not temporary, no e-mail key, erasedAt set); every line and
    ticket still points where it did; Bob's e-mail, names, phone and ID number are left nowhere in the
    database, while the bystanders (Ana, Carl, the company sharing Bob's e-mail) keep their data."""
    assert traces(engine, BOB_TRACES)  # the scene does hold Bob's data
    lines_before = by_id(engine, distribution_lines)
    tickets_before = by_id(engine, tickets)

    erasure = erase(engine, scene.bob)

    assert not erasure.already_erased
    assert (erasure.lines_cleared, erasure.tickets_cleared, erasure.dumps_cleared) == (2, 1, 1)
    bob = by_id(engine, contacts)[scene.bob]
    assert (bob["first_name"], bob["last_name"], bob["kind"]) == ("Erased", f"CONTACT #{scene.bob}", "INDIVIDUAL")
    for field in ("title", "email", "email_key", "phone", "mobile_phone", "birth_date", "nationality", "id_number",
                  "country", "language", "allow_promo_email", "allow_third_party_email"):
        assert bob[field] is None, field
    assert bob["is_temporary"] is False and bob["has_internet_account"] is False
    assert bob["erased_at"] is not None and bob["erased_at"].replace(tzinfo=UTC) == LATER
    assert asdict(erasure.contact) == {k: v for k, v in bob.items()
                                       if k not in {"email_key", "search_name", "search_name_reversed"}}
    # the history keeps its shape: same lines, same links, only the erased e-mails are gone
    lines = by_id(engine, distribution_lines)
    assert lines.keys() == lines_before.keys()
    for line_id, line in lines.items():
        before = lines_before[line_id]
        assert {k: v for k, v in line.items() if k != "recipient_email"} == \
            {k: v for k, v in before.items() if k != "recipient_email"}
    assert [lines[i]["recipient_email"] for i in scene.line_ids] == [None, "carl@example.com", None, BOB_EMAIL]
    ticket = by_id(engine, tickets)[scene.ticket]
    assert (ticket["cultural_contact_id"], ticket["owner_contact_id"], ticket["mobile_status"]) == (
        scene.bob, scene.bob, "ASSIGNED")
    assert ticket["wallet_owner"] is None and ticket["ticket_holder"] is None
    assert ticket["last_wallet_owner_email"] is None
    assert by_id(engine, tickets)[scene.other] == tickets_before[scene.other]
    assert rows(engine, contact_emails) == []  # the claim is released
    dumps = by_id(engine, executions)
    assert dumps[scene.dumps[0]]["dumped_calls"] is None and dumps[scene.dumps[1]]["dumped_calls"] is not None
    # nothing of Bob is left but the e-mail the company was typed with (another contact's data)
    assert {(table, column) for table, column, _ in traces(engine, BOB_TRACES)} == {
        ("contacts", "email"), ("contacts", "email_key"), ("distribution_lines", "recipient_email")}
    people = by_id(engine, contacts)
    assert people[scene.acme]["email"] == BOB_EMAIL and people[scene.carl]["first_name"] == "Carl"
    assert people[scene.ana]["email"] == "ana@example.com"


def test_erasing_twice_changes_nothing(engine: Engine, scene: Scene) -> None:
    """Erasure is idempotent: the second one reports the contact already erased and writes nothing."""
    erase(engine, scene.bob)
    state = {table.name: rows(engine, table) for table in metadata.sorted_tables}

    again = erase(engine, scene.bob)

    assert again.already_erased and (again.lines_cleared, again.tickets_cleared, again.dumps_cleared) == (0, 0, 0)
    assert {table.name: rows(engine, table) for table in metadata.sorted_tables} == state


def _refused(engine: Engine, contact_id: int, error: type[Exception], code: str) -> str:
    state = {table.name: rows(engine, table) for table in metadata.sorted_tables}
    with pytest.raises(error) as raised:
        erase(engine, contact_id)
    assert raised.value.code == code  # type: ignore[attr-defined]
    assert {table.name: rows(engine, table) for table in metadata.sorted_tables} == state
    return str(raised.value.message)  # type: ignore[attr-defined]


def test_an_unknown_contact_is_refused(engine: Engine, scene: Scene) -> None:
    """An id that is no contact: 404 CONTACT_NOT_FOUND naming the id, nothing written."""
    assert "999999" in _refused(engine, 999999, NotFound, "CONTACT_NOT_FOUND")


@pytest.mark.parametrize("side", ["new_contact_id", "old_contact_id"])
def test_a_contact_in_a_pending_transfer_is_refused(engine: Engine, scene: Scene, side: str) -> None:
    """While a transfer to or from the contact is PENDING its outcome would write the person back
    (CONFIRMED makes them the cultural contact from their wallet profile): 409 naming the ticket."""
    with unit_of_work(engine) as conn:
        conn.execute(update(distribution_lines).where(distribution_lines.c.id == scene.line_ids[1]).values(
            status="PENDING", **{side: scene.bob}))
    message = _refused(engine, scene.bob, Conflict, "CONTACT_HAS_PENDING_TRANSFER")
    assert "T-1" in message and "pending" in message


def test_a_contact_held_by_a_parked_record_is_refused(engine: Engine, scene: Scene) -> None:
    """A parked record carrying the e-mail (any case, any depth) would bring the person back when
    retried: 409 naming the record; a parked record about someone else does not block."""
    record = {"recordId": 41, "ticketId": "T-2", "status": "PENDING_TRANSFER",
              "transfer": {"recipient": {"email": f" {BOB_KEY.upper()}"}}}
    with unit_of_work(engine) as conn:
        conn.execute(insert(parked_records).values(schedule_id=scene.schedule, record_id=42, ticket_number="T-2",
                                                   record={"recordId": 42, "status": "BAD"}, error="x",
                                                   parked_at=START))
        conn.execute(insert(parked_records).values(schedule_id=scene.schedule, record_id=41, ticket_number="T-2",
                                                   record=record, error="x", parked_at=START))
    assert "41" in _refused(engine, scene.bob, Conflict, "CONTACT_IN_PARKED_RECORD")
    assert not erase(engine, scene.carl).already_erased


def test_a_later_transfer_to_the_erased_email_creates_a_new_contact(engine: Engine, scene: Scene) -> None:
    """The released claim (C2) lets the feedback's write path make a new contact for the e-mail; the
    erased contact is never matched again (C1: the company sharing the e-mail never matches either)."""
    erase(engine, scene.bob)
    record = parse_record(from_json_value({
        "recordId": 1, "ticketId": "T-2", "status": "PENDING_TRANSFER", "occurredAt": LATER.isoformat(),
        "walletOwner": profile("carl@example.com", "Carl", "Sagan"),
        "transfer": {"transferId": "t9", "direction": "FORWARD", "initiatedBy": "SPECTATOR",
                     "recipient": {"email": BOB_EMAIL}}}))
    with unit_of_work(engine) as conn:
        fold = load_fold(conn, [record], feature_active=True, now=LATER)
        assert fold.apply(record)
        write_fold(conn, fold, LATER)
    [line] = [row for row in rows(engine, distribution_lines) if row["transfer_id"] == "t9"]
    assert line["contact_match"] == "CREATED_TEMPORARY" and line["new_contact_id"] not in (scene.bob, scene.acme)
    assert [row["contact_id"] for row in rows(engine, contact_emails)] == [line["new_contact_id"]]


# --- end to end: the real wallet and the real feedback --------------------------------------------

ANA, BOB, CARL, DAN = "ana@example.com", "bob.ross@example.com", "carl@example.com", "dan@example.com"


@pytest.mark.parametrize("opened", [True, False], ids=["opened", "never opened"])
def test_a_feedback_after_erasure_keeps_the_history_and_never_refills_the_contact(system: System,  # noqa: F811
                                                                                   opened: bool) -> None:
    """Bob received Ana's ticket, assigned it to himself and offered it to Carl, who refused. Opened:
    he opened it, so his contact was completed from his wallet profile (the DOWNLOADED record, W10);
    never opened: the organizer only ever had his e-mail and his contact is still the temporary one,
    but the holder he typed is on the ticket. After erasing Bob, a feedback run that reads new records
    of other tickets leaves Bob's ticket with the same lines, still pointing at the erased contact, and
    leaves no trace of Bob anywhere in the back office (payload dumps and the holder he typed
    included); a later transfer to Bob's e-mail makes a new contact instead of matching the erased one."""
    ana = system.contact(ANA)
    first, second, third = (new_ticket(system, ana) for _ in range(3))
    interface = system.interface(f"{FEATURE}\nmaxLengthDumpedCallsInKbs=100")
    injection = system.schedule(interface, "TICKETS_INJECTION")
    feedback = system.schedule(interface, "RETRIEVE_TICKET_STATUS")
    run_ok(system, injection)
    accept(system, BOB, send(system, ANA, first, BOB), "Bob", "Ross", phoneNumber="+33612345678",
           idCardNumber="ID-B0B-77", dateOfBirth="1990-04-02")
    if opened:
        system.wallet.open_tickets(BOB)
    holder = system.wallet.as_spectator(BOB, "POST", f"/spectator/tickets/{first['number']}/holder",
                                        json={"firstName": "Bob", "lastName": "Ross"})
    assert holder.status_code == 200, holder.text
    act(system, CARL, send(system, BOB, first, CARL), "reject")
    run_ok(system, feedback)
    [bob] = system.contacts_of(BOB)
    assert (bob["is_temporary"], bob["last_name"]) == ((False, "Ross") if opened else (True, "CREATION"))
    lines_before = system.lines(first["number"])
    assert [line["status"] for line in lines_before] == ["CONFIRMED", "CANCELLED"]
    bob_traces = [BOB, "Ross", "+33612345678", "ID-B0B-77"]
    assert {table for table, _, _ in traces(system.engine, bob_traces)} >= {"contacts", "tickets", "executions"}

    with unit_of_work(system.engine) as conn:
        erase_contact(conn, bob["id"], datetime.now(UTC))
    accept(system, DAN, send(system, ANA, second, DAN), "Dan", "Okafor")  # new records, other tickets
    execution = run_ok(system, feedback)

    assert execution["records_read"] == 2
    assert traces(system.engine, bob_traces) == []
    lines = system.lines(first["number"])
    erased_fields = ("recipient_email", "sender_email", "updated_at")
    assert [{k: v for k, v in line.items() if k not in erased_fields} for line in lines] == \
        [{k: v for k, v in line.items() if k not in erased_fields} for line in lines_before]
    assert [line["sender_email"] for line in lines] == [ANA, None], "Bob's e-mail as sender is gone too"
    assert [line["new_contact_id"] for line in lines] == [bob["id"], None]
    assert [line["old_contact_id"] for line in lines] == [ana, bob["id"]]
    ticket = system.ticket_row(first["number"])
    assert ticket["cultural_contact_id"] == ticket["owner_contact_id"] == bob["id"]
    with unit_of_work(system.engine, write=False) as conn:
        erased = conn.execute(select(contacts).where(contacts.c.id == bob["id"])).mappings().one()
    assert (erased["first_name"], erased["is_temporary"], erased["email_key"]) == ("Erased", False, None)

    accept(system, BOB, send(system, ANA, third, BOB), "Bob", "Ross")  # Bob comes back, as a new person
    run_ok(system, feedback)
    [again] = system.contacts_of(BOB)
    assert again["id"] != bob["id"] and system.ticket_row(third["number"])["cultural_contact_id"] == again["id"]
    with unit_of_work(system.engine, write=False) as conn:
        assert conn.execute(select(contacts).where(contacts.c.id == bob["id"])).mappings().one() == erased
