"""Transfers through the spectator page (W4-W6): send, accept, reject, cancel, expiry, and the errors."""

from __future__ import annotations

import re

from tests.support.pages import flash, text_of, ticket_card, ticket_ids, transfer_item
from tests.support.wallet import ticket_payload

ANA, BEA, CID = "ana@example.com", "bea@example.com", "cid@example.com"


def _pending_id(page: str, ticket_id: str) -> str:
    card = ticket_card(page, ticket_id)
    assert card is not None
    found = re.search(r'data-cancel-transfer="([^"]+)"', card)
    assert found, card
    return found.group(1)


def _statuses(wallet, ticket_id: str) -> list[str]:  # type: ignore[no-untyped-def]
    return [r["status"] for r in wallet.all_records() if r["ticketId"] == ticket_id]


def test_transfer_then_the_recipient_sets_a_profile_and_accepts(wallet, page_client):
    wallet.inject(ticket_payload("T1", ANA), ticket_payload("T2", ANA))
    ana = page_client(ANA)
    ana.page()
    sent = ana.transfer("T1", CID)
    assert sent.status_code == 200 and sent.url.path == "/app"
    assert flash(sent.text)["text"] == f"Ticket T1 sent to {CID}; it stays yours until they accept (1 h 00 min left)."
    card = ticket_card(sent.text, "T1")
    assert 'data-status="PENDING_TRANSFER"' in card and CID in card
    assert 'data-seconds-left="3600"' in card and "1 h 00 min left" in text_of(card)
    assert "data-transfer-ticket" not in card  # no second transfer while one is pending
    tid = _pending_id(sent.text, "T1")
    assert 'data-transfer-ticket="T2"' in ticket_card(sent.text, "T2")

    wallet.advance(15 * 60 + 20)  # the page counts down with the wallet's clock, not the machine's
    assert "44 min left" in text_of(ticket_card(ana.page(), "T1"))
    sender_page = ana.page()
    assert sender_page.count(f'data-pending-transfer="{tid}"') == 1 and 'id="outgoing"' not in sender_page  # once

    cid = page_client(CID)
    page = cid.page()
    incoming = transfer_item(page, tid, "incoming")
    assert incoming is not None and ANA in incoming and "T1" in incoming
    assert ticket_payload("T1", ANA)["event"]["name"] in text_of(incoming)  # what is offered, before accepting
    assert f'data-accept-transfer="{tid}"' in incoming and f'data-reject-transfer="{tid}"' in incoming
    assert 'data-seconds-left="2680"' in incoming and "44 min left" in text_of(incoming)
    assert 'id="profile-needed"' in page and ticket_ids(page) == []  # not his before he accepts

    refused = cid.act(tid, "accept")  # no first and last name yet
    assert refused.status_code == 409 and flash(refused.text)["code"] == "PROFILE_INCOMPLETE"
    assert "complete your profile" in flash(refused.text)["text"].lower()
    assert 'href="/app/profile"' in re.search(r'<div id="flash".*?</div>', refused.text, re.S).group(0)

    saved = cid.save_profile("Cid", "Moreau")
    assert saved.status_code == 200 and 'id="profile-needed"' not in saved.text
    accepted = cid.act(tid, "accept")
    assert accepted.status_code == 200 and flash(accepted.text)["text"] == "Accepted: ticket T1 is now in your wallet."
    assert ticket_ids(accepted.text) == ["T1"]
    assert 'data-status="DOWNLOADED"' in ticket_card(accepted.text, "T1")  # the page opened it (W10)
    assert "Accepted" in text_of(transfer_item(accepted.text, tid, "past"))

    after = ana.page()
    assert ticket_ids(after) == ["T2"]
    assert "Accepted" in text_of(transfer_item(after, tid, "past"))
    assert _statuses(wallet, "T1") == ["INJECTED", "DOWNLOADED", "PENDING_TRANSFER", "TRANSFERRED", "DOWNLOADED"]
    assert wallet.detail("T1")["walletOwner"]["email"] == CID
    assert wallet.detail("T1")["walletOwner"]["lastName"] == "Moreau"  # Cid opened it: shared (W10)


def test_reject_then_cancel(wallet, page_client):
    wallet.inject(ticket_payload("T1", ANA))
    ana, bea = page_client(ANA), page_client(BEA)
    first = _pending_id(ana.transfer("T1", BEA).text, "T1")
    rejected = bea.act(first, "reject")
    assert rejected.status_code == 200 and flash(rejected.text)["text"] == "Rejected the transfer of ticket T1."
    assert "Rejected by the recipient" in text_of(transfer_item(rejected.text, first, "past"))
    page = ana.page()
    assert 'data-status="FAILURE_TRANSFER"' in ticket_card(page, "T1")  # still Ana's, transferable again
    assert "Rejected by the recipient" in text_of(transfer_item(page, first, "past"))

    second = _pending_id(ana.transfer("T1", BEA).text, "T1")
    assert transfer_item(bea.page(), second, "incoming") is not None
    cancelled = ana.act(second, "cancel")
    assert cancelled.status_code == 200
    assert flash(cancelled.text)["text"] == "Cancelled the transfer of ticket T1; it stays in your wallet."
    assert 'data-transfer-ticket="T1"' in ticket_card(cancelled.text, "T1")
    assert "Cancelled by the sender" in text_of(transfer_item(cancelled.text, second, "past"))
    bea_page = bea.page()
    assert transfer_item(bea_page, second, "incoming") is None
    assert "Cancelled by the sender" in text_of(transfer_item(bea_page, second, "past"))
    assert _statuses(wallet, "T1")[2:] == ["PENDING_TRANSFER", "FAILURE_TRANSFER", "PENDING_TRANSFER",
                                           "FAILURE_TRANSFER"]


def test_an_expired_transfer_shows_as_past_and_can_no_longer_be_accepted(wallet, page_client):
    wallet.inject(ticket_payload("T1", ANA))
    ana, bea = page_client(ANA), page_client(BEA)
    tid = _pending_id(ana.transfer("T1", BEA).text, "T1")
    bea.save_profile("Bea", "Cruz")
    wallet.advance(3600)
    page = bea.page()
    assert transfer_item(page, tid, "incoming") is None
    assert "Expired: not accepted in time" in text_of(transfer_item(page, tid, "past"))
    late = bea.act(tid, "accept")
    assert late.status_code == 409 and flash(late.text)["code"] == "TRANSFER_NOT_PENDING"
    assert 'data-status="FAILURE"' in ticket_card(ana.page(), "T1")
    assert _statuses(wallet, "T1")[-1] == "FAILURE"


def test_service_errors_are_flash_messages(wallet, page_client):
    wallet.inject(ticket_payload("T1", ANA))
    ana = page_client(ANA)
    to_self = ana.transfer("T1", "ANA@example.com")
    assert to_self.status_code == 409 and to_self.headers["content-type"].startswith("text/html")
    assert flash(to_self.text) == {"text": "You cannot transfer a ticket to yourself.", "kind": "error",
                                   "code": "RECIPIENT_IS_SENDER"}
    assert ticket_ids(to_self.text) == ["T1"]  # the page is still there
    bad_email = ana.transfer("T1", "bea at example")
    assert bad_email.status_code == 422 and flash(bad_email.text)["code"] == "INVALID_EMAIL"
    empty = ana.transfer("T1", "")
    assert empty.status_code == 422 and flash(empty.text)["text"].startswith("Recipient e-mail:")
    unknown = ana.transfer("T9", BEA)
    assert unknown.status_code == 404 and flash(unknown.text)["code"] == "TICKET_NOT_FOUND"
    no_id = ana.post("/app/transfers/accept", {})
    assert no_id.status_code == 422 and flash(no_id.text)["code"] == "INVALID_INPUT"
    nul = ana.transfer("T1\x00", BEA)
    assert nul.status_code == 422 and "NUL" in flash(nul.text)["text"]
    not_a_form = ana.client.post("/app/tickets/transfer", json={"ticketId": "T1"})
    assert not_a_form.status_code == 422 and flash(not_a_form.text)["code"] == "UNSUPPORTED_FORM"
    too_big = ana.post("/app/tickets/transfer", {"ticketId": "T1", "recipientEmail": "x" * 70_000})
    assert too_big.status_code == 422 and flash(too_big.text)["code"] == "FORM_TOO_LARGE"
    assert _statuses(wallet, "T1") == ["INJECTED", "DOWNLOADED"]  # nothing happened


def test_posts_without_the_csrf_token_are_refused(wallet, page_client):
    wallet.inject(ticket_payload("T1", ANA))
    ana, bea = page_client(ANA), page_client(BEA)
    ana.page()
    cases = [("/app/tickets/transfer", {"ticketId": "T1", "recipientEmail": BEA}),
             ("/app/tickets/holder", {"ticketId": "T1", "firstName": "X", "lastName": "Y"}),
             ("/app/profile", {"firstName": "X", "lastName": "Y"}),
             ("/app/logout", {})]
    for path, data in cases:
        for token in (None, "", "0" * 64, bea.csrf()):  # none, empty, made up, another spectator's
            refused = ana.post(path, data, csrf=token)
            assert refused.status_code == 403, (path, token)
            assert flash(refused.text)["code"] == "CSRF_FAILED"
    assert _statuses(wallet, "T1") == ["INJECTED", "DOWNLOADED"]
    assert wallet.as_spectator(ANA, "GET", "/spectator/profile").json()["firstName"] == "Ana"
    assert ana.page()  # still signed in: the sign-out was refused too

    tid = _pending_id(ana.transfer("T1", BEA).text, "T1")
    bea.save_profile("Bea", "Cruz")
    for action in ("accept", "reject"):
        assert bea.post(f"/app/transfers/{action}", {"transferId": tid}, csrf=None).status_code == 403
    assert ana.post("/app/transfers/cancel", {"transferId": tid}, csrf=bea.csrf()).status_code == 403
    assert _statuses(wallet, "T1")[-1] == "PENDING_TRANSFER"


def test_a_spectator_cannot_act_on_another_ones_transfer_or_ticket(wallet, page_client):
    wallet.inject(ticket_payload("T1", ANA))
    ana, bea, cid = page_client(ANA), page_client(BEA), page_client(CID)
    tid = _pending_id(ana.transfer("T1", BEA).text, "T1")
    bea.save_profile("Bea", "Cruz")
    cid.save_profile("Cid", "Moreau")
    page = cid.page()
    assert tid not in page and ticket_ids(page) == []
    for action in ("accept", "reject", "cancel"):
        response = cid.act(tid, action)
        assert response.status_code == 404 and flash(response.text)["code"] == "TRANSFER_NOT_FOUND", action
    for action in ("accept", "reject"):
        response = ana.act(tid, action)
        assert response.status_code == 403 and flash(response.text)["code"] == "NOT_TRANSFER_RECIPIENT", action
    response = bea.act(tid, "cancel")
    assert response.status_code == 403 and flash(response.text)["code"] == "NOT_TRANSFER_SENDER"
    for path, data in [("/app/tickets/transfer", {"ticketId": "T1", "recipientEmail": CID}),
                       ("/app/tickets/holder", {"ticketId": "T1", "firstName": "X", "lastName": "Y"})]:
        response = cid.post(path, data)
        assert response.status_code == 404 and flash(response.text)["code"] == "TICKET_NOT_FOUND", path
    assert _statuses(wallet, "T1")[-1] == "PENDING_TRANSFER"
    assert wallet.act(BEA, tid, "accept").status_code == 200  # and the rightful recipient still can
