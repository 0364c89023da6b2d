"""Wallet rules W1-W9 (DESIGN section 3) end to end over HTTP, on SQLite and PostgreSQL.

Each rule has its own test. They drive the in-process sandbox wallet the way the back office (organizer
API) and the app (spectator API) do, and check what the back office will see: the diff feed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from tests.support.wallet import START, ticket_payload
from tixtrace.kernel.clock import isoformat
from tixtrace.wallet.app import create_wallet_app

ANA, BEA, CID = "ana@example.com", "bea@example.com", "cid@example.com"


def at(seconds: float) -> str:
    """The RFC 3339 text of START + seconds, as the wallet writes it."""
    return str(isoformat(START + timedelta(seconds=seconds)))


def statuses(records: list[dict[str, Any]], ticket_id: str | None = None) -> list[str]:
    return [r["status"] for r in records if ticket_id is None or r["ticketId"] == ticket_id]


def new_records(wallet: Any, key: str | None) -> tuple[list[dict[str, Any]], str]:
    """Every record after ``key`` and the key to continue from."""
    records: list[dict[str, Any]] = []
    while True:
        page = wallet.diff(key)
        records += page["records"]
        key = page["paginationKey"]
        if not page["hasMore"]:
            return records, str(key)


def my_tickets(wallet: Any, email: str) -> dict[str, dict[str, Any]]:
    response = wallet.as_spectator(email, "GET", "/spectator/tickets")
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"items", "nextCursor"}
    return {item["ticketId"]: item for item in body["items"]}


def start(wallet: Any, sender: str, ticket_id: str, recipient: str) -> dict[str, Any]:
    response = wallet.transfer(sender, ticket_id, recipient)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def assert_conflict(response: Any, code: str) -> None:
    assert response.status_code == 409, response.text
    error = response.json()["error"]
    assert error["code"] == code, error
    assert error["message"]


def organizer(wallet: Any, method: str, path: str, **kwargs: Any) -> Any:
    return wallet.client.request(method, path, auth=wallet.auth, **kwargs)


def delete(wallet: Any, *items: tuple[str, bool]) -> dict[str, str]:
    response = organizer(wallet, "POST", "/organizer/tickets/delete",
                         json={"tickets": [{"ticketId": t, "showDeletedTicket": show} for t, show in items]})
    assert response.status_code == 200, response.text
    return {r["ticketId"]: r["result"] for r in response.json()["results"]}


def control(wallet: Any, *ticket_ids: str) -> dict[str, str]:
    response = organizer(wallet, "POST", "/organizer/tickets/control",
                         json={"tickets": [{"ticketId": t} for t in ticket_ids]})
    assert response.status_code == 200, response.text
    return {r["ticketId"]: r["result"] for r in response.json()["results"]}


# -- W1 --------------------------------------------------------------------------------------------


def test_w1_injection_results_and_idempotence(wallet):
    bad = ticket_payload("T2", BEA)
    del bad["security"]
    results = wallet.inject(ticket_payload("T1", ANA, first="Ana", last="Lima"), bad,
                            ticket_payload("T3", BEA, first="Bea", last="Cruz"))
    assert [(r["ticketId"], r["result"]) for r in results] == [
        ("T1", "INJECTED"), ("T2", "REJECTED"), ("T3", "INJECTED")]
    assert "security" in results[1]["error"]
    records = wallet.all_records()
    assert [(r["ticketId"], r["status"]) for r in records] == [("T1", "INJECTED"), ("T3", "INJECTED")]
    first = records[0]
    assert first["transferLevel"] == 0 and first["ticketHolder"] is None and first["transfer"] is None
    assert first["walletOwner"]["email"] == ANA
    assert (first["walletOwner"]["firstName"], first["walletOwner"]["lastName"]) == ("Ana", "Lima")

    # the wallet owner is the account of spectatorDetails.email, created with that profile
    profile = wallet.as_spectator(ANA, "GET", "/spectator/profile").json()
    assert (profile["firstName"], profile["lastName"], profile["email"]) == ("Ana", "Lima", ANA)

    # re-injection (even with other details) changes nothing; a duplicate inside a batch is ALREADY_INJECTED
    before = wallet.detail("T1")
    again = wallet.inject(ticket_payload("T1", CID, first="Someone", last="Else"), ticket_payload("T3", BEA),
                          ticket_payload("T4", ANA), ticket_payload("T4", CID))
    assert [(r["ticketId"], r["result"]) for r in again] == [
        ("T1", "ALREADY_INJECTED"), ("T3", "ALREADY_INJECTED"), ("T4", "INJECTED"), ("T4", "ALREADY_INJECTED")]
    after = wallet.all_records()
    assert len(after) == len(records) + 1  # only T4's INJECTED
    assert after[-1]["ticketId"] == "T4" and after[-1]["walletOwner"]["email"] == ANA
    assert wallet.detail("T1") == before
    assert wallet.as_spectator(ANA, "GET", "/spectator/profile").json()["firstName"] == "Ana"
    assert set(my_tickets(wallet, CID)) == set()


def test_w1_emails_are_normalized_to_one_account(wallet):
    wallet.inject(ticket_payload("T1", "  Ana@Example.COM "), ticket_payload("T2", ANA))
    assert set(my_tickets(wallet, ANA)) == {"T1", "T2"}
    assert {r["walletOwner"]["email"] for r in wallet.all_records()} == {ANA}


# -- W2 --------------------------------------------------------------------------------------------


def test_w2_first_listing_marks_downloaded_once(wallet):
    wallet.inject(ticket_payload("T1", ANA), ticket_payload("T2", ANA), ticket_payload("T3", BEA))
    _, key = new_records(wallet, None)
    listed = my_tickets(wallet, ANA)
    assert {t: item["status"] for t, item in listed.items()} == {"T1": "DOWNLOADED", "T2": "DOWNLOADED"}
    assert listed["T1"]["event"]["id"] == "WC26-M01" and listed["T1"]["pendingTransfer"] is None
    records, key = new_records(wallet, key)
    assert sorted((r["ticketId"], r["status"]) for r in records) == [("T1", "DOWNLOADED"), ("T2", "DOWNLOADED")]
    assert all(r["occurredAt"] == at(0) and r["walletOwner"]["email"] == ANA for r in records)

    # listing again is not a new download; Bea's ticket is untouched by Ana's listing
    wallet.advance(60)
    assert {item["status"] for item in my_tickets(wallet, ANA).values()} == {"DOWNLOADED"}
    assert new_records(wallet, key)[0] == []
    assert wallet.detail("T3")["status"] == "INJECTED"


# -- W3 --------------------------------------------------------------------------------------------


def test_w3_assigning_a_holder(wallet):
    wallet.inject(ticket_payload("T1", ANA))
    my_tickets(wallet, ANA)
    _, key = new_records(wallet, None)
    holder = {"firstName": "Carla", "lastName": "Diaz", "email": "carla@example.com"}
    response = wallet.as_spectator(ANA, "POST", "/spectator/tickets/T1/holder", json=holder)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "ASSIGNED"
    [record], _ = new_records(wallet, key)
    assert record["status"] == "ASSIGNED"
    assert record["ticketHolder"] == holder
    assert record["walletOwner"]["email"] == ANA  # the owner does not change
    assert my_tickets(wallet, ANA)["T1"]["ticketHolder"] == holder
    assert wallet.detail("T1")["ticketHolder"] == holder


# -- W4 --------------------------------------------------------------------------------------------


def test_w4_refusals_are_409_with_stable_codes(wallet):
    wallet.inject(*(ticket_payload(f"T{i}", ANA) for i in range(1, 6)),
                  ticket_payload("T6", ANA, max_transfers=0), ticket_payload("T7", ANA, max_transfers=1))
    my_tickets(wallet, ANA)
    wallet.profile(BEA)

    assert control(wallet, "T1") == {"T1": "CONTROLLED"}
    assert_conflict(wallet.transfer(ANA, "T1", BEA), "TICKET_CONTROLLED")

    assert delete(wallet, ("T2", True)) == {"T2": "DELETION_PENDING"}
    assert_conflict(wallet.transfer(ANA, "T2", BEA), "TICKET_DELETED")

    start(wallet, ANA, "T3", BEA)
    assert_conflict(wallet.transfer(ANA, "T3", CID), "TRANSFER_ALREADY_PENDING")
    assert_conflict(wallet.transfer(ANA, "T3", BEA), "TRANSFER_ALREADY_PENDING")

    assert_conflict(wallet.transfer(ANA, "T4", ANA), "RECIPIENT_IS_SENDER")
    assert_conflict(wallet.transfer(ANA, "T4", " ANA@example.COM"), "RECIPIENT_IS_SENDER")

    assert_conflict(wallet.transfer(ANA, "T6", BEA), "MAX_TRANSFERS_REACHED")
    first = start(wallet, ANA, "T7", BEA)
    assert wallet.act(BEA, first["transferId"], "accept").status_code == 200
    assert_conflict(wallet.transfer(BEA, "T7", CID), "MAX_TRANSFERS_REACHED")
    back = start(wallet, BEA, "T7", ANA)  # going back is not a new transfer: allowed at the limit
    assert back["direction"] == "BACKWARD"

    # a refusal writes nothing: the pending transfer of T3 is the only one left open
    records = wallet.all_records()
    assert statuses(records, "T4") == ["INJECTED", "DOWNLOADED"]
    assert statuses(records, "T6") == ["INJECTED", "DOWNLOADED"]
    assert statuses(records, "T3") == ["INJECTED", "DOWNLOADED", "PENDING_TRANSFER"]


def test_w4_backward_transfer_is_immediate(wallet):
    wallet.inject(ticket_payload("T1", ANA))
    wallet.profile(BEA)
    forward = start(wallet, ANA, "T1", BEA)
    assert wallet.act(BEA, forward["transferId"], "accept").status_code == 200
    wallet.advance(10)
    back = start(wallet, BEA, "T1", ANA)
    assert back["direction"] == "BACKWARD"
    assert back["expiresAt"] is None
    assert back["status"] != "PENDING"
    assert back["transferId"] != forward["transferId"]
    last = wallet.all_records()[-1]
    assert last["status"] == "TRANSFERRED" and last["occurredAt"] == at(10)
    assert last["transferLevel"] == 0 and last["walletOwner"]["email"] == ANA
    assert last["transfer"]["direction"] == "BACKWARD" and last["transfer"]["initiatedBy"] == "SPECTATOR"
    assert last["transfer"]["sender"]["email"] == BEA and last["transfer"]["recipient"]["email"] == ANA
    assert "T1" in my_tickets(wallet, ANA) and "T1" not in my_tickets(wallet, BEA)


def test_w4_forward_transfer_expires_after_the_organizer_timeout(wallet):
    wallet.inject(ticket_payload("T1", ANA), ticket_payload("T2", ANA))
    first = start(wallet, ANA, "T1", BEA)
    assert (first["status"], first["direction"], first["expiresAt"]) == ("PENDING", "FORWARD", at(3600))
    record = wallet.all_records()[-1]
    assert record["status"] == "PENDING_TRANSFER"
    assert record["walletOwner"]["email"] == ANA  # stays with the sender until accepted
    assert record["transfer"]["expiresAt"] == at(3600) and record["transfer"]["failureReason"] is None
    assert record["transfer"]["recipient"]["email"] == BEA
    assert my_tickets(wallet, ANA)["T1"]["pendingTransfer"]["expiresAt"] == at(3600)

    assert organizer(wallet, "GET", "/organizer/settings").json() == {
        "transferTimeoutSeconds": 3600, "acceptanceRequired": True}
    response = organizer(wallet, "PUT", "/organizer/settings", json={"transferTimeoutSeconds": 600})
    assert response.status_code == 200, response.text
    assert response.json() == {"transferTimeoutSeconds": 600, "acceptanceRequired": True}
    assert organizer(wallet, "GET", "/organizer/settings").json()["transferTimeoutSeconds"] == 600
    wallet.advance(5)
    second = start(wallet, ANA, "T2", BEA)
    assert second["expiresAt"] == at(605)
    wallet.advance(600)
    records = wallet.all_records()
    assert statuses(records, "T2")[-1] == "FAILURE"  # the shorter window is the one applied
    assert statuses(records, "T1")[-1] == "PENDING_TRANSFER"


# -- W5 --------------------------------------------------------------------------------------------


def test_w5_accept_needs_a_profile_then_moves_the_ticket(wallet):
    wallet.inject(ticket_payload("T1", ANA))
    my_tickets(wallet, ANA)
    transfer = start(wallet, ANA, "T1", BEA)
    wallet.token(BEA)  # Bea signs in: an account with an e-mail only
    assert_conflict(wallet.act(BEA, transfer["transferId"], "accept"), "PROFILE_INCOMPLETE")
    response = wallet.as_spectator(BEA, "PUT", "/spectator/profile", json={"firstName": "Bea", "lastName": " "})
    assert response.status_code == 422, response.text  # a blank name is refused
    wallet.profile(BEA, first="Bea", last="Cruz")
    response = wallet.as_spectator(BEA, "PUT", "/spectator/profile", json={"lastName": None})
    assert response.status_code == 200 and response.json()["lastName"] is None
    assert_conflict(wallet.act(BEA, transfer["transferId"], "accept"), "PROFILE_INCOMPLETE")
    assert statuses(wallet.all_records())[-1] == "PENDING_TRANSFER"

    wallet.profile(BEA, first="Bea", last="Cruz")
    wallet.advance(30)
    response = wallet.act(BEA, transfer["transferId"], "accept")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "ACCEPTED"
    assert "T1" in my_tickets(wallet, BEA) and "T1" not in my_tickets(wallet, ANA)
    records = wallet.all_records()
    moved = [r for r in records if r["status"] == "TRANSFERRED"][0]
    assert moved["transferLevel"] == 1 and moved["occurredAt"] == at(30)
    # W10: accepted, not yet opened: the organizer is given Bea's e-mail only
    assert moved["walletOwner"]["email"] == BEA
    assert (moved["walletOwner"]["firstName"], moved["walletOwner"]["lastName"]) == (None, None)
    assert moved["transfer"]["transferId"] == transfer["transferId"]
    assert moved["transfer"]["direction"] == "FORWARD" and moved["transfer"]["failureReason"] is None
    # the recipient's listing (above) opened it: DOWNLOADED, the first record with Bea's profile (W10)
    assert statuses(records, "T1") == ["INJECTED", "DOWNLOADED", "PENDING_TRANSFER", "TRANSFERRED", "DOWNLOADED"]
    opened = records[-1]
    assert (opened["walletOwner"]["firstName"], opened["walletOwner"]["lastName"]) == ("Bea", "Cruz")

    # the previous owner is remembered: Bea's transfer back to Ana is BACKWARD
    assert start(wallet, BEA, "T1", ANA)["direction"] == "BACKWARD"
    assert wallet.detail("T1")["transferLevel"] == 0


def test_w5_chain_of_accepts_raises_the_transfer_level(wallet):
    wallet.inject(ticket_payload("T1", ANA))
    wallet.profile(BEA)
    wallet.profile(CID)
    for sender, recipient in ((ANA, BEA), (BEA, CID)):
        transfer = start(wallet, sender, "T1", recipient)
        assert wallet.act(recipient, transfer["transferId"], "accept").status_code == 200
    assert [r["transferLevel"] for r in wallet.all_records() if r["status"] == "TRANSFERRED"] == [1, 2]
    detail = wallet.detail("T1")
    assert detail["originalSpectatorEmail"] == ANA and detail["walletOwner"]["email"] == CID


# -- W6 --------------------------------------------------------------------------------------------


def test_w6_reject_and_cancel_fail_the_transfer(wallet):
    wallet.inject(ticket_payload("T1", ANA), ticket_payload("T2", ANA))
    rejected = start(wallet, ANA, "T1", BEA)
    cancelled = start(wallet, ANA, "T2", BEA)
    wallet.advance(5)
    response = wallet.act(BEA, rejected["transferId"], "reject")
    assert response.status_code == 200, response.text
    assert (response.json()["status"], response.json()["failureReason"]) == ("REJECTED", "REJECTED")
    response = wallet.act(ANA, cancelled["transferId"], "cancel")
    assert response.status_code == 200, response.text
    assert response.json()["failureReason"] == "CANCELLED_BY_SENDER"

    records = wallet.all_records()
    for ticket_id, transfer, reason in (("T1", rejected, "REJECTED"), ("T2", cancelled, "CANCELLED_BY_SENDER")):
        last = [r for r in records if r["ticketId"] == ticket_id][-1]
        assert last["status"] == "FAILURE_TRANSFER" and last["occurredAt"] == at(5)
        assert last["transfer"]["transferId"] == transfer["transferId"]
        assert last["transfer"]["failureReason"] == reason
        assert last["walletOwner"]["email"] == ANA and last["transferLevel"] == 0
    assert set(my_tickets(wallet, ANA)) == {"T1", "T2"}
    assert my_tickets(wallet, ANA)["T1"]["pendingTransfer"] is None
    # a failed transfer frees the ticket for a new one
    assert start(wallet, ANA, "T1", CID)["status"] == "PENDING"


def test_w6_timeout_is_materialized_at_expires_at_by_the_feed(wallet):
    wallet.inject(ticket_payload("T1", ANA))
    wallet.profile(BEA)
    transfer = start(wallet, ANA, "T1", BEA)
    _, key = new_records(wallet, None)

    wallet.advance(3599)
    records, key = new_records(wallet, key)
    assert records == []
    listed = wallet.as_spectator(BEA, "GET", "/spectator/transfers").json()["items"]
    assert [(t["transferId"], t["status"]) for t in listed] == [(transfer["transferId"], "PENDING")]

    wallet.advance(1)  # nobody acts; the next read of the feed shows the time-out
    [record], key = new_records(wallet, key)
    assert record["status"] == "FAILURE"
    assert record["occurredAt"] == transfer["expiresAt"] == at(3600)
    assert record["transfer"]["transferId"] == transfer["transferId"]
    assert record["transfer"]["failureReason"] == "TIMEOUT"
    assert record["walletOwner"]["email"] == ANA

    for email, action in ((BEA, "accept"), (BEA, "reject"), (ANA, "cancel")):
        assert_conflict(wallet.act(email, transfer["transferId"], action), "TRANSFER_NOT_PENDING")
    assert new_records(wallet, key)[0] == []  # refusals write nothing
    assert "T1" in my_tickets(wallet, ANA) and "T1" not in my_tickets(wallet, BEA)


def test_w6_late_reads_still_time_out_at_expires_at(wallet):
    wallet.inject(ticket_payload("T1", ANA), ticket_payload("T2", ANA))
    wallet.profile(BEA)
    first = start(wallet, ANA, "T1", BEA)
    wallet.advance(1800)
    second = start(wallet, ANA, "T2", BEA)
    wallet.advance(3 * 86400)  # long after both windows; the first action is Bea's accept of the first
    assert_conflict(wallet.act(BEA, first["transferId"], "accept"), "TRANSFER_NOT_PENDING")
    failures = [r for r in wallet.all_records() if r["status"] == "FAILURE"]
    assert [(r["ticketId"], r["occurredAt"]) for r in failures] == [
        ("T1", first["expiresAt"]), ("T2", second["expiresAt"])]
    assert [r["transfer"]["failureReason"] for r in failures] == ["TIMEOUT", "TIMEOUT"]


# -- W7 --------------------------------------------------------------------------------------------


def test_w7_organizer_transfer_is_immediate(wallet):
    wallet.inject(ticket_payload("T1", ANA, max_transfers=0), ticket_payload("T2", ANA))
    wallet.advance(7)
    response = organizer(wallet, "POST", "/organizer/tickets/T1/transfer",
                         json={"recipientEmail": BEA, "reason": "seat change"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["status"], body["direction"], body["resolvedAt"]) == ("ACCEPTED", "FORWARD", at(7))
    last = wallet.all_records()[-1]
    assert last["status"] == "TRANSFERRED" and last["occurredAt"] == at(7) and last["transferLevel"] == 1
    assert last["walletOwner"]["email"] == BEA
    assert last["transfer"]["initiatedBy"] == "ORGANIZER" and last["transfer"]["expiresAt"] is None
    assert last["transfer"]["transferId"] == body["transferId"]
    assert "T1" in my_tickets(wallet, BEA) and "T1" not in my_tickets(wallet, ANA)

    # back to the previous owner: BACKWARD; to the current owner: refused
    response = organizer(wallet, "POST", "/organizer/tickets/T1/transfer", json={"recipientEmail": ANA, "reason": "x"})
    assert response.json()["direction"] == "BACKWARD"
    assert_conflict(organizer(wallet, "POST", "/organizer/tickets/T1/transfer",
                              json={"recipientEmail": ANA, "reason": "x"}), "RECIPIENT_IS_SENDER")
    # a pending spectator transfer blocks it
    start(wallet, ANA, "T2", CID)
    assert_conflict(organizer(wallet, "POST", "/organizer/tickets/T2/transfer",
                              json={"recipientEmail": BEA, "reason": "x"}), "TRANSFER_ALREADY_PENDING")


# -- W8 --------------------------------------------------------------------------------------------


def test_w8_control_fails_a_pending_transfer_first(wallet):
    wallet.inject(ticket_payload("T1", ANA), ticket_payload("T2", ANA))
    transfer = start(wallet, ANA, "T1", BEA)
    _, key = new_records(wallet, None)
    wallet.advance(3)
    assert control(wallet, "T1", "T2", "NOPE") == {"T1": "CONTROLLED", "T2": "CONTROLLED", "NOPE": "NOT_FOUND"}
    records, key = new_records(wallet, key)
    assert [(r["ticketId"], r["status"]) for r in records if r["ticketId"] == "T1"] == [
        ("T1", "FAILURE"), ("T1", "CONTROLLED")]
    failure = records[0]
    assert failure["transfer"]["transferId"] == transfer["transferId"]
    assert failure["transfer"]["failureReason"] == "TICKET_CONTROLLED" and failure["occurredAt"] == at(3)
    assert statuses(records, "T2") == ["CONTROLLED"]

    wallet.profile(BEA)
    assert_conflict(wallet.act(BEA, transfer["transferId"], "accept"), "TRANSFER_NOT_PENDING")
    assert_conflict(wallet.transfer(ANA, "T1", BEA), "TICKET_CONTROLLED")
    assert_conflict(organizer(wallet, "POST", "/organizer/tickets/T1/transfer",
                              json={"recipientEmail": BEA, "reason": "x"}), "TICKET_CONTROLLED")
    assert control(wallet, "T1") == {"T1": "UNCHANGED"}  # controlling again writes nothing
    assert new_records(wallet, key)[0] == []


def test_w8_delete_pending_then_deleted_on_next_sync(wallet):
    wallet.inject(ticket_payload("T1", ANA), ticket_payload("T2", ANA), ticket_payload("T3", ANA),
                  ticket_payload("T4", BEA), ticket_payload("T5", BEA))
    my_tickets(wallet, ANA)  # T1-T3 downloaded; T4, T5 never downloaded
    transfer = start(wallet, ANA, "T1", CID)
    _, key = new_records(wallet, None)
    wallet.advance(2)

    assert delete(wallet, ("T1", True), ("T3", False), ("T4", True), ("T5", False)) == {
        "T1": "DELETION_PENDING", "T3": "DELETION_PENDING", "T4": "DELETED", "T5": "DELETED"}
    records, key = new_records(wallet, key)
    assert [(r["ticketId"], r["status"]) for r in records] == [
        ("T1", "FAILURE"), ("T1", "DELETION_PENDING"), ("T3", "DELETION_PENDING"), ("T4", "DELETED"),
        ("T5", "DELETED")]
    assert records[0]["transfer"]["transferId"] == transfer["transferId"]
    assert records[0]["transfer"]["failureReason"] == "TICKET_DELETED"
    assert_conflict(wallet.act(CID, transfer["transferId"], "reject"), "TRANSFER_NOT_PENDING")
    assert delete(wallet, ("T1", True)) == {"T1": "UNCHANGED"}

    # the owner's next sync turns DELETION_PENDING into DELETED; showDeletedTicket false hides it
    wallet.advance(2)
    listed = my_tickets(wallet, ANA)
    assert {t: item["status"] for t, item in listed.items()} == {"T1": "DELETED", "T2": "DOWNLOADED"}
    records, key = new_records(wallet, key)
    assert sorted((r["ticketId"], r["status"], r["occurredAt"]) for r in records) == [
        ("T1", "DELETED", at(4)), ("T3", "DELETED", at(4))]
    assert {t: item["status"] for t, item in my_tickets(wallet, BEA).items()} == {"T4": "DELETED"}
    assert new_records(wallet, key)[0] == []  # listing again writes nothing
    assert_conflict(wallet.transfer(ANA, "T1", CID), "TICKET_DELETED")
    assert_conflict(wallet.transfer(BEA, "T4", CID), "TICKET_DELETED")
    response = organizer(wallet, "POST", "/organizer/tickets/control", json={"tickets": [{"ticketId": "T1"}]})
    assert response.json()["results"] == [{"ticketId": "T1", "result": "REFUSED", "error": "TICKET_DELETED"}]


# -- W9 and the rest of the organizer contract -----------------------------------------------------


def test_w9_sandbox_endpoints_only_exist_in_sandbox_mode(wallet):
    response = organizer(wallet, "GET", "/sandbox/clock")
    assert response.status_code == 200 and response.json() == {"now": at(0)}
    response = organizer(wallet, "POST", "/sandbox/clock/advance", json={"seconds": 90})
    assert response.json() == {"now": at(90)}

    engine = wallet.client.app.state.engine
    with TestClient(create_wallet_app(engine, sandbox=False)) as plain:
        for method, path, body in (("GET", "/sandbox/clock", None), ("POST", "/sandbox/clock/advance", {"seconds": 1})):
            response = plain.request(method, path, json=body, auth=wallet.auth)
            assert response.status_code == 404, response.text
            assert response.json()["error"]["code"] == "NOT_FOUND"
        response = plain.post("/spectator/session", json={"email": ANA})
        assert response.status_code in (401, 403, 404), response.text
        assert "token" not in response.json() and response.json()["error"]["code"]
        # the organizer API is the same, on the real clock
        assert plain.get("/organizer/settings", auth=wallet.auth).status_code == 200
        response = plain.post("/organizer/tickets", auth=wallet.auth, json={"tickets": [ticket_payload("T1", ANA)]})
        assert response.json()["results"][0]["result"] == "INJECTED"
    occurred = datetime.fromisoformat(wallet.all_records()[-1]["occurredAt"])
    assert abs((occurred - datetime.now(UTC)).total_seconds()) < 60


def test_ticket_detail_returns_the_status_log(wallet):
    wallet.inject(ticket_payload("T1", ANA))
    wallet.profile(BEA)
    my_tickets(wallet, ANA)
    transfer = start(wallet, ANA, "T1", BEA)
    wallet.act(BEA, transfer["transferId"], "accept")
    detail = wallet.detail("T1")
    assert detail["ticketId"] == "T1" and detail["status"] == "TRANSFERRED"
    assert detail["walletOwner"]["email"] == BEA and detail["transferLevel"] == 1
    assert detail["pendingTransfer"] is None
    feed = wallet.all_records()
    assert detail["statusLog"] == feed
    assert [r["status"] for r in detail["statusLog"]] == ["INJECTED", "DOWNLOADED", "PENDING_TRANSFER", "TRANSFERRED"]

    response = organizer(wallet, "GET", "/organizer/tickets/NOPE")
    assert response.status_code == 404 and response.json()["error"]["code"] == "TICKET_NOT_FOUND"


def test_ticket_detail_materializes_an_overdue_expiry(wallet):
    wallet.inject(ticket_payload("T1", ANA))
    transfer = start(wallet, ANA, "T1", BEA)
    assert wallet.detail("T1")["pendingTransfer"]["transferId"] == transfer["transferId"]
    wallet.advance(3600)
    detail = wallet.detail("T1")
    assert detail["pendingTransfer"] is None and detail["status"] == "FAILURE"
    assert detail["statusLog"][-1]["occurredAt"] == at(3600)


def test_acceptance_not_required_makes_a_forward_transfer_immediate(wallet):
    wallet.inject(ticket_payload("T1", ANA))
    response = organizer(wallet, "PUT", "/organizer/settings", json={"acceptanceRequired": False})
    assert response.json() == {"transferTimeoutSeconds": 3600, "acceptanceRequired": False}
    transfer = start(wallet, ANA, "T1", BEA)  # Bea has no profile and never signed in
    assert transfer["direction"] == "FORWARD" and transfer["expiresAt"] is None
    assert transfer["status"] != "PENDING"
    assert statuses(wallet.all_records()) == ["INJECTED", "TRANSFERRED"]
    last = wallet.all_records()[-1]
    assert last["walletOwner"]["email"] == BEA and last["transferLevel"] == 1
    assert "T1" in my_tickets(wallet, BEA) and "T1" not in my_tickets(wallet, ANA)


def test_w8_delete_after_the_new_owner_synced_waits_for_its_app(wallet):
    """A transferred ticket that the new owner's app listed is on that app: deleting it is DELETION_PENDING."""
    wallet.inject(ticket_payload("T1", ANA), ticket_payload("T2", ANA))
    assert control(wallet, "T2") == {"T2": "CONTROLLED"}
    my_tickets(wallet, ANA)  # T1 downloaded; T2 (controlled, never listed) is now on Ana's app too
    response = organizer(wallet, "POST", "/organizer/tickets/T1/transfer", json={"recipientEmail": BEA, "reason": "x"})
    assert response.status_code == 200, response.text
    assert set(my_tickets(wallet, BEA)) == {"T1"}  # Bea's app syncs: the ticket is on it now
    assert delete(wallet, ("T1", True), ("T2", True)) == {"T1": "DELETION_PENDING", "T2": "DELETION_PENDING"}
    assert my_tickets(wallet, BEA)["T1"]["status"] == "DELETED"
    assert my_tickets(wallet, ANA)["T2"]["status"] == "DELETED"
