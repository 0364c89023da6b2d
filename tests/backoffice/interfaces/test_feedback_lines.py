"""Where a distribution line comes from (F3, F9, F10, F12, W7 from the back office), end to end.

A real wallet over HTTP, the feedback reading it, and the results read through the back office's JSON
API, on SQLite and PostgreSQL (the style of test_feedback_rules.py, whose helpers these share).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from tests.support.feedback import (
    ANA,
    BOB,
    FEEDBACK,
    INJECTION,
    accept,
    act,
    api_contacts,
    api_history,
    api_ticket,
    backoffice_client,
    new_ticket,
    run_ok,
    send,
)
from tests.support.screens import post_form, sign_in
from tests.support.system import FEATURE, System
from tests.support.wallet import START
from tixtrace.backoffice.app import create_backoffice_app
from tixtrace.backoffice.db.tables import interfaces
from tixtrace.kernel.clock import SystemClock
from tixtrace.kernel.db import unit_of_work

CAI = "cai@example.com"
OFF = "TIXNGO_LIFECYCLE_MODE=lifecycle\nenableTicketDistributionToCulturalContact=false\n" \
      "overlaySpectatorDetailsWithLastOwner=true"


@pytest.fixture
def bo(system: System, operator_hash: str) -> Iterator[TestClient]:
    yield from backoffice_client(system, operator_hash)


def setup(system: System, parameters: str = FEATURE) -> tuple[int, int, int]:
    """An interface with an injection and a feedback schedule: (interface, injection, feedback)."""
    interface = system.interface(parameters)
    return interface, system.schedule(interface, INJECTION), system.schedule(interface, FEEDBACK)


def switch(system: System, interface: int, parameters: str) -> None:
    """The operator edits the interface's custom parameters (the feedback reads them at each run)."""
    with unit_of_work(system.engine) as conn:
        conn.execute(update(interfaces).where(interfaces.c.id == interface).values(custom_parameters=parameters))


def organizer_transfer(bo: TestClient, ticket: dict[str, Any], recipient: str, reason: str = "seat change") -> Any:
    return bo.post(f"/api/tickets/{ticket['id']}/transfer", json={"recipientEmail": recipient, "reason": reason})


# --- F9 -----------------------------------------------------------------------------------------------


def test_f9_switching_the_feature_off_still_ends_a_pending_line(system: System, bo: TestClient) -> None:
    ana = system.contact(ANA)
    accepted, rejected, started_off = new_ticket(system, ana), new_ticket(system, ana), new_ticket(system, ana)
    interface, injection, feedback = setup(system)
    run_ok(system, injection)
    to_bob = send(system, ANA, accepted, BOB)
    to_cai = send(system, ANA, rejected, CAI)
    run_ok(system, feedback)
    assert [line["status"] for line in api_history(bo, accepted) + api_history(bo, rejected)] == ["PENDING"] * 2
    assert [c["isTemporary"] for c in api_contacts(bo, BOB) + api_contacts(bo, CAI)] == [True, True]

    switch(system, interface, OFF)
    accept(system, BOB, to_bob, "Bob", "Ross")
    system.wallet.as_spectator(BOB, "GET", "/spectator/tickets")  # he opens it: his profile is shared (W10)
    act(system, CAI, to_cai, "reject")
    send(system, ANA, started_off, "dan@example.com")
    run_ok(system, feedback)

    [confirmed] = api_history(bo, accepted)
    # completed from the DOWNLOADED record's wallet owner (W10), not on the line's TRANSFERRED record:
    # the line that handed him the ticket shows it all the same
    assert confirmed["status"] == "CONFIRMED" and confirmed["contactMatch"] == "COMPLETED"
    [bob] = api_contacts(bo, BOB)
    assert not bob["isTemporary"] and bob["lastName"] == "Ross"
    assert api_ticket(bo, accepted)["culturalContact"]["id"] == bob["id"]
    [cancelled] = api_history(bo, rejected)
    assert cancelled["status"] == "CANCELLED" and cancelled["reason"] == "REJECTED"
    assert cancelled["newContact"] is None and api_contacts(bo, CAI) == [], "no contact will be created"
    assert api_history(bo, started_off) == [] and api_contacts(bo, "dan@example.com") == [], "off starts nothing"

    switch(system, interface, FEATURE)  # on again: what was read while off is not replayed
    run_ok(system, feedback)
    assert api_history(bo, started_off) == [] and api_contacts(bo, "dan@example.com") == []


# --- F3 -----------------------------------------------------------------------------------------------


def test_f3_the_old_contact_is_the_senders_contact_when_the_feature_came_late(system: System,
                                                                               bo: TestClient) -> None:
    """Ana's ticket went to Bob while the feature was off (the back office still says Ana); with the
    feature on, Bob sends it on: the line starts from Bob's contact, not from Ana."""
    ana = system.contact(ANA)
    ticket = new_ticket(system, ana)
    interface, injection, feedback = setup(system, OFF)
    run_ok(system, injection)
    accept(system, BOB, send(system, ANA, ticket, BOB), "Bob", "Ross")
    run_ok(system, feedback)
    bob = system.contact(BOB, "Bob", "Ross")
    assert api_ticket(bo, ticket)["culturalContact"]["id"] == ana

    switch(system, interface, FEATURE)
    send(system, BOB, ticket, CAI)
    run_ok(system, feedback)
    [line] = api_history(bo, ticket)
    assert line["oldContact"]["id"] == bob and line["senderEmail"] == BOB
    assert line["initiatedBy"] == "SPECTATOR" and line["expiresAt"] is not None and line["status"] == "PENDING"


# --- F10 and W7 from the back office ------------------------------------------------------------------


def test_f10_an_organizer_transfer_from_the_back_office_comes_back_as_an_organizer_line(
        system: System, bo: TestClient) -> None:
    ana = system.contact(ANA)
    bob = system.contact(BOB, "Bob", "Ross")
    ticket, other = new_ticket(system, ana), new_ticket(system, ana)
    _, injection, feedback = setup(system)
    run_ok(system, injection)
    send(system, ANA, other, CAI)

    response = organizer_transfer(bo, ticket, BOB, "  seat change  ")
    assert response.status_code == 201, response.text
    answer = response.json()
    assert answer["status"] == "ACCEPTED" and answer["reason"] == "seat change" and answer["transferId"]
    assert api_history(bo, ticket) == [], "the line comes with the feedback"
    [audited] = bo.get("/api/audit", params={"objectType": "ticket", "objectId": ticket["id"]}).json()["items"]
    assert audited["action"] == "TRANSFER" and audited["actor"] == "operator"
    assert audited["changes"] == {"recipientEmail": [None, BOB], "reason": [None, "seat change"],
                                  "transferId": [None, answer["transferId"]]}
    run_ok(system, feedback)

    [line] = api_history(bo, ticket)
    assert (line["initiatedBy"], line["reason"], line["status"]) == ("ORGANIZER", "seat change", "CONFIRMED")
    assert line["transferId"] == answer["transferId"] and line["senderEmail"] == ANA
    assert line["oldContact"]["id"] == ana and line["newContact"]["id"] == bob and line["expiresAt"] is None
    assert api_ticket(bo, ticket)["culturalContact"]["id"] == bob
    [pending] = api_history(bo, other)
    assert pending["initiatedBy"] == "SPECTATOR" and pending["reason"] is None
    assert datetime.fromisoformat(pending["expiresAt"]) == START + timedelta(hours=1)  # the wallet's test clock


def test_f10_wallet_refusals_are_clear_4xx_never_500(system: System, bo: TestClient) -> None:
    ana = system.contact(ANA)
    ticket, pending, never_printed = new_ticket(system, ana), new_ticket(system, ana), new_ticket(system, ana)
    _, injection, _ = setup(system)
    run_ok(system, injection)
    system.wallet.advance(1)
    send(system, ANA, pending, CAI)
    never_printed_id = never_printed["id"]
    bo.post(f"/api/tickets/{never_printed_id}/cancel")

    def refused(target: dict[str, Any], recipient: str, status: int, code: str, reason: str = "seat change") -> None:
        response = organizer_transfer(bo, target, recipient, reason)
        assert response.status_code == status, response.text
        assert response.json()["error"]["code"] == code, response.text

    refused(ticket, ANA, 409, "RECIPIENT_IS_SENDER")
    assert bo.get("/api/audit", params={"objectType": "ticket", "objectId": ticket["id"]}).json()["items"] == []
    refused(pending, BOB, 409, "TRANSFER_ALREADY_PENDING")
    refused(never_printed, BOB, 409, "TICKET_NOT_TRANSFERABLE")
    refused(ticket, "not an e-mail", 422, "INVALID_INPUT")
    refused(ticket, BOB, 422, "INVALID_INPUT", reason="   ")
    assert bo.post("/api/tickets/987654/transfer", json={"recipientEmail": BOB, "reason": "x"}).status_code == 404
    bo.post(f"/api/tickets/{ticket['id']}/control")  # CONTROLLED in the back office: refused before the wallet
    refused(ticket, BOB, 409, "TICKET_NOT_TRANSFERABLE")


def test_f10_an_unreachable_wallet_is_a_503_and_no_interface_a_409(system: System, bo: TestClient) -> None:
    ana = system.contact(ANA)
    ticket = new_ticket(system, ana)
    interface, injection, _ = setup(system)
    run_ok(system, injection)
    with unit_of_work(system.engine) as conn:  # the interface now points nowhere
        conn.execute(update(interfaces).where(interfaces.c.id == interface).values(
            url="http://127.0.0.1:9/organizer/tickets"))
    response = organizer_transfer(bo, ticket, BOB)
    assert response.status_code == 503 and response.json()["error"]["code"] == "WALLET_UNAVAILABLE"
    with unit_of_work(system.engine) as conn:
        conn.execute(update(interfaces).where(interfaces.c.id == interface).values(type="OTHER"))
    response = organizer_transfer(bo, ticket, BOB)
    assert response.status_code == 409 and response.json()["error"]["code"] == "NO_INTERFACE_FOR_TICKET"


# --- F12 ----------------------------------------------------------------------------------------------


def test_f12_a_cancelled_ticket_still_changes_owner_if_accepted_before_push_cancelled(
        system: System, bo: TestClient) -> None:
    ana = system.contact(ANA)
    ticket = new_ticket(system, ana)
    _, injection, feedback = setup(system)
    run_ok(system, injection)
    transfer_id = send(system, ANA, ticket, BOB)
    assert bo.post(f"/api/tickets/{ticket['id']}/cancel").status_code == 200  # push cancelled has not run
    accept(system, BOB, transfer_id, "Bob", "Ross")
    run_ok(system, feedback)

    shown = api_ticket(bo, ticket)
    [bob] = api_contacts(bo, BOB)
    assert shown["status"] == "CANCELLED", "the back office's own status stays"
    assert shown["mobileStatus"] == "TRANSFERRED" and shown["walletOwner"]["email"] == BOB
    assert shown["culturalContact"]["id"] == shown["owner"]["id"] == bob["id"], "the wallet says who holds it"
    [line] = api_history(bo, ticket)
    assert line["status"] == "CONFIRMED"


def test_f10_the_ticket_screen_transfer_form_moves_the_ticket_in_the_wallet(system: System, bo: TestClient) -> None:
    ana = system.contact(ANA)
    ticket = new_ticket(system, ana)
    _, injection, feedback = setup(system)
    run_ok(system, injection)
    with TestClient(create_backoffice_app(system.engine, SystemClock())) as browser:  # the bo fixture's user
        assert sign_in(browser).status_code == 303
        page = f"/tickets/{ticket['id']}"
        response = post_form(browser, page, f"{page}/actions/transfer",
                             {"recipient_email": BOB, "reason": "VIP upgrade", "confirmed": "yes"})
        shown = browser.get(response.headers["location"]).text
        assert 'class="flash flash-success"' in shown and BOB in shown
        run_ok(system, feedback)
        history = browser.get(f"{page}?tab=distribution").text
    assert 'data-initiated-by="ORGANIZER"' in history and "VIP upgrade" in history
    assert 'data-action="TRANSFER" data-actor="operator"' in history
    [line] = api_history(bo, ticket)
    assert (line["initiatedBy"], line["reason"], line["newContact"]["email"]) == ("ORGANIZER", "VIP upgrade", BOB)
