"""The feature's rules (DESIGN section 4: F1-F8, C1-C3, I2's prerequisite), one named test each, end to end.

Spectators act through the wallet's spectator API (HTTP), the feedback reads the wallet's organizer API
(HTTP, a real uvicorn server) and the results are read back through the back office's JSON API (HTTP)
and, where a whole row must be compared, from its database.

The shortcuts are in tests/support/feedback.py.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, insert, select, text

from tests.support.databases import admin_engine, pg_url
from tests.support.feedback import (
    ANA,
    BOB,
    FEEDBACK,
    INJECTION,
    Rewriting,
    accept,
    act,
    api,
    api_contacts,
    api_execution,
    api_history,
    api_ticket,
    backoffice_client,
    canonical,
    count,
    functions,
    log_of,
    new_ticket,
    rows,
    run_ok,
    run_via,
    send,
)
from tests.support.system import FEATURE, System
from tests.support.wallet import START, ticket_payload
from tixtrace.backoffice.db.database import open_backoffice_database
from tixtrace.backoffice.db.tables import contact_emails, contacts, distribution_lines, metadata
from tixtrace.backoffice.domain.contacts import temporary_contact_fields
from tixtrace.backoffice.interfaces.runner import run_schedule
from tixtrace.backoffice.services.contacts import NewContact, create_contact
from tixtrace.backoffice.services.events import NewEvent, create_event
from tixtrace.backoffice.services.interfaces import NewInterface, create_interface
from tixtrace.backoffice.services.schedules import NewSchedule, create_schedule
from tixtrace.backoffice.services.tickets import NewTicket, create_ticket
from tixtrace.kernel.clock import SystemClock
from tixtrace.kernel.db import unit_of_work


@pytest.fixture
def bo(system: System, operator_hash: str) -> Iterator[TestClient]:
    yield from backoffice_client(system, operator_hash)


# --- a second, empty back office on the same wallet (F6) ------------------------------------------


@pytest.fixture(scope="session")
def _spare_postgres(databases: Any) -> Iterator[dict[str, Any]]:
    state: dict[str, Any] = {}
    yield state
    if "engine" in state:
        state["engine"].dispose()
        admin = admin_engine()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{state["name"]}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def spare_backoffice(backend: str, databases: Any, tmp_path: Path,
                     _spare_postgres: dict[str, Any]) -> Iterator[Callable[[], Engine]]:
    """``fresh()`` → an empty migrated back-office database of the test's backend, other than the system's."""
    opened: list[Engine] = []
    serial = itertools.count()

    def fresh() -> Engine:
        if backend == "sqlite":
            directory = tmp_path / f"spare{next(serial)}"
            directory.mkdir()
            engine = open_backoffice_database(databases.sqlite_url("backoffice", directory))
            opened.append(engine)
            return engine
        if "engine" not in _spare_postgres:
            name = f"tixtrace_test_{databases.run_id}_spare"
            admin = admin_engine()
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            admin.dispose()
            _spare_postgres.update(name=name, engine=open_backoffice_database(pg_url(name)))
        engine = _spare_postgres["engine"]
        names = ", ".join(f'"{table.name}"' for table in metadata.sorted_tables)
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        return engine  # type: ignore[no-any-return]

    yield fresh
    for engine in opened:
        engine.dispose()


def populate(engine: Engine, people: dict[str, tuple[str, str]], owned: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Contacts (e-mail → names) and tickets (number → cultural contact's e-mail) of a scenario."""
    now = datetime.now(UTC)
    with unit_of_work(engine) as conn:
        ids = {email: create_contact(conn, NewContact("INDIVIDUAL", last, first, email=email), now).id
               for email, (first, last) in people.items()}
        return {n: asdict(create_ticket(conn, NewTicket("WC26-M01", ids[email], number=n), now))
                for n, email in owned.items()}


def replay_into(engine: Engine, system: System, people: dict[str, tuple[str, str]], owned: dict[str, str],
                batch_size: int) -> dict[str, Any]:
    """Seed a fresh back office like the system's, point it at the same wallet, run its feedback once."""
    now = datetime.now(UTC)
    with unit_of_work(engine) as conn:
        create_event(conn, NewEvent("WC26-M01", "Opening match", START, "Estadio Azteca", "Mexico City", "04650",
                                    "MX"), now)
    populate(engine, people, owned)
    with unit_of_work(engine) as conn:
        interface = create_interface(conn, NewInterface("tixngo", "TIXNGO", f"{system.base_url}/organizer/tickets",
                                                        *system.wallet.auth, [], FEATURE), now, actor="test")
        schedule = create_schedule(conn, interface.id, NewSchedule(FEEDBACK, "MANUAL", batch_size=batch_size), now,
                                   actor="test")
    execution = asdict(run_schedule(engine, schedule.id, clock=SystemClock(), client_options={"backoff_seconds": 0.01}))
    assert execution["status"] == "OK", execution
    return canonical(engine)


# --- F1, F2 -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("parameters", "status"), [
    pytest.param("TIXNGO_LIFECYCLE_MODE=lifecycle\nenableTicketDistributionToCulturalContact=false\n"
                 "overlaySpectatorDetailsWithLastOwner=true", "OK", id="enable-false"),
    pytest.param("TIXNGO_LIFECYCLE_MODE=lifecycle\noverlaySpectatorDetailsWithLastOwner=true", "OK",
                 id="enable-absent"),
    pytest.param("enableTicketDistributionToCulturalContact=true\noverlaySpectatorDetailsWithLastOwner=true",
                 "WARNING", id="lifecycle-mode-missing"),
])
def test_f1_feature_not_active_only_refreshes_mobile_status(system: System, bo: TestClient, parameters: str,
                                                            status: str) -> None:
    ana = system.contact(ANA)
    carl = system.contact("carl@example.com", "Carl", "Known")
    given, pending = new_ticket(system, ana), new_ticket(system, ana)
    injection, feedback = functions(system, parameters)
    run_ok(system, injection)
    tid = send(system, ANA, given, BOB)
    accept(system, BOB, tid, "Bob", "Ross")
    system.wallet.as_spectator(BOB, "GET", "/spectator/tickets")  # Bob opens it: his profile is shared (W10)
    send(system, ANA, pending, "carl@example.com")
    before = rows(system.engine, contacts)

    execution = api_execution(bo, run_ok(system, feedback, status))

    assert rows(system.engine, contacts) == before  # nothing created, nothing changed
    assert count(system.engine, distribution_lines) == 0
    assert execution["counters"]["contactsCreated"] == 0 and execution["counters"]["linesCreated"] == 0
    assert execution["counters"]["recordsRead"] == len(system.wallet.all_records())
    shown = api_ticket(bo, given)
    assert shown["mobileStatus"] == "DOWNLOADED"  # the latest record of the ticket wins
    assert shown["walletOwner"]["email"] == BOB and shown["walletOwner"]["lastName"] == "Ross"
    assert shown["culturalContact"]["id"] == ana and shown["owner"]["id"] == ana
    shown = api_ticket(bo, pending)
    assert shown["mobileStatus"] == "PENDING_TRANSFER" and shown["walletOwner"]["email"] == ANA
    assert shown["culturalContact"]["id"] == ana and shown["owner"]["id"] == ana
    assert api_contacts(bo, "carl@example.com")[0]["id"] == carl
    warnings = [line["message"] for line in log_of(execution, "WARNING")]
    if status == "WARNING":
        assert any("TIXNGO_LIFECYCLE_MODE" in message for message in warnings), warnings
    else:
        assert warnings == []


def test_f2_every_record_refreshes_mobile_status_wallet_owner_and_holder(system: System, bo: TestClient) -> None:
    ana = system.contact(ANA)
    ticket = new_ticket(system, ana)
    injection, feedback = functions(system)
    run_ok(system, injection)
    w = system.wallet

    def after_feedback() -> dict[str, Any]:
        run_ok(system, feedback)
        return api_ticket(bo, ticket)

    shown = after_feedback()
    assert (shown["mobileStatus"], shown["walletOwner"]["email"], shown["ticketHolder"]) == ("INJECTED", ANA, None)
    assert shown["walletOwner"]["firstName"] == "Ana" and shown["lastSyncedAt"] is not None
    w.as_spectator(ANA, "GET", "/spectator/tickets")
    assert after_feedback()["mobileStatus"] == "DOWNLOADED"
    response = w.as_spectator(ANA, "POST", f"/spectator/tickets/{ticket['number']}/holder",
                              json={"firstName": "Hugo", "lastName": "Lima"})
    assert response.status_code == 200, response.text
    shown = after_feedback()
    assert shown["mobileStatus"] == "ASSIGNED"
    assert (shown["ticketHolder"]["firstName"], shown["ticketHolder"]["lastName"]) == ("Hugo", "Lima")
    tid = send(system, ANA, ticket, BOB)
    shown = after_feedback()
    assert shown["mobileStatus"] == "PENDING_TRANSFER" and shown["walletOwner"]["email"] == ANA
    assert shown["ticketHolder"]["firstName"] == "Hugo"  # the wallet keeps the holder while pending
    accept(system, BOB, tid, "Bob", "Ross")
    shown = after_feedback()
    assert shown["mobileStatus"] == "TRANSFERRED" and shown["ticketHolder"] is None
    assert shown["walletOwner"]["email"] == BOB and shown["walletOwner"]["firstName"] is None  # not opened (W10)
    w.as_spectator(BOB, "GET", "/spectator/tickets")
    shown = after_feedback()
    assert shown["mobileStatus"] == "DOWNLOADED" and shown["walletOwner"]["firstName"] == "Bob"
    detail = w.detail(ticket["number"])
    assert shown["walletOwner"] == detail["walletOwner"]


# --- F3, F4 -------------------------------------------------------------------------------------


def test_f3_existing_recipient_contact_shown_while_pending_and_never_modified(system: System,
                                                                              bo: TestClient) -> None:
    ana = system.contact(ANA)
    bob = system.contact("  Bob@Example.COM ", "Robert", "Existing", title="Mr", phone="+33 1 23 45 67 89",
                         nationality="FR", country="FR", language="fr", has_internet_account=False)
    ticket = new_ticket(system, ana)
    injection, feedback = functions(system)
    run_ok(system, injection)
    [before] = system.contacts_of(BOB)
    tid = send(system, ANA, ticket, BOB)

    execution = api_execution(bo, run_ok(system, feedback))

    assert execution["counters"]["contactsCreated"] == 0
    [line] = api_history(bo, ticket)
    assert (line["action"], line["status"], line["contactMatch"]) == ("DISTRIBUTE", "PENDING", "EXISTING")
    assert line["transferId"] == tid and line["recipientEmail"] == BOB and line["resolvedAt"] is None
    assert line["oldContact"]["id"] == ana
    assert line["newContact"] == api(bo, f"/api/contacts/{bob}")  # every detail, at once
    assert (line["newContact"]["firstName"], line["newContact"]["title"]) == ("Robert", "Mr")
    shown = api_ticket(bo, ticket)
    assert shown["culturalContact"]["id"] == ana and shown["owner"]["id"] == ana
    assert shown["mobileStatus"] == "PENDING_TRANSFER"
    assert system.contacts_of(BOB) == [before]

    accept(system, BOB, tid, "Bob", "Ross", nationality="BR", residenceCountry="BR", language="pt",
           dateOfBirth="1990-04-01", idCardNumber="ID-1")
    execution = api_execution(bo, run_ok(system, feedback))

    assert execution["counters"]["contactsCompleted"] == 0 and execution["counters"]["contactsCreated"] == 0
    [line] = api_history(bo, ticket)
    assert (line["status"], line["contactMatch"], line["newContact"]["id"]) == ("CONFIRMED", "EXISTING", bob)
    assert line["resolvedAt"] is not None
    shown = api_ticket(bo, ticket)
    assert shown["culturalContact"]["id"] == bob and shown["owner"]["id"] == bob
    assert shown["mobileStatus"] == "TRANSFERRED"
    assert system.contacts_of(BOB) == [before]  # never modified, even by a different wallet profile


def test_f3_f4_temporary_contact_while_pending_completed_on_acceptance(system: System, bo: TestClient) -> None:
    ana = system.contact(ANA)
    ticket = new_ticket(system, ana)
    injection, feedback = functions(system)
    run_ok(system, injection)
    tid = send(system, ANA, ticket, BOB)

    execution = api_execution(bo, run_ok(system, feedback))

    assert execution["counters"]["contactsCreated"] == 1
    [temporary] = api_contacts(bo, BOB)
    assert (temporary["firstName"], temporary["lastName"], temporary["email"]) == ("Pending", "CREATION", BOB)
    assert temporary["isTemporary"] is True and temporary["hasInternetAccount"] is False
    [line] = api_history(bo, ticket)
    assert (line["status"], line["contactMatch"]) == ("PENDING", "CREATED_TEMPORARY")
    assert line["newContact"] == temporary and line["oldContact"]["id"] == ana
    shown = api_ticket(bo, ticket)
    assert (shown["culturalContact"]["id"], shown["owner"]["id"], shown["mobileStatus"]) == (
        ana, ana, "PENDING_TRANSFER")

    accept(system, BOB, tid, "Bob", "Ross", title="Mr", dateOfBirth="1990-04-01", nationality="BRA",
           idCardNumber="ID-778", phoneNumber="+55 11 5555-0000", residenceCountry="BR", language="pt",
           organizerSpectatorPreference={"allowPromoEmail": True, "allowThirdPartyEmail": False})
    execution = api_execution(bo, run_ok(system, feedback))

    counters = execution["counters"]
    # W10: accepted but not yet opened, Bob is an e-mail only on the TRANSFERRED record: still temporary
    assert (counters["contactsCompleted"], counters["contactsCreated"], counters["linesUpdated"]) == (0, 0, 1)
    assert [c["isTemporary"] for c in api_contacts(bo, BOB)] == [True]
    system.wallet.as_spectator(BOB, "GET", "/spectator/tickets")  # he opens it: the DOWNLOADED record has it
    execution = api_execution(bo, run_ok(system, feedback))
    assert (execution["counters"]["contactsCompleted"], execution["counters"]["linesUpdated"]) == (1, 1)
    [completed] = api_contacts(bo, BOB)
    assert completed["id"] == temporary["id"]  # the same contact, completed (C3)
    expected = {"title": "Mr", "firstName": "Bob", "lastName": "Ross", "birthDate": "1990-04-01",
                "nationality": "BRA", "idNumber": "ID-778", "mobilePhone": "+55 11 5555-0000", "country": "BR",
                "language": "pt", "allowPromoEmail": True, "allowThirdPartyEmail": False, "email": BOB,
                "hasInternetAccount": True, "isTemporary": False, "kind": "INDIVIDUAL"}
    assert {key: completed[key] for key in expected} == expected
    [line] = api_history(bo, ticket)
    # completed from the wallet owner of a later record (the DOWNLOADED one), not on the line's TRANSFERRED
    # record: the line that handed him the ticket shows it as completed all the same
    assert (line["status"], line["contactMatch"], line["newContact"]) == ("CONFIRMED", "COMPLETED", completed)
    assert line["resolvedAt"] is not None
    shown = api_ticket(bo, ticket)
    assert shown["culturalContact"] == completed and shown["owner"] == completed
    assert shown["mobileStatus"] == "DOWNLOADED"


def test_f4_transfer_first_seen_confirmed_creates_the_contact_then(system: System, bo: TestClient) -> None:
    """An organizer transfer (W7) is TRANSFERRED at once: no PENDING stage to make the contact from."""
    ana = system.contact(ANA)
    to_profile, to_unknown = new_ticket(system, ana), new_ticket(system, ana)
    injection, feedback = functions(system)
    run_ok(system, injection)
    w = system.wallet
    w.profile(BOB, "Bob", "Ross", language="en")  # bob has a complete wallet profile, no contact
    for ticket, recipient in ((to_profile, BOB), (to_unknown, "dora@example.com")):
        response = w.client.post(f"/organizer/tickets/{ticket['number']}/transfer", auth=w.auth,
                                 json={"recipientEmail": recipient, "reason": "seat change"})
        assert response.status_code == 200, response.text

    execution = api_execution(bo, run_ok(system, feedback))

    assert execution["counters"]["contactsCreated"] == 2 and execution["counters"]["linesCreated"] == 2
    # W10: Bob has shared nothing with this organizer yet (an organizer transfer not yet opened): a
    # temporary contact holds the ticket, completed once he opens it
    [line] = api_history(bo, to_profile)
    assert (line["action"], line["status"], line["contactMatch"]) == ("DISTRIBUTE", "CONFIRMED", "CREATED_TEMPORARY")
    assert line["newContact"]["isTemporary"] is True and line["resolvedAt"] == line["initiatedAt"]
    w.as_spectator(BOB, "GET", "/spectator/tickets")
    assert api_execution(bo, run_ok(system, feedback))["counters"]["contactsCompleted"] == 1
    [bob] = api_contacts(bo, BOB)
    assert (bob["firstName"], bob["lastName"], bob["language"]) == ("Bob", "Ross", "en")
    assert bob["isTemporary"] is False and bob["hasInternetAccount"] is True
    assert api_history(bo, to_profile)[0]["newContact"] == bob
    assert api_ticket(bo, to_profile)["culturalContact"] == bob == api_ticket(bo, to_profile)["owner"]
    # no profile to complete it from (docs/decisions.md): a temporary contact, holding the ticket
    [dora] = api_contacts(bo, "dora@example.com")
    assert dora["isTemporary"] is True
    [line] = api_history(bo, to_unknown)
    assert (line["status"], line["contactMatch"], line["newContact"]) == ("CONFIRMED", "CREATED_TEMPORARY", dora)
    assert api_ticket(bo, to_unknown)["culturalContact"] == dora

# --- F5 -----------------------------------------------------------------------------------------


def _pending_to_bob(system: System, bo: TestClient) -> tuple[int, dict[str, Any], int, str]:
    ana = system.contact(ANA)
    ticket = new_ticket(system, ana)
    injection, feedback = functions(system)
    run_ok(system, injection)
    tid = send(system, ANA, ticket, BOB)
    run_ok(system, feedback)
    assert [c["isTemporary"] for c in api_contacts(bo, BOB)] == [True]
    return ana, ticket, feedback, tid


def _assert_cancelled(system: System, bo: TestClient, execution: dict[str, Any], ana: int, ticket: dict[str, Any],
                      reason: str, mobile_status: str, ana_before: list[dict[str, Any]]) -> dict[str, Any]:
    assert execution["counters"]["contactsRemoved"] == 1 and execution["counters"]["linesUpdated"] == 1
    [line] = api_history(bo, ticket)
    assert (line["status"], line["reason"], line["recipientEmail"]) == ("CANCELLED", reason, BOB)
    assert line["newContact"] is None and line["oldContact"]["id"] == ana and line["resolvedAt"] is not None
    assert api_contacts(bo, BOB) == [] and system.contacts_of(BOB) == []
    shown = api_ticket(bo, ticket)
    assert (shown["culturalContact"]["id"], shown["owner"]["id"], shown["mobileStatus"]) == (ana, ana, mobile_status)
    assert system.contacts_of(ANA) == ana_before
    return line  # type: ignore[no-any-return]


def test_f5_timeout_after_one_hour_cancels_line_and_removes_temporary_contact(system: System,
                                                                              bo: TestClient) -> None:
    ana, ticket, feedback, tid = _pending_to_bob(system, bo)
    ana_before = system.contacts_of(ANA)
    system.wallet.advance(3599)
    run_ok(system, feedback)
    assert [line["status"] for line in api_history(bo, ticket)] == ["PENDING"]  # not yet: 1 s left

    system.wallet.advance(2)  # 3601 s after the transfer
    execution = api_execution(bo, run_ok(system, feedback))

    line = _assert_cancelled(system, bo, execution, ana, ticket, "TIMEOUT", "FAILURE", ana_before)
    [failure] = [r for r in system.wallet.detail(ticket["number"])["statusLog"] if r["status"] == "FAILURE"]
    assert line["resolvedAt"] == failure["occurredAt"] == failure["transfer"]["expiresAt"]
    assert failure["transfer"]["transferId"] == tid


@pytest.mark.parametrize(("actor", "action", "reason"), [
    pytest.param(BOB, "reject", "REJECTED", id="rejected"),
    pytest.param(ANA, "cancel", "CANCELLED_BY_SENDER", id="cancelled"),
])
def test_f5_rejected_or_cancelled_transfer_cancels_line_and_removes_temporary_contact(
        system: System, bo: TestClient, actor: str, action: str, reason: str) -> None:
    ana, ticket, feedback, tid = _pending_to_bob(system, bo)
    ana_before = system.contacts_of(ANA)
    act(system, actor, tid, action)

    execution = api_execution(bo, run_ok(system, feedback))

    _assert_cancelled(system, bo, execution, ana, ticket, reason, "FAILURE_TRANSFER", ana_before)


def test_f5_transfer_created_and_expired_between_two_runs_leaves_no_contact(system: System, bo: TestClient) -> None:
    ana = system.contact(ANA)
    ticket = new_ticket(system, ana)
    injection, feedback = functions(system)
    run_ok(system, injection)
    run_ok(system, feedback)
    send(system, ANA, ticket, BOB)
    system.wallet.advance(3601)

    run_ok(system, feedback)

    [line] = api_history(bo, ticket)
    assert (line["status"], line["reason"], line["recipientEmail"], line["newContact"]) == (
        "CANCELLED", "TIMEOUT", BOB, None)
    assert system.contacts_of(BOB) == []
    shown = api_ticket(bo, ticket)
    assert (shown["culturalContact"]["id"], shown["owner"]["id"], shown["mobileStatus"]) == (ana, ana, "FAILURE")


# --- F6 -----------------------------------------------------------------------------------------

F6_PEOPLE = {ANA: ("Ana", "Lima"), "carl@example.com": ("Carl", "Known")}


def test_f6_end_state_independent_of_run_timing_and_batch_size(system: System,
                                                              spare_backoffice: Callable[[], Engine]) -> None:
    owned = {f"F6-{i}": ANA for i in range(1, 6)}
    populate(system.engine, F6_PEOPLE, owned)
    t1, t2, t3, t4, t5 = ({"number": n} for n in owned)
    injection, feedback = functions(system)
    run_ok(system, injection)
    w = system.wallet

    def step(action: Callable[[], Any]) -> Any:
        """A wallet action, then a feedback run (the "after every action" timing)."""
        result = action()
        w.advance(60)
        run_ok(system, feedback)
        return result

    step(lambda: w.as_spectator(ANA, "GET", "/spectator/tickets"))
    step(lambda: send(system, ANA, t4, "zoe@example.com"))
    step(lambda: w.advance(3600))  # t4's transfer times out
    tid = step(lambda: send(system, ANA, t1, BOB))
    step(lambda: accept(system, BOB, tid, "Bob", "Ross", nationality="BR"))
    tid = step(lambda: send(system, BOB, t1, "eve@example.com"))
    step(lambda: accept(system, "eve@example.com", tid, "Eve", "Adams"))
    step(lambda: send(system, "eve@example.com", t1, BOB))  # back to bob: TAKE_BACK
    tid = step(lambda: send(system, ANA, t2, "carl@example.com"))
    step(lambda: accept(system, "carl@example.com", tid, "Carlos", "Other"))
    tid = step(lambda: send(system, ANA, t3, "zoe@example.com"))
    step(lambda: act(system, "zoe@example.com", tid, "reject"))
    step(lambda: send(system, ANA, t3, "Zoe@Example.com"))
    step(lambda: send(system, ANA, t4, "zoe@example.com"))
    step(lambda: w.as_spectator(ANA, "POST", f"/spectator/tickets/{t5['number']}/holder",
                                json={"firstName": "Hugo", "lastName": "Lima"}))
    tid = step(lambda: send(system, ANA, t5, "finn@example.com"))
    step(lambda: act(system, ANA, tid, "cancel"))

    after_every_action = canonical(system.engine)
    # the scenario did what it meant to: a sanity check of the reference state
    assert [(line[0], line[1], line[2], line[4]) for line in after_every_action["lines"]["F6-1"]] == [
        ("DISTRIBUTE", ANA, BOB, "CONFIRMED"), ("DISTRIBUTE", BOB, "eve@example.com", "CONFIRMED"),
        ("TAKE_BACK", "eve@example.com", BOB, "CONFIRMED")]
    emails = [c[0] for c in after_every_action["contacts"]]
    assert sorted(emails) == sorted([ANA, BOB, "carl@example.com", "eve@example.com", "zoe@example.com"])
    assert after_every_action["tickets"]["F6-3"][0] == after_every_action["tickets"]["F6-4"][0] == "PENDING_TRANSFER"
    assert [line[4] for line in after_every_action["lines"]["F6-4"]] == ["CANCELLED", "PENDING"]

    for batch_size in (1000, 1, 2, 3):  # once at the end, in pages of every size
        assert replay_into(spare_backoffice(), system, F6_PEOPLE, owned, batch_size) == after_every_action, batch_size


def test_f6_stale_and_repeated_records_are_ignored(system: System, bo: TestClient) -> None:
    """The whole feed applied again on top of its own result (key and last recordId forgotten) changes
    nothing: lines only move forward, a known transfer makes no second line nor contact."""
    ana = system.contact(ANA)
    chain, failed, pending = (new_ticket(system, ana) for _ in range(3))
    injection, feedback = functions(system)
    run_ok(system, injection)
    accept(system, BOB, send(system, ANA, chain, BOB), "Bob", "Ross")
    accept(system, "carl@example.com", send(system, BOB, chain, "carl@example.com"), "Carl", "Sagan")
    send(system, "carl@example.com", chain, BOB)
    act(system, "zoe@example.com", send(system, ANA, failed, "zoe@example.com"), "reject")
    send(system, ANA, pending, "yan@example.com")
    run_ok(system, feedback)
    before = canonical(system.engine)
    with unit_of_work(system.engine) as conn:
        conn.execute(text("UPDATE schedules SET pagination_key = NULL, last_record_id = NULL"))

    execution = api_execution(bo, run_ok(system, feedback))

    assert execution["counters"]["recordsRead"] == len(system.wallet.all_records())
    counters = execution["counters"]
    assert [counters[name] for name in ("contactsCreated", "contactsCompleted", "contactsRemoved", "linesCreated",
                                        "linesUpdated")] == [0, 0, 0, 0, 0]
    assert canonical(system.engine) == before


# --- F7, F8 -------------------------------------------------------------------------------------


def test_f7_chains_and_returns_one_line_per_transfer_in_wallet_order(system: System, bo: TestClient) -> None:
    ana = system.contact(ANA)
    chain, back_home = new_ticket(system, ana), new_ticket(system, ana)
    injection, feedback = functions(system)
    run_ok(system, injection)
    ana_before = system.contacts_of(ANA)
    w = system.wallet
    transfer_ids = []
    for sender, recipient, names in ((ANA, BOB, ("Bob", "Ross")), (BOB, "carl@example.com", ("Carl", "Sagan"))):
        transfer_ids.append(send(system, sender, chain, recipient))
        w.advance(60)
        accept(system, recipient, transfer_ids[-1], *names)
        w.advance(60)
    transfer_ids.append(send(system, "carl@example.com", chain, BOB))  # C → B: BACKWARD, at once
    w.advance(60)
    tid = send(system, ANA, back_home, BOB)
    accept(system, BOB, tid, "Bob", "Ross")
    w.advance(60)
    back = send(system, BOB, back_home, ANA)

    execution = api_execution(bo, run_ok(system, feedback))

    assert execution["counters"]["contactsCreated"] == 2  # bob and carl; never ana again
    bob = api_contacts(bo, BOB)[0]["id"]
    carl = api_contacts(bo, "carl@example.com")[0]["id"]
    lines = api_history(bo, chain)
    assert [line["transferId"] for line in lines] == transfer_ids
    assert [line["action"] for line in lines] == ["DISTRIBUTE", "DISTRIBUTE", "TAKE_BACK"]
    assert [line["status"] for line in lines] == ["CONFIRMED"] * 3
    assert [line["newContact"]["id"] for line in lines] == [bob, carl, bob]
    assert lines[0]["oldContact"]["id"] == ana
    for previous, line in itertools.pairwise(lines):
        assert line["oldContact"]["id"] == previous["newContact"]["id"]
    assert lines[2]["contactMatch"] == "EXISTING"
    shown = api_ticket(bo, chain)
    assert (shown["culturalContact"]["id"], shown["owner"]["id"]) == (bob, bob)

    lines = api_history(bo, back_home)
    assert [(line["action"], line["oldContact"]["id"], line["newContact"]["id"]) for line in lines] == [
        ("DISTRIBUTE", ana, bob), ("TAKE_BACK", bob, ana)]
    assert lines[1]["transferId"] == back and lines[1]["contactMatch"] == "EXISTING"
    shown = api_ticket(bo, back_home)
    assert (shown["culturalContact"]["id"], shown["owner"]["id"]) == (ana, ana)
    assert system.contacts_of(ANA) == ana_before


def test_f8_unknown_tickets_and_skip_list_are_skipped_and_logged(system: System, bo: TestClient) -> None:
    ana = system.contact(ANA)
    known, skipped = new_ticket(system, ana), new_ticket(system, ana)
    interface = system.interface()
    injection = system.schedule(interface, INJECTION)
    feedback = system.schedule(interface, FEEDBACK, skip_ticket_numbers=[skipped["number"]])
    run_ok(system, injection)
    w = system.wallet
    w.inject(ticket_payload("WALLET-ONLY-1", "zed@example.com"))  # a ticket the back office never made
    tid = send(system, "zed@example.com", {"number": "WALLET-ONLY-1"}, "yan@example.com")
    accept(system, "yan@example.com", tid, "Yan", "Li")
    send(system, ANA, skipped, BOB)
    send(system, ANA, known, "carl@example.com")
    by_ticket: dict[str, int] = {}
    for record in w.all_records():
        by_ticket[record["ticketId"]] = by_ticket.get(record["ticketId"], 0) + 1

    execution = api_execution(bo, run_ok(system, feedback))

    assert execution["counters"]["skipped"] == by_ticket["WALLET-ONLY-1"] + by_ticket[skipped["number"]] == 5
    logged = {(line["ticketNumber"], line["message"].split(": ", 1)[1]) for line in log_of(execution)
              if " skipped: " in line["message"]}  # the others say what was done (O3)
    assert ("WALLET-ONLY-1", "ticket unknown to the back office") in logged
    assert (skipped["number"], "ticket in the skip list") in logged
    for email in ("zed@example.com", "yan@example.com", BOB):
        assert system.contacts_of(email) == []
    assert api_history(bo, skipped) == []
    assert api_ticket(bo, skipped)["mobileStatus"] is None
    [line] = api_history(bo, known)  # the other records still apply
    assert (line["status"], line["recipientEmail"]) == ("PENDING", "carl@example.com")
    assert api_ticket(bo, known)["mobileStatus"] == "PENDING_TRANSFER"


# --- C1, C2 -------------------------------------------------------------------------------------


def _contact_at(system: System, when: datetime, email: str, **extra: Any) -> int:
    kind = extra.pop("kind", "INDIVIDUAL")
    with unit_of_work(system.engine) as conn:
        return int(create_contact(conn, NewContact(kind, extra.pop("last", "Same"), extra.pop("first", "Ann"),
                                                   email=email, **extra), when).id)


def test_c1_tie_breaks_choose_the_lines_new_contact(system: System, bo: TestClient) -> None:
    jan, feb, mar = (datetime(2026, month, 1, tzinfo=UTC) for month in (1, 2, 3))
    ana = system.contact(ANA)
    # not temporary beats temporary (even an older temporary one)
    with unit_of_work(system.engine) as conn:
        values = temporary_contact_fields("temp@example.com")
        temporary = conn.execute(insert(contacts).values(
            {**values, "kind": values["kind"].value, "email_key": "temp@example.com", "created_at": jan,
             "updated_at": jan}).returning(contacts.c.id)).scalar_one()
    normal = _contact_at(system, feb, "temp@example.com")
    # an internet account beats none (even older)
    _contact_at(system, jan, "net@example.com")
    online = _contact_at(system, feb, "net@example.com", has_internet_account=True)
    # INDIVIDUAL beats RELAY (even older)
    _contact_at(system, jan, "kind@example.com", kind="RELAY", has_internet_account=True)
    person = _contact_at(system, feb, "kind@example.com", has_internet_account=True)
    # a STRUCTURE never matches
    structure = _contact_at(system, jan, "corp@example.com", kind="STRUCTURE", last="Corp", first=None,
                            has_internet_account=True)
    # then the oldest: created earlier, though inserted later (a higher id)
    _contact_at(system, mar, "old@example.com")
    oldest = _contact_at(system, jan, "old@example.com")
    # matching trims and case-folds
    typed = _contact_at(system, feb, "  Case@Example.COM ")
    expected = {"temp@example.com": normal, "net@example.com": online, "kind@example.com": person,
                "old@example.com": oldest, "case@example.com": typed}
    emails = [*expected, "corp@example.com"]
    sold = {email: new_ticket(system, ana) for email in emails}
    injection, feedback = functions(system)
    run_ok(system, injection)
    for email, ticket in sold.items():
        send(system, ANA, ticket, email.upper())
    before = {email: system.contacts_of(email) for email in emails}

    execution = api_execution(bo, run_ok(system, feedback))

    assert execution["counters"]["contactsCreated"] == 1  # for the STRUCTURE's e-mail only
    for email, contact_id in expected.items():
        [line] = api_history(bo, sold[email])
        assert (line["newContact"]["id"], line["contactMatch"]) == (contact_id, "EXISTING"), email
        assert system.contacts_of(email) == before[email], email
    assert system.contacts_of("temp@example.com")[0]["id"] == temporary
    [line] = api_history(bo, sold["corp@example.com"])
    assert line["contactMatch"] == "CREATED_TEMPORARY" and line["newContact"]["id"] != structure
    assert line["newContact"]["isTemporary"] is True and line["newContact"]["kind"] == "INDIVIDUAL"
    assert [c["id"] for c in system.contacts_of("corp@example.com")] == [structure, line["newContact"]["id"]]


@pytest.mark.parametrize("batch_size", [pytest.param(1000, id="one-page"), pytest.param(1, id="page-per-record")])
def test_c2_one_contact_per_email_whatever_the_pages_and_runs(system: System, bo: TestClient,
                                                              batch_size: int) -> None:
    same = "same@example.com"
    ana = system.contact(ANA)
    first, second, third = (new_ticket(system, ana) for _ in range(3))
    injection, feedback = functions(system, batch_size=batch_size)
    run_ok(system, injection)
    rejected = send(system, ANA, first, same)
    send(system, ANA, second, "  SAME@example.com")

    run_ok(system, feedback)  # two pending transfers to the same unknown e-mail, in one page or two
    send(system, ANA, third, same)
    run_ok(system, feedback)  # and a third one in the next run

    [contact] = api_contacts(bo, same)
    assert contact["isTemporary"] is True
    lines = [api_history(bo, ticket)[0] for ticket in (first, second, third)]
    assert [line["newContact"]["id"] for line in lines] == [contact["id"]] * 3
    assert [line["contactMatch"] for line in lines] == ["CREATED_TEMPORARY", "EXISTING", "EXISTING"]

    act(system, same, rejected, "reject")  # F5: still held by the two other lines, so kept
    execution = api_execution(bo, run_ok(system, feedback))
    assert execution["counters"]["contactsRemoved"] == 0
    assert [c["id"] for c in api_contacts(bo, same)] == [contact["id"]]
    assert [line["status"] for line in api_history(bo, first)] == ["CANCELLED"]
    assert count(system.engine, contacts) == 2  # ana and the one contact of same@


def test_c2_a_page_that_loses_an_email_claim_is_rolled_back_and_applied_again(system: System, bo: TestClient) -> None:
    """``ContactClaimLost`` is a guard: every writer of ``contact_emails`` takes ``lock_contact_writes``
    (PostgreSQL) or is the one SQLite writer, so no claim can change between a page's load and its write.
    Forced here: just before the page claims Bob's e-mail, a writer that skips the lock creates a contact
    for it and claims it (PostgreSQL: another connection, committed; SQLite, whose BEGIN IMMEDIATE shuts
    other writers out: inside the page's own transaction). The page loses its claim, is rolled back and
    is applied again, matching the winner's contact (PostgreSQL) or, the winner gone with the rollback,
    creating its own (SQLite)."""
    ana = system.contact(ANA)
    ticket = new_ticket(system, ana)
    injection, feedback = functions(system)
    run_ok(system, injection)
    send(system, ANA, ticket, BOB)
    postgres = system.engine.dialect.name == "postgresql"
    intruders: list[int] = []

    def intrude(conn: Any) -> None:
        values = temporary_contact_fields(BOB)
        intruders.append(conn.execute(insert(contacts).values(
            {**values, "kind": values["kind"].value, "email_key": BOB, "created_at": START,
             "updated_at": START}).returning(contacts.c.id)).scalar_one())
        conn.execute(insert(contact_emails).values(email_key=BOB, contact_id=intruders[0], created_at=START))

    def before_the_claim(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if intruders or not statement.lstrip().upper().startswith("INSERT INTO CONTACT_EMAILS"):
            return
        if postgres:
            with system.engine.begin() as other:
                intrude(other)
        else:
            intrude(conn)

    event.listen(system.engine, "before_cursor_execute", before_the_claim)
    try:
        execution = api_execution(bo, run_ok(system, feedback))
    finally:
        event.remove(system.engine, "before_cursor_execute", before_the_claim)

    assert len(intruders) == 1  # the claim was taken from under the page once
    [line] = api_history(bo, ticket)
    [bob] = system.contacts_of(BOB)  # C2 holds: one contact for the e-mail
    assert line["newContact"]["id"] == bob["id"] and line["status"] == "PENDING"
    # counted once, as by a page that never lost its claim
    created = 0 if postgres else 1  # PostgreSQL: the winner's contact is matched; SQLite: it was rolled back too
    assert (execution["counters"]["recordsRead"], execution["counters"]["linesCreated"],
            execution["counters"]["contactsCreated"]) == (2, 1, created)  # the injected and the pending record
    if postgres:
        assert (bob["id"], line["contactMatch"]) == (intruders[0], "EXISTING")
    else:
        assert line["contactMatch"] == "CREATED_TEMPORARY"
    with unit_of_work(system.engine, write=False) as conn:
        assert dict(conn.execute(select(contact_emails.c.email_key, contact_emails.c.contact_id)).all()) == {
            BOB: bob["id"]}


# --- I2's prerequisite --------------------------------------------------------------------------


@pytest.mark.parametrize(("overlay", "status"), [
    pytest.param("", "WARNING", id="overlay-absent"),
    pytest.param("overlaySpectatorDetailsWithLastOwner=false", "WARNING", id="overlay-false"),
])  # with =true (FEATURE) every other test of this file ends OK with no warning
def test_i2_feedback_warns_when_feature_active_without_overlay(system: System, bo: TestClient, overlay: str,
                                                               status: str) -> None:
    parameters = f"TIXNGO_LIFECYCLE_MODE=lifecycle\nenableTicketDistributionToCulturalContact=true\n{overlay}"
    ana = system.contact(ANA)
    ticket = new_ticket(system, ana)
    interface = system.interface(parameters)
    run_ok(system, system.schedule(interface, INJECTION), status)  # I2: the injection warns too
    feedback = system.schedule(interface, FEEDBACK)
    send(system, ANA, ticket, BOB)

    execution = api_execution(bo, run_ok(system, feedback, status))

    warnings = [line["message"] for line in log_of(execution, "WARNING")]
    assert len(warnings) == 1 and "overlaySpectatorDetailsWithLastOwner" in warnings[0], warnings
    assert [line["status"] for line in api_history(bo, ticket)] == ["PENDING"]  # the feature still works
    shown = api(bo, f"/api/interfaces/{interface}")
    assert any("overlaySpectatorDetailsWithLastOwner" in warning for warning in shown["warnings"]), shown


def test_c3_control_and_bidi_characters_of_a_wallet_profile_never_reach_the_contact(system: System,
                                                                                    bo: TestClient) -> None:
    """Our wallet refuses such text (W13), so the feed is rewritten on its way as another wallet could send
    it: the profile fields carry bidi and control characters, and the contact gets none of them."""
    ticket = new_ticket(system, system.contact(ANA))
    injection, feedback = functions(system)
    run_ok(system, injection)
    tid = send(system, ANA, ticket, BOB)
    accept(system, BOB, tid, "Bob", "Ross", title="Mr", idCardNumber="ID-778")
    system.wallet.as_spectator(BOB, "GET", "/spectator/tickets")  # he opens it: his profile is shared (W10)
    hostile = {"firstName": "Bo\u202eb", "lastName": "\u2066Ross\u2069", "title": "M\u200fr",
               "idCardNumber": "ID\u202d-778"}

    def rewrite(record: dict[str, Any]) -> None:
        transfer = record.get("transfer") or {}
        for profile in (record.get("walletOwner"), transfer.get("recipient"), transfer.get("sender")):
            if profile and profile.get("email") == BOB:
                profile.update(hostile)

    run_via(system, feedback, Rewriting(rewrite), "OK")
    [contact] = api_contacts(bo, BOB)
    assert (contact["title"], contact["firstName"], contact["lastName"], contact["idNumber"]) == (
        "Mr", "Bob", "Ross", "ID-778")
