"""W11: a pagination key names the wallet instance and the organizer it was issued to; the wallet refuses
another wallet's key, another organizer's, one beyond the organizer's newest record and a malformed one
(422 INVALID_CURSOR). Before W11 a key was ``base64("v1:<recordId>")`` and the wallet honoured any."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from tests.support.wallet import run, ticket_payload
from tixtrace.kernel.cursors import encode_cursor
from tixtrace.kernel.db import unit_of_work
from tixtrace.wallet.services import feed
from tixtrace.wallet.services.organizers import create_organizer

ANA = "ana@example.com"
DIFF = "/organizer/tickets/diff"


def _raw(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _refused(response: Any, reason: str | None = None) -> dict[str, Any]:
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "INVALID_CURSOR", error
    assert error["details"]["parameter"] == "paginationKey"
    if reason is not None:
        assert error["details"]["reason"] == reason, error
    return dict(error)


def _organizer_id(wallet: Any) -> int:
    """The wallet organizer's id, as its own keys name it."""
    key = wallet.diff()["paginationKey"]
    raw = base64.urlsafe_b64decode(key + "=" * (-len(key) % 4)).decode()
    return int(raw.split(":")[2])


def _instance(wallet: Any) -> str:
    wallet.diff()
    with unit_of_work(wallet.client.app.state.engine, write=False) as conn:
        instance = feed.instance_id(conn)
    assert instance is not None and len(instance) == 32
    return instance


def test_keys_name_the_wallet_and_the_organizer(wallet):
    wallet.inject(ticket_payload("T1", ANA), ticket_payload("T2", ANA))
    page = wallet.diff(batch_size=1)
    key = page["paginationKey"]
    raw = base64.urlsafe_b64decode(key + "=" * (-len(key) % 4)).decode()
    assert raw == f"v2:{_instance(wallet)}:{_organizer_id(wallet)}:{page['records'][0]['recordId']}"
    rest = wallet.diff(key)
    assert [r["ticketId"] for r in rest["records"]] == ["T2"]
    assert _instance(wallet) == _instance(wallet)  # created once, by the first read, then kept


def test_another_organizers_key_is_refused(wallet):
    wallet.inject(ticket_payload("T1", ANA), ticket_payload("T2", ANA))
    a_key = wallet.diff(batch_size=1)["paginationKey"]
    org_b, key_b = run(wallet.client.app.state.engine, create_organizer, wallet.clock, "org-b@other.example")
    response = wallet.client.get(DIFF, params={"paginationKey": a_key}, auth=(org_b.email, key_b))
    _refused(response, "OTHER_ORGANIZER")
    # B's own empty feed still reads
    page = wallet.client.get(DIFF, auth=(org_b.email, key_b)).json()
    assert page["records"] == []


def test_another_wallets_key_is_refused(wallet):
    """A key another wallet issued (the same organizer id and a record id this wallet has, but another
    instance): exactly what a back office moved to this wallet would send."""
    wallet.inject(ticket_payload("T1", ANA), ticket_payload("T2", ANA))
    first = wallet.diff(batch_size=1)["records"][0]["recordId"]
    other = "0" * 32 if _instance(wallet) != "0" * 32 else "1" * 32
    error = _refused(wallet.client.get(DIFF, params={"paginationKey": feed.encode_key(
        other, _organizer_id(wallet), first)}, auth=wallet.auth), "OTHER_WALLET")
    assert "another wallet" in error["message"]


def test_a_key_beyond_the_newest_record_is_refused(wallet):
    wallet.inject(ticket_payload("T1", ANA))
    page = wallet.diff()
    newest = page["records"][-1]["recordId"]
    instance, organizer = _instance(wallet), _organizer_id(wallet)
    assert wallet.diff(feed.encode_key(instance, organizer, newest))["records"] == []  # the end itself is fine
    for beyond in (newest + 1, 2**63 - 1):
        error = _refused(wallet.client.get(DIFF, params={"paginationKey": feed.encode_key(
            instance, organizer, beyond)}, auth=wallet.auth), "BEYOND_NEWEST")
        assert error["details"]["newestRecordId"] == newest
    # a v1 key of before W11 too: it is honoured only up to the newest record
    _refused(wallet.client.get(DIFF, params={"paginationKey": encode_cursor(newest + 1)}, auth=wallet.auth),
             "BEYOND_NEWEST")


@pytest.mark.parametrize("raw", [
    "v2:", "v2:abc:1:1", "v2:" + "g" * 32 + ":1:1", "v2:" + "a" * 32 + ":1", "v2:" + "a" * 32 + ":1:1:1",
    "v2:" + "a" * 32 + ":-1:1", "v2:" + "a" * 32 + ":1:-1", "v2:" + "a" * 32 + ":1:1.5",
    "v2:" + "A" * 32 + ":1:1", "v2:" + "a" * 32 + ":1:" + "9" * 19, "v2:" + "a" * 32 + ": 1:1", "v3:1", "1",
])
def test_a_malformed_key_is_refused(wallet, raw):
    wallet.inject(ticket_payload("T1", ANA))
    error = _refused(wallet.client.get(DIFF, params={"paginationKey": _raw(raw)}, auth=wallet.auth))
    assert "not a value this wallet issued" in error["message"]


def test_a_v1_key_of_before_w11_is_honoured_once_then_replaced(wallet):
    """docs/decisions.md: a back office that stored a v1 key before the upgrade goes on where it was;
    the page answers a v2 key."""
    wallet.inject(ticket_payload("T1", ANA), ticket_payload("T2", ANA))
    records = wallet.diff()["records"]
    page = wallet.diff(encode_cursor(records[0]["recordId"]))
    assert [r["ticketId"] for r in page["records"]] == ["T2"]
    key = page["paginationKey"]
    assert base64.urlsafe_b64decode(key + "=" * (-len(key) % 4)).decode().startswith("v2:")

