"""Who may call what (DESIGN section 10): spectators see only their own tickets, transfers and
profile, organizers only their own tickets, and secrets are stored hashed. That every route refuses
missing or wrong credentials is proved for both services at once by tests/test_access_routes.py."""

from __future__ import annotations

import re
from typing import Any

import fastapi.routing
from fastapi import FastAPI
from fastapi.routing import APIRoute
from sqlalchemy import create_engine, select

from tests.support.wallet import run, ticket_payload
from tixtrace.wallet.app import create_wallet_app
from tixtrace.wallet.db.tables import organizers, sessions
from tixtrace.wallet.services.organizers import create_organizer

ANA, BEA, CID = "ana@example.com", "bea@example.com", "cid@example.com"
PUBLIC = {("GET", "/health"), ("POST", "/spectator/session")}


def _api_routes(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path template) of every APIRoute of ``app``, included routers flattened.

    FastAPI >= 0.16x keeps included routers as nested entries of ``app.routes``; ``iter_route_contexts``
    flattens them (each context's ``original_route`` is the APIRoute). Older versions list APIRoutes.
    """
    iterate = getattr(fastapi.routing, "iter_route_contexts", None)
    entries = list(iterate(app.routes)) if iterate else list(app.routes)
    found = []
    for entry in entries:
        if not isinstance(getattr(entry, "original_route", entry), APIRoute):
            continue  # /docs, /openapi.json, /redoc
        for method in sorted(entry.methods or ()):
            found.append((method, str(entry.path)))
    return found


def _routes() -> list[tuple[str, str]]:
    """(method, path with dummy path parameters) of every protected route of a sandbox wallet."""
    engine = create_engine("sqlite://")  # building the app touches no table
    app = create_wallet_app(engine, sandbox=True)
    found = [(method, re.sub(r"\{[^}]+\}", "dummy-0", path))
             for method, path in _api_routes(app) if (method, path) not in PUBLIC]
    engine.dispose()
    return found


ROUTES = _routes()


def test_the_route_table_is_complete():
    engine = create_engine("sqlite://")
    app = create_wallet_app(engine, sandbox=True)
    listed = set(_api_routes(app))
    documented = {(method.upper(), path) for path, item in app.openapi()["paths"].items() for method in item}
    assert listed == documented  # nothing hidden from the schema, nothing missed by the walk
    paths = {path for _, path in ROUTES}
    assert {"/organizer/tickets", "/organizer/tickets/diff", "/organizer/settings", "/spectator/tickets",
            "/spectator/transfers/dummy-0/accept", "/sandbox/clock", "/sandbox/clock/advance"} <= paths
    assert len(ROUTES) == len(listed) - len(PUBLIC) >= 18
    engine.dispose()


def _items(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    return response.json()["items"]  # type: ignore[no-any-return]


def _error(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code


def test_a_spectator_sees_and_acts_on_its_own_tickets_only(wallet):
    wallet.inject(ticket_payload("T1", ANA), ticket_payload("T2", BEA))
    assert [t["ticketId"] for t in _items(wallet.as_spectator(ANA, "GET", "/spectator/tickets"))] == ["T1"]
    assert [t["ticketId"] for t in _items(wallet.as_spectator(CID, "GET", "/spectator/tickets"))] == []
    # Bea may not touch Ana's ticket: it answers like an unknown ticket (its existence is not leaked)
    _error(wallet.as_spectator(BEA, "POST", "/spectator/tickets/T1/holder", json={"firstName": "X", "lastName": "Y"}),
           404, "TICKET_NOT_FOUND")
    _error(wallet.transfer(BEA, "T1", CID), 404, "TICKET_NOT_FOUND")
    _error(wallet.transfer(BEA, "T1", BEA), 404, "TICKET_NOT_FOUND")

    transfer = wallet.transfer(ANA, "T1", BEA).json()
    tid = transfer["transferId"]
    wallet.profile(CID)
    wallet.profile(ANA, first="Ana", last="Lima")
    # a third party cannot see or act on the transfer
    assert _items(wallet.as_spectator(CID, "GET", "/spectator/transfers")) == []
    for action in ("accept", "reject", "cancel"):
        _error(wallet.act(CID, tid, action), 404, "TRANSFER_NOT_FOUND")
    # the sender cannot accept or reject; the recipient cannot cancel
    _error(wallet.act(ANA, tid, "accept"), 403, "NOT_TRANSFER_RECIPIENT")
    _error(wallet.act(ANA, tid, "reject"), 403, "NOT_TRANSFER_RECIPIENT")
    _error(wallet.act(BEA, tid, "cancel"), 403, "NOT_TRANSFER_SENDER")
    # the recipient sees it as incoming but the ticket stays out of its wallet until accepted
    incoming = _items(wallet.as_spectator(BEA, "GET", "/spectator/transfers"))
    assert [(t["transferId"], t["role"]) for t in incoming] == [(tid, "INCOMING")]
    assert [t["ticketId"] for t in _items(wallet.as_spectator(BEA, "GET", "/spectator/tickets"))] == ["T2"]
    _error(wallet.as_spectator(BEA, "POST", "/spectator/tickets/T1/holder", json={"firstName": "X", "lastName": "Y"}),
           404, "TICKET_NOT_FOUND")
    assert [r["status"] for r in wallet.all_records() if r["ticketId"] == "T1"] == [
        "INJECTED", "DOWNLOADED", "PENDING_TRANSFER"]

    wallet.profile(BEA)
    assert wallet.act(BEA, tid, "accept").status_code == 200
    # now Ana is the one without access
    _error(wallet.transfer(ANA, "T1", CID), 404, "TICKET_NOT_FOUND")
    _error(wallet.as_spectator(ANA, "POST", "/spectator/tickets/T1/holder", json={"firstName": "X", "lastName": "Y"}),
           404, "TICKET_NOT_FOUND")
    assert _items(wallet.as_spectator(ANA, "GET", "/spectator/tickets")) == []


def test_a_transfer_id_of_another_ticket_is_not_pending(wallet):
    wallet.inject(ticket_payload("T1", ANA), ticket_payload("T2", ANA))
    first = wallet.transfer(ANA, "T1", BEA).json()["transferId"]
    wallet.profile(BEA)
    wallet.act(BEA, first, "reject")
    second = wallet.transfer(ANA, "T1", BEA).json()["transferId"]
    _error(wallet.act(BEA, first, "accept"), 409, "TRANSFER_NOT_PENDING")
    assert wallet.act(BEA, second, "accept").status_code == 200


def _organizer_b(wallet: Any) -> tuple[str, str]:
    engine = wallet.client.app.state.engine
    org, key = run(engine, create_organizer, wallet.clock, "org-b@other.example")
    return org.email, key


def test_an_organizer_sees_only_its_own_tickets(wallet):
    wallet.inject(ticket_payload("T1", ANA), ticket_payload("T2", ANA))
    b_auth = _organizer_b(wallet)
    client = wallet.client

    _error(client.get("/organizer/tickets/T1", auth=b_auth), 404, "TICKET_NOT_FOUND")
    page = client.get("/organizer/tickets/diff", auth=b_auth).json()
    assert page["records"] == [] and page["hasMore"] is False
    # a pagination key taken from organizer A's feed is refused to B (W11)
    a_key = wallet.diff(batch_size=1)["paginationKey"]
    _error(client.get("/organizer/tickets/diff", params={"paginationKey": a_key}, auth=b_auth), 422, "INVALID_CURSOR")

    response = client.post("/organizer/tickets/delete", auth=b_auth,
                           json={"tickets": [{"ticketId": "T1", "showDeletedTicket": True}]})
    assert response.json()["results"] == [{"ticketId": "T1", "result": "NOT_FOUND", "error": "TICKET_NOT_FOUND"}]
    response = client.post("/organizer/tickets/control", auth=b_auth, json={"tickets": [{"ticketId": "T2"}]})
    assert response.json()["results"] == [{"ticketId": "T2", "result": "NOT_FOUND", "error": "TICKET_NOT_FOUND"}]
    _error(client.post("/organizer/tickets/T1/transfer", auth=b_auth, json={"recipientEmail": BEA, "reason": "x"}),
           404, "TICKET_NOT_FOUND")
    assert client.put("/organizer/settings", auth=b_auth, json={"transferTimeoutSeconds": 120}).status_code == 200
    assert client.get("/organizer/settings", auth=wallet.auth).json()["transferTimeoutSeconds"] == 3600

    # B's own ticket appears in B's feed only; A's tickets are untouched by B's calls
    assert client.post("/organizer/tickets", auth=b_auth,
                       json={"tickets": [ticket_payload("B1", CID)]}).json()["results"][0]["result"] == "INJECTED"
    assert [r["ticketId"] for r in client.get("/organizer/tickets/diff", auth=b_auth).json()["records"]] == ["B1"]
    assert [r["ticketId"] for r in wallet.all_records()] == ["T1", "T2"]
    assert wallet.detail("T1")["status"] == "INJECTED" and wallet.detail("T2")["status"] == "INJECTED"
    _error(client.get("/organizer/tickets/B1", auth=wallet.auth), 404, "TICKET_NOT_FOUND")


def test_api_keys_and_session_tokens_are_not_stored_in_clear(wallet):
    b_email, b_key = _organizer_b(wallet)
    token = wallet.token(ANA)
    engine = wallet.client.app.state.engine
    with engine.connect() as conn:
        organizer_rows = [dict(row) for row in conn.execute(select(organizers)).mappings()]
        session_rows = [dict(row) for row in conn.execute(select(sessions)).mappings()]
    assert len(organizer_rows) == 2 and len(session_rows) == 1
    secrets = [wallet.auth[1], b_key, token]
    for row in organizer_rows + session_rows:
        for value in row.values():
            for secret in secrets:
                assert secret not in str(value)
    for row in organizer_rows:
        assert re.fullmatch(r"[0-9a-f]{64}", row["api_key_hash"])
    assert re.fullmatch(r"[0-9a-f]{64}", session_rows[0]["token_hash"])
    # and the keys still work
    assert wallet.client.get("/organizer/settings", auth=(b_email, b_key)).status_code == 200


def test_a_spectator_reads_and_changes_its_own_profile_only(wallet):
    """The profile has no id in its path: each token reaches its own account, and changing one profile
    leaves the others (and what the organizer sees of them) as they were."""
    wallet.inject(ticket_payload("T1", ANA, first="Ana", last="Lima"))
    wallet.profile(ANA, first="Ana", last="Lima", nationality="PRT")
    wallet.profile(BEA, first="Bea", last="Cruz")
    ana = wallet.as_spectator(ANA, "GET", "/spectator/profile").json()
    bea = wallet.as_spectator(BEA, "GET", "/spectator/profile").json()
    assert (ana["email"], ana["lastName"], ana["nationality"]) == (ANA, "Lima", "PRT")
    assert (bea["email"], bea["lastName"]) == (BEA, "Cruz")
    hijack = wallet.as_spectator(BEA, "PUT", "/spectator/profile",
                                 json={"firstName": "Eve", "lastName": "Mallory", "email": ANA})
    assert hijack.status_code == 422, hijack.text  # the e-mail (the account) is not a field one may set
    wallet.profile(BEA, first="Eve", last="Mallory")
    assert wallet.as_spectator(BEA, "GET", "/spectator/profile").json()["lastName"] == "Mallory"
    assert wallet.as_spectator(ANA, "GET", "/spectator/profile").json() == ana
    assert wallet.detail("T1")["walletOwner"]["lastName"] == "Lima"


def test_the_same_ticket_id_under_two_organizers_stays_two_tickets(wallet):
    """Ticket ids are the organizer's own numbers: organizer B injecting, controlling and deleting "T1"
    acts on B's T1 only; A's T1, its feed and its holder are untouched, and each holder sees one ticket."""
    wallet.inject(ticket_payload("T1", ANA))
    b_auth = _organizer_b(wallet)
    client = wallet.client
    injected = client.post("/organizer/tickets", auth=b_auth, json={"tickets": [ticket_payload("T1", CID)]})
    assert injected.json()["results"][0]["result"] == "INJECTED"  # not ALREADY_INJECTED: A's is not visible
    assert client.post("/organizer/tickets/control", auth=b_auth,
                       json={"tickets": [{"ticketId": "T1"}]}).json()["results"][0]["result"] == "CONTROLLED"
    assert wallet.detail("T1")["status"] == "INJECTED"
    assert [r["status"] for r in wallet.all_records()] == ["INJECTED"]
    assert [t["ticketId"] for t in _items(wallet.as_spectator(CID, "GET", "/spectator/tickets"))] == ["T1"]
    assert [t["ticketId"] for t in _items(wallet.as_spectator(ANA, "GET", "/spectator/tickets"))] == ["T1"]
    # Ana can still transfer her (A's) T1: B's control did not reach it
    assert wallet.transfer(ANA, "T1", BEA).status_code == 201
    assert client.get("/organizer/tickets/T1", auth=b_auth).json()["status"] == "CONTROLLED"
