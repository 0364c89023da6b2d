"""Issue 12: one organizer cannot lock a spectator out of another's ticket (W12 walletTicketId), ticket
ids every route can reach and profile text without control or bidi characters (W13), spectator tokens
that expire when idle (section 10). On SQLite and PostgreSQL (the ``wallet`` fixture)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tests.support.pages import flash
from tests.support.wallet import Wallet, run, ticket_payload
from tixtrace.wallet.db.tables import sessions
from tixtrace.wallet.services.organizers import create_organizer
from tixtrace.wallet.services.spectators import SESSION_IDLE_LIFETIME

ANA, BEA, CID = "ana@example.com", "bea@example.com", "cid@example.com"


def _second_organizer(wallet: Wallet) -> tuple[str, str]:
    org, key = run(wallet.client.app.state.engine, create_organizer, wallet.clock, "org-b@other.example")
    return org.email, key


def _inject_twice(wallet: Wallet, ticket_id: str, email: str) -> tuple[str, str]:
    """The same ticket id injected to ``email`` by two organizers; their walletTicketIds (A's, B's)."""
    wallet.inject(ticket_payload(ticket_id, email))
    b_auth = _second_organizer(wallet)
    response = wallet.client.post("/organizer/tickets", json={"tickets": [ticket_payload(ticket_id, email)]},
                                  auth=b_auth)
    assert response.json()["results"][0]["result"] == "INJECTED", response.text
    items = wallet.as_spectator(email, "GET", "/spectator/tickets").json()["items"]
    assert [item["ticketId"] for item in items] == [ticket_id, ticket_id]
    first, second = (item["walletTicketId"] for item in items)
    return first, second


def test_w12_each_of_two_organizers_tickets_with_one_id_is_reachable_by_its_wallet_ticket_id(wallet):
    a_ticket, b_ticket = _inject_twice(wallet, "T1", ANA)
    assert a_ticket != b_ticket and not re.fullmatch(r"[A-Za-z0-9._-]+", a_ticket)  # never a ticketId (W13)

    # a bare ticketId that two organizers use: 409 naming both tickets' walletTicketIds
    for response in (wallet.transfer(ANA, "T1", BEA),
                     wallet.as_spectator(ANA, "POST", "/spectator/tickets/T1/holder",
                                         json={"firstName": "Hal", "lastName": "Der"})):
        assert response.status_code == 409, response.text
        error = response.json()["error"]
        assert error["code"] == "AMBIGUOUS_TICKET_ID"
        assert error["details"]["walletTicketIds"] == [a_ticket, b_ticket]

    # each one by its walletTicketId: the holder of A's, a transfer of B's
    held = wallet.as_spectator(ANA, "POST", f"/spectator/tickets/{a_ticket}/holder",
                               json={"firstName": "Hal", "lastName": "Der"})
    assert held.status_code == 200, held.text
    assert held.json()["walletTicketId"] == a_ticket and held.json()["ticketId"] == "T1"
    sent = wallet.transfer(ANA, b_ticket, BEA)
    assert sent.status_code == 201, sent.text
    listed = wallet.as_spectator(ANA, "GET", "/spectator/tickets").json()["items"]
    items = {item["walletTicketId"]: item for item in listed}
    assert items[a_ticket]["status"] == "ASSIGNED" and items[a_ticket]["pendingTransfer"] is None
    assert items[b_ticket]["status"] == "PENDING_TRANSFER"
    assert items[b_ticket]["pendingTransfer"]["transferId"] == sent.json()["transferId"]
    # and A's too, now that it is unambiguous again only through its walletTicketId
    assert wallet.transfer(ANA, a_ticket, CID).status_code == 201
    # organizer A's log saw its own ticket change, and only that one
    assert [r["status"] for r in wallet.all_records()] == ["INJECTED", "DOWNLOADED", "ASSIGNED", "PENDING_TRANSFER"]


def test_w12_a_bare_ticket_id_still_works_when_it_names_one_ticket(wallet):
    wallet.inject(ticket_payload("T1", ANA))
    [item] = wallet.as_spectator(ANA, "GET", "/spectator/tickets").json()["items"]
    assert wallet.transfer(ANA, "T1", BEA).status_code == 201
    wallet.profile(BEA)
    transfer_id = wallet.as_spectator(BEA, "GET", "/spectator/transfers").json()["items"][0]["transferId"]
    assert wallet.act(BEA, transfer_id, "accept").status_code == 200
    # another's walletTicketId is as unknown as another's ticketId: 404, nothing leaked
    for ref in (item["walletTicketId"], "~999999", "~", "~1x"):
        response = wallet.transfer(ANA, ref, CID)
        assert response.status_code == 404 and response.json()["error"]["code"] == "TICKET_NOT_FOUND", ref


def test_w12_the_app_page_acts_on_each_of_two_tickets_sharing_an_id(wallet, page_client):
    a_ticket, b_ticket = _inject_twice(wallet, "T1", ANA)
    me = page_client(ANA)
    page = me.page()
    assert re.findall(r'data-wallet-ticket-id="([^"]*)"', page) == [a_ticket, b_ticket]
    assert re.findall(r'name="ticketId" value="([^"]*)"', page).count(b_ticket) == 2  # transfer + holder forms

    done = me.transfer(b_ticket, BEA)
    assert flash(done.text)["kind"] == "success", flash(done.text)
    assert "Ticket T1 sent to bea@example.com" in flash(done.text)["text"]
    held = me.post("/app/tickets/holder", {"ticketId": a_ticket, "firstName": "Hal", "lastName": "Der"})
    assert flash(held.text)["text"] == "Ticket T1 is now assigned to Hal Der."
    statuses = {item["walletTicketId"]: item["status"]
                for item in wallet.as_spectator(ANA, "GET", "/spectator/tickets").json()["items"]}
    assert statuses == {a_ticket: "ASSIGNED", b_ticket: "PENDING_TRANSFER"}


# -- W13 ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("ticket_id", [".", "..", "a/b", "a b", "T%2F1", "T?1", "T#1", "é1", "~5", "x" * 65,
                                       "T\u202e1", "T\n1"])
def test_w13_a_ticket_id_no_route_could_name_is_rejected_at_injection(wallet, ticket_id):
    [result] = wallet.inject(ticket_payload(ticket_id, ANA))
    assert result["result"] == "REJECTED", result
    assert result["error"].startswith("ticketId:"), result
    assert wallet.as_spectator(ANA, "GET", "/spectator/tickets").json()["items"] == []


def test_w13_every_allowed_ticket_id_is_reachable_by_every_route(wallet):
    ids = ["A-z_0.9", "x" * 64, "...", ".a", "-"]
    results = wallet.inject(*(ticket_payload(ticket_id, ANA) for ticket_id in ids))
    assert [r["result"] for r in results] == ["INJECTED"] * len(ids)
    for ticket_id in ids:
        assert wallet.detail(ticket_id)["ticketId"] == ticket_id
        response = wallet.transfer(ANA, ticket_id, BEA)
        assert response.status_code == 201, (ticket_id, response.text)


_BAD_TEXT = ["Ana\u202eMIL", "Ana\u2066x\u2069", "Ana\x07", "Ana\x1b[31m", "An\u0085a", "Ana\x7f"]


@pytest.mark.parametrize("bad", _BAD_TEXT)
def test_w13_profile_text_with_control_or_bidi_characters_is_refused(wallet, bad):
    wallet.inject(ticket_payload("T1", ANA))
    response = wallet.as_spectator(ANA, "PUT", "/spectator/profile", json={"firstName": bad, "lastName": "Lima"})
    assert response.status_code == 422 and response.json()["error"]["code"] == "INVALID_INPUT", response.text
    assert "firstName" in response.text
    for field in ("title", "idCardNumber", "phoneNumber", "lastName"):
        response = wallet.as_spectator(ANA, "PUT", "/spectator/profile", json={field: bad[:9]})
        assert response.status_code == 422, (field, response.text)
    held = wallet.as_spectator(ANA, "POST", "/spectator/tickets/T1/holder", json={"firstName": bad, "lastName": "L"})
    assert held.status_code == 422, held.text
    [result] = wallet.inject(ticket_payload("T2", BEA, last=bad))
    assert result["result"] == "REJECTED" and "lastName" in result["error"], result
    assert wallet.as_spectator(ANA, "GET", "/spectator/profile").json()["firstName"] == "Ana"


def test_w13_ordinary_international_names_are_kept(wallet):
    response = wallet.as_spectator(ANA, "PUT", "/spectator/profile",
                                   json={"firstName": "Zoë Ångström-Núñez", "lastName": "محمد 李 O'Brien"})
    assert response.status_code == 200, response.text
    assert response.json()["lastName"] == "محمد 李 O'Brien"


# -- section 10: spectator tokens expire when idle ---------------------------------------------------


def _me(wallet: Wallet, token: str) -> Any:
    return wallet.client.get("/spectator/profile", headers={"Authorization": f"Bearer {token}"})


def test_a_spectator_token_expires_after_30_idle_days_and_use_keeps_it_alive(wallet):
    idle, used = wallet.token(ANA), wallet.token(BEA)
    assert SESSION_IDLE_LIFETIME == timedelta(days=30)
    for _ in range(3):  # 60 days in all, BEA's token used every 20
        wallet.clock.advance(timedelta(days=20).total_seconds())
        assert _me(wallet, used).status_code == 200
    response = _me(wallet, idle)
    assert response.status_code == 401, response.text
    error = response.json()["error"]
    assert error["code"] == "SESSION_EXPIRED" and "sign in again" in error["message"]
    assert response.headers["content-type"].startswith("application/json")

    # exactly at the limit it has expired; a second before, it has not (and that use refreshed it)
    fresh = wallet.client.post("/spectator/session", json={"email": CID}).json()["token"]
    unused = wallet.client.post("/spectator/session", json={"email": CID}).json()["token"]
    wallet.clock.advance((SESSION_IDLE_LIFETIME - timedelta(seconds=1)).total_seconds())
    assert _me(wallet, fresh).status_code == 200
    wallet.clock.advance(1)
    assert _me(wallet, unused).status_code == 401
    assert _me(wallet, fresh).status_code == 200
    # signing in again works, and clears the account's expired sessions
    again = wallet.client.post("/spectator/session", json={"email": ANA}).json()["token"]
    assert _me(wallet, again).status_code == 200
    with wallet.client.app.state.engine.connect() as conn:
        assert len(conn.execute(select(sessions.c.token_hash)).all()) == 4  # ANA's new, BEA's, CID's two


def test_an_expired_session_cookie_leads_back_to_sign_in(wallet, page_client):
    me = page_client(ANA)
    assert me.page()
    wallet.clock.advance((SESSION_IDLE_LIFETIME + timedelta(minutes=1)).total_seconds())
    response = me.client.get("/app", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/app/login"
