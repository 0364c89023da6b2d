"""Tickets external printing (I1, I2) and the two pushes (cancelled, controlled), end to end over HTTP.

The back office's functions call the real wallet (uvicorn); what the wallet made of each call is read
back through its organizer API (``GET /organizer/tickets/{ticketId}``), the back office's side through
its JSON API and its database.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.support.feedback import (
    ANA,
    BOB,
    FEEDBACK,
    INJECTION,
    accept,
    api,
    api_execution,
    api_history,
    api_ticket,
    backoffice_client,
    log_of,
    new_ticket,
    run_ok,
    send,
)
from tests.support.system import System
from tests.support.wallet import START
from tixtrace.backoffice.db.tables import ticket_actions, tickets
from tixtrace.backoffice.interfaces.runner import run_schedule
from tixtrace.backoffice.services.events import NewEvent, create_event
from tixtrace.backoffice.services.tickets import NewTicket, create_ticket
from tixtrace.kernel.clock import as_utc
from tixtrace.kernel.db import unit_of_work

BASIC = "TIXNGO_LIFECYCLE_MODE=lifecycle"


@pytest.fixture
def bo(system: System, operator_hash: str) -> Iterator[TestClient]:
    yield from backoffice_client(system, operator_hash)


def stored(system: System, ticket: dict[str, Any]) -> dict[str, Any]:
    with unit_of_work(system.engine, write=False) as conn:
        return dict(conn.execute(select(tickets).where(tickets.c.id == ticket["id"])).mappings().one())


def in_wallet(system: System, ticket: dict[str, Any]) -> dict[str, Any] | None:
    """The wallet's view of the ticket (organizer API), None if the wallet does not know it."""
    response = system.wallet.client.get(f"/organizer/tickets/{ticket['number']}", auth=system.wallet.auth)
    if response.status_code == 404:
        return None
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def wallet_record_count(system: System) -> int:
    return len(system.wallet.all_records())


def post(bo: TestClient, path: str, expected: int = 200) -> dict[str, Any]:
    response = bo.post(path)
    assert response.status_code == expected, response.text
    return response.json()  # type: ignore[no-any-return]


class InjectionCalls(httpx.BaseTransport):
    """A real transport that counts injection calls and moves the wallet's clock one minute before each,
    so the wallet's own records tell which tickets came in which call."""

    def __init__(self, system: System) -> None:
        self.inner = httpx.HTTPTransport()
        self.system = system
        self.calls = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path.endswith("/organizer/tickets"):
            self.calls += 1
            self.system.wallet.clock.advance(60)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


# --- I1 -----------------------------------------------------------------------------------------


def test_i1_not_printed_tickets_are_injected_with_their_payload_once(system: System, bo: TestClient) -> None:
    ana = system.contact(ANA, "Ana", "Lima", title="Ms", mobile_phone="+55 11 4444-0000", birth_date=date(1991, 2, 3),
                         nationality="BRA", id_number="P-123", country="BR", language="pt",
                         allow_promo_email=True, allow_third_party_email=False)
    first = new_ticket(system, ana, price="120.50", currency="USD", file_number="F-77", seat="A-1")
    second = new_ticket(system, system.contact("carl@example.com", "Carl", "Known"))
    injection = system.schedule(system.interface(), INJECTION)

    execution = api_execution(bo, run_ok(system, injection))

    assert (execution["counters"]["recordsRead"], execution["counters"]["ticketsUpdated"]) == (2, 2)
    for ticket in (first, second):
        row = stored(system, ticket)
        assert row["status"] == "PRINTED" and row["injected_at"] is not None
        assert api_ticket(bo, ticket)["status"] == "PRINTED"
    detail = in_wallet(system, first)
    assert detail is not None
    assert (detail["ticketId"], detail["status"], detail["originalSpectatorEmail"]) == (
        first["number"], "INJECTED", ANA)
    event = detail["event"]
    assert (event["id"], event["name"]) == ("WC26-M01", "Opening match")
    assert datetime.fromisoformat(event["startTime"].replace("Z", "+00:00")) == START
    assert event["address"] == {"site": "Estadio Azteca", "city": "Mexico City", "zip": "04650",
                                "countryCode": "MX"}
    # spectatorDetails came from the cultural contact: the wallet made the owner's account from them
    assert detail["walletOwner"] == {
        "title": "Ms", "firstName": "Ana", "lastName": "Lima", "email": ANA, "dateOfBirth": "1991-02-03",
        "nationality": "BRA", "idCardNumber": "P-123", "phoneNumber": "+55 11 4444-0000", "residenceCountry": "BR",
        "language": "pt", "organizerSpectatorPreference": {"allowPromoEmail": True, "allowThirdPartyEmail": False}}
    detail = in_wallet(system, second)
    assert detail is not None and detail["walletOwner"]["email"] == "carl@example.com"
    records = wallet_record_count(system)
    injected_at = [stored(system, t)["injected_at"] for t in (first, second)]

    execution = api_execution(bo, run_ok(system, injection))  # nothing left to inject

    assert (execution["counters"]["recordsRead"], execution["counters"]["ticketsUpdated"]) == (0, 0)
    assert wallet_record_count(system) == records
    assert [stored(system, t)["injected_at"] for t in (first, second)] == injected_at


def test_i1_event_filter_injects_only_the_schedules_events(system: System) -> None:
    with unit_of_work(system.engine) as conn:
        create_event(conn, NewEvent("WC26-M02", "Second match", START, "Estadio BBVA", "Monterrey", "64000", "MX"),
                     datetime.now(UTC))
    ana = system.contact(ANA)
    opening = new_ticket(system, ana)
    with unit_of_work(system.engine) as conn:
        second = asdict(create_ticket(conn, NewTicket("WC26-M02", ana, number="M02-0001"), datetime.now(UTC)))
    injection = system.schedule(system.interface(), INJECTION, event_codes=["WC26-M02"])

    run_ok(system, injection)

    assert stored(system, second)["status"] == "PRINTED"
    detail = in_wallet(system, second)
    assert detail is not None and detail["event"]["id"] == "WC26-M02"
    assert stored(system, opening)["status"] == "NOT_PRINTED" and stored(system, opening)["injected_at"] is None
    assert in_wallet(system, opening) is None


def test_i1_tickets_go_in_batches_of_ticket_iteration_size(system: System) -> None:
    ana = system.contact(ANA)
    sold = [new_ticket(system, ana) for _ in range(3)]
    injection = system.schedule(system.interface(f"{BASIC}\nticketIterationSize=2"), INJECTION)
    calls = InjectionCalls(system)

    execution = asdict(run_schedule(system.engine, injection, clock=system.clock, transport=calls,
                                    client_options={"backoff_seconds": 0.01}))

    assert execution["status"] == "OK" and execution["tickets_updated"] == 3
    assert calls.calls == 2
    injected_at = []
    for ticket in sold:
        detail = in_wallet(system, ticket)
        assert detail is not None
        [record] = detail["statusLog"]
        injected_at.append(record["occurredAt"])
    # the wallet saw two calls: the first two tickets together, the third one a minute later
    assert injected_at[0] == injected_at[1] < injected_at[2]


def test_i1_each_printed_ticket_gets_its_print_history_row_in_the_batch_that_prints_it(system: System) -> None:
    # house rule 3: PRINTED is a status change like the operator's, with its ticket_actions row
    ana = system.contact(ANA)
    sold = [new_ticket(system, ana) for _ in range(3)]
    refused = new_ticket(system, system.contact(None, "Nora", "Nomail"))  # type: ignore[arg-type]  # no e-mail: the wallet refuses it
    injection = system.schedule(system.interface(f"{BASIC}\nticketIterationSize=2"), INJECTION)

    execution = asdict(run_schedule(system.engine, injection, clock=system.clock))

    assert execution["status"] == "WARNING" and execution["tickets_updated"] == 3
    with unit_of_work(system.engine, write=False) as conn:
        rows = conn.execute(select(ticket_actions).order_by(ticket_actions.c.ticket_id)).mappings().all()
    assert [(r["ticket_id"], r["action"], r["from_status"], r["to_status"], r["actor"], r["related_ticket_id"])
            for r in rows] == [(t["id"], "PRINT", "NOT_PRINTED", "PRINTED", f"execution {execution['id']}", None)
                               for t in sold]
    assert all(as_utc(execution["started_at"]) <= as_utc(r["at"]) <= as_utc(execution["ended_at"]) for r in rows)
    assert stored(system, refused)["status"] == "NOT_PRINTED"

    run_schedule(system.engine, injection, clock=system.clock)  # nothing new is printed: no new row
    with unit_of_work(system.engine, write=False) as conn:
        assert conn.scalar(select(func.count()).select_from(ticket_actions)) == 3


def test_i1_wallet_refusal_is_logged_with_its_reason_and_ticket_stays_not_printed(system: System,
                                                                                   bo: TestClient) -> None:
    no_email = system.contact(None, "Nora", "Nomail")  # type: ignore[arg-type]  # the back office allows it; the wallet needs one
    refused = new_ticket(system, no_email)
    accepted = new_ticket(system, system.contact(ANA))
    injection = system.schedule(system.interface(), INJECTION)

    execution = api_execution(bo, run_ok(system, injection, "WARNING"))

    assert (execution["counters"]["failed"], execution["counters"]["ticketsUpdated"]) == (1, 1)
    [warning] = log_of(execution, "WARNING")
    assert warning["ticketNumber"] == refused["number"]
    assert "refused by the wallet" in warning["message"] and "spectatorDetails.email" in warning["message"]
    assert (stored(system, refused)["status"], stored(system, refused)["injected_at"]) == ("NOT_PRINTED", None)
    assert in_wallet(system, refused) is None
    assert stored(system, accepted)["status"] == "PRINTED" and in_wallet(system, accepted) is not None

    execution = api_execution(bo, run_ok(system, injection, "WARNING"))  # tried again, refused again
    assert (execution["counters"]["recordsRead"], execution["counters"]["failed"]) == (1, 1)
    assert stored(system, refused)["status"] == "NOT_PRINTED"


# --- I2 -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("overlay", "goes_to"), [
    pytest.param(None, BOB, id="overlay-absent"),
    pytest.param("false", BOB, id="overlay-false"),
    pytest.param("true", ANA, id="overlay-true"),
])
def test_i2_reprint_goes_to_last_wallet_owner_unless_overlay(system: System, bo: TestClient, overlay: str | None,
                                                             goes_to: str) -> None:
    # the feature is off here, so the cultural contact stays Ana while the wallet owner becomes Bob:
    # that is what tells the two targets apart (with the feature on, both would be Bob)
    parameters = BASIC if overlay is None else f"{BASIC}\noverlaySpectatorDetailsWithLastOwner={overlay}"
    ana = system.contact(ANA)
    original = new_ticket(system, ana)
    interface = system.interface(parameters)
    injection = system.schedule(interface, INJECTION)
    feedback = system.schedule(interface, FEEDBACK)
    run_ok(system, injection)
    accept(system, BOB, send(system, ANA, original, BOB), "Bob", "Ross", nationality="BR")
    system.wallet.as_spectator(BOB, "GET", "/spectator/tickets")  # he opens it: his profile is shared (W10)
    run_ok(system, feedback)
    assert api_ticket(bo, original)["walletOwner"]["email"] == BOB

    reprint = post(bo, f"/api/tickets/{original['id']}/reprint", 201)
    assert reprint["replacesTicketId"] == original["id"] and reprint["culturalContact"]["id"] == ana
    assert api_ticket(bo, original)["status"] == "INVALIDATED"
    run_ok(system, injection)

    detail = in_wallet(system, reprint)
    assert detail is not None
    assert detail["walletOwner"]["email"] == goes_to == detail["originalSpectatorEmail"]
    assert stored(system, reprint)["status"] == "PRINTED"


@pytest.mark.parametrize(("overlay", "warns"), [
    pytest.param("", True, id="overlay-absent"),
    pytest.param("\noverlaySpectatorDetailsWithLastOwner=false", True, id="overlay-false"),
    pytest.param("\noverlaySpectatorDetailsWithLastOwner=true", False, id="overlay-true"),
])
def test_i2_injection_warns_when_the_feature_is_active_without_overlay(system: System, bo: TestClient,
                                                                       overlay: str, warns: bool) -> None:
    """I2: the injection itself warns (execution WARNING) when the feature is active on its interface
    and overlaySpectatorDetailsWithLastOwner is not true; the tickets are injected all the same."""
    ticket = new_ticket(system, system.contact(ANA))
    interface = system.interface(f"{BASIC}\nenableTicketDistributionToCulturalContact=true{overlay}")
    execution = asdict(run_schedule(system.engine, system.schedule(interface, INJECTION), clock=system.clock))
    assert execution["status"] == ("WARNING" if warns else "OK")
    warnings = [line["message"] for line in log_of(api_execution(bo, execution), "WARNING")]
    assert len(warnings) == warns and all("overlaySpectatorDetailsWithLastOwner=true" in w for w in warnings)
    assert stored(system, ticket)["status"] == "PRINTED"


def test_i2_reprint_to_a_last_owner_without_a_name_falls_back_to_the_cultural_contact_and_says_so(
        system: System, bo: TestClient) -> None:
    """Overlay false and a last wallet owner known without a name: the reprint goes to the cultural
    contact, and an INFO line naming the reprinted ticket says so (no e-mail, no name: section 10)."""
    ana = system.contact(ANA)
    original = new_ticket(system, ana)
    interface = system.interface(BASIC)
    injection = system.schedule(interface, INJECTION)
    run_ok(system, injection)
    with unit_of_work(system.engine) as conn:  # what the feedback stored for a wallet owner with no profile
        conn.execute(tickets.update().where(tickets.c.id == original["id"]).values(wallet_owner={"email": BOB}))
    reprint = post(bo, f"/api/tickets/{original['id']}/reprint", 201)

    execution = api_execution(bo, run_ok(system, injection))

    [info, printed] = [line for line in log_of(execution, "INFO") if line["ticketNumber"] == reprint["number"]]
    assert printed["message"] == f"ticket {reprint['id']} printed: injected"  # O3
    assert "cultural contact" in info["message"] and BOB not in info["message"] and "Ana" not in info["message"]
    assert in_wallet(system, reprint)["walletOwner"]["email"] == ANA


# --- push cancelled, push controlled ------------------------------------------------------------


def test_push_cancelled_deletes_injected_cancelled_and_invalidated_tickets_once(system: System,
                                                                               bo: TestClient) -> None:
    ana, carl = system.contact(ANA), system.contact("carl@example.com", "Carl", "Known")
    downloaded, never_downloaded, kept = new_ticket(system, ana), new_ticket(system, carl), new_ticket(system, ana)
    interface = system.interface(f"{BASIC}\nticketIterationSize=1")
    run_ok(system, system.schedule(interface, INJECTION))
    not_injected = new_ticket(system, ana)
    post(bo, f"/api/tickets/{not_injected['id']}/cancel")
    system.wallet.as_spectator(ANA, "GET", "/spectator/tickets")  # ana's app downloads her tickets
    post(bo, f"/api/tickets/{downloaded['id']}/cancel")
    post(bo, f"/api/tickets/{never_downloaded['id']}/invalidate")
    push = system.schedule(interface, "PUSH_CANCELLED")

    execution = api_execution(bo, run_ok(system, push))

    assert (execution["counters"]["recordsRead"], execution["counters"]["ticketsUpdated"]) == (2, 2)
    assert in_wallet(system, downloaded)["status"] == "DELETION_PENDING"  # type: ignore[index]
    assert in_wallet(system, never_downloaded)["status"] == "DELETED"  # type: ignore[index]
    assert in_wallet(system, kept)["status"] == "DOWNLOADED"  # type: ignore[index]
    assert in_wallet(system, not_injected) is None
    for ticket in (downloaded, never_downloaded):
        assert stored(system, ticket)["push_cancelled_at"] is not None
    for ticket in (kept, not_injected):
        assert stored(system, ticket)["push_cancelled_at"] is None
    records = wallet_record_count(system)
    marks = [stored(system, t)["push_cancelled_at"] for t in (downloaded, never_downloaded)]

    execution = api_execution(bo, run_ok(system, push))  # nothing more to push

    assert (execution["counters"]["recordsRead"], execution["counters"]["ticketsUpdated"]) == (0, 0)
    assert wallet_record_count(system) == records
    assert [stored(system, t)["push_cancelled_at"] for t in (downloaded, never_downloaded)] == marks


def test_push_controlled_controls_injected_tickets_once_failing_a_pending_transfer(system: System,
                                                                                 bo: TestClient) -> None:
    ana = system.contact(ANA)
    controlled, other = new_ticket(system, ana), new_ticket(system, ana)
    interface = system.interface()
    run_ok(system, system.schedule(interface, INJECTION))
    feedback = system.schedule(interface, FEEDBACK)
    tid = send(system, ANA, controlled, BOB)
    run_ok(system, feedback)
    post(bo, f"/api/tickets/{controlled['id']}/control")
    push = system.schedule(interface, "PUSH_CONTROLLED")

    execution = api_execution(bo, run_ok(system, push))

    assert (execution["counters"]["recordsRead"], execution["counters"]["ticketsUpdated"]) == (1, 1)
    detail = in_wallet(system, controlled)
    assert detail is not None and detail["status"] == "CONTROLLED" and detail["pendingTransfer"] is None
    last_two = detail["statusLog"][-2:]
    assert [record["status"] for record in last_two] == ["FAILURE", "CONTROLLED"]
    assert (last_two[0]["transfer"]["transferId"], last_two[0]["transfer"]["failureReason"]) == (
        tid, "TICKET_CONTROLLED")
    assert stored(system, controlled)["push_controlled_at"] is not None
    assert stored(system, other)["push_controlled_at"] is None
    assert in_wallet(system, other)["status"] == "INJECTED"  # type: ignore[index]
    records = wallet_record_count(system)

    execution = api_execution(bo, run_ok(system, push))  # nothing more to push
    assert (execution["counters"]["recordsRead"], execution["counters"]["ticketsUpdated"]) == (0, 0)
    assert wallet_record_count(system) == records

    run_ok(system, feedback)  # and the feedback learns what the control did to the transfer
    [line] = api_history(bo, controlled)
    assert (line["status"], line["reason"], line["newContact"]) == ("CANCELLED", "TICKET_CONTROLLED", None)
    assert api_ticket(bo, controlled)["mobileStatus"] == "CONTROLLED"
    assert api(bo, "/api/contacts", email=BOB)["items"] == []


# --- I3 -----------------------------------------------------------------------------------------

CAI, DAN = "cai@example.com", "dan@example.com"


def organizer_transfer(system: System, ticket: dict[str, Any], recipient: str) -> None:
    response = system.wallet.client.post(f"/organizer/tickets/{ticket['number']}/transfer", auth=system.wallet.auth,
                                         json={"recipientEmail": recipient, "reason": "re-seated"})
    assert response.status_code == 200, response.text


def test_i3_max_transfers_is_sent_and_organizer_transfers_neither_obey_nor_consume_it(system: System) -> None:
    ana, bea = system.contact(ANA), system.contact("bea@example.com", "Bea", "Cruz")
    eve = system.contact("eve@x.example")
    with unit_of_work(system.engine) as conn:
        create_event(conn, NewEvent("WC26-M09", "Limited match", START, "Estadio BBVA", "Monterrey", "64000", "MX",
                                    max_transfers=1), datetime.now(UTC))
        unlimited = asdict(create_ticket(conn, NewTicket("WC26-M01", eve), datetime.now(UTC)))
        spectator_first = asdict(create_ticket(conn, NewTicket("WC26-M09", ana), datetime.now(UTC)))
        organizer_first = asdict(create_ticket(conn, NewTicket("WC26-M09", bea), datetime.now(UTC)))
    run_ok(system, system.schedule(system.interface(BASIC), INJECTION))
    for ticket, limit in ((spectator_first, 1), (organizer_first, 1), (unlimited, None)):
        detail = in_wallet(system, dict(ticket))
        assert detail is not None and detail["maxTransfers"] == limit, detail

    # the spectator's one transfer, then the organizer's: the limit is reached, and stays so
    accept(system, BOB, send(system, ANA, dict(spectator_first), BOB), "Bob", "Stone")
    organizer_transfer(system, dict(spectator_first), CAI)
    response = system.wallet.transfer(CAI, spectator_first["number"], DAN)
    assert response.status_code == 409 and response.json()["error"]["code"] == "MAX_TRANSFERS_REACHED", response.text
    detail = in_wallet(system, dict(spectator_first))
    assert detail is not None and (detail["transferLevel"], detail["transfersDone"]) == (2, 1)

    # only an organizer transfer so far: the spectator may still transfer once, not twice
    organizer_transfer(system, dict(organizer_first), CAI)
    accept(system, DAN, send(system, CAI, dict(organizer_first), DAN), "Dan", "Ross")
    response = system.wallet.transfer(DAN, organizer_first["number"], ANA)
    assert response.status_code == 409 and response.json()["error"]["code"] == "MAX_TRANSFERS_REACHED", response.text
