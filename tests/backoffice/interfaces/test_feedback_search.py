"""The contacts the feedback writes are found by the search (their folded names are written with them),
end to end: a real wallet over HTTP, the feedback, then ``GET /api/contacts?q=`` and ``/api/tickets?q=``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.support.feedback import ANA, FEEDBACK, INJECTION, accept, backoffice_client, new_ticket, run_ok, send
from tests.support.system import System


@pytest.fixture
def bo(system: System, operator_hash: str) -> Iterator[TestClient]:
    yield from backoffice_client(system, operator_hash)


def test_a_pending_recipient_then_the_completed_contact_are_found(system: System, bo: TestClient) -> None:
    ana = system.contact(ANA)
    ticket = new_ticket(system, ana)
    interface = system.interface()
    injection, feedback = system.schedule(interface, INJECTION), system.schedule(interface, FEEDBACK)
    run_ok(system, injection)
    transfer = send(system, ANA, ticket, "Chloe.Lima@Example.com")
    run_ok(system, feedback)
    found = bo.get("/api/tickets", params={"q": "chloe.lima@example"}).json()
    assert [t["number"] for t in found["items"]] == [ticket["number"]], "the pending recipient finds the ticket"
    assert bo.get("/api/contacts", params={"q": "pending creation"}).json()["total"] == 1  # the temporary contact
    accept(system, "Chloe.Lima@Example.com", transfer, "Chloé", "Lima")
    system.wallet.open_tickets("Chloe.Lima@Example.com")  # W10: her profile comes when she opens the ticket
    run_ok(system, feedback)
    [chloe] = bo.get("/api/contacts", params={"q": "CHLOE LIMA"}).json()["items"]
    assert (chloe["firstName"], chloe["isTemporary"]) == ("Chloé", False)
    assert [t["number"] for t in bo.get("/api/tickets", params={"q": "lima chloé"}).json()["items"]] == [
        ticket["number"]], "the new owner finds the ticket"
