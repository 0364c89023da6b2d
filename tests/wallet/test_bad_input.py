"""Bad input of any kind gets a clear 4xx with the error envelope, never a 5xx (DESIGN sections 7, 10).

A table of malformed requests for every POST/PUT endpoint and the paged GETs, then hypothesis posting
random JSON (and valid payloads with one part replaced by random JSON) to each endpoint.
"""

from __future__ import annotations

import base64
import copy
import itertools
import json
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.wallet import ticket_payload
from tixtrace.kernel.cursors import encode_cursor

ANA, BEA, CID = "ana@example.com", "bea@example.com", "cid@example.com"
JSON = {"content-type": "application/json"}


def raw_cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def full_ticket(ticket_id: str, email: str) -> dict[str, Any]:
    """A ticket with every optional field of the injection contract filled."""
    payload = ticket_payload(ticket_id, email, max_transfers=3)
    payload["event"]["expirationDate"] = "2026-06-12T02:00:00Z"
    payload["purchaseDetails"]["purchaseDate"] = "2026-01-05T10:00:00Z"
    payload["spectatorDetails"].update({
        "title": "Ms", "dateOfBirth": "1990-04-02", "nationality": "BR", "idCardNumber": "X123",
        "phoneNumber": "+55 11 5555 0000", "residenceCountry": "BRA", "language": "pt",
        "organizerSpectatorPreference": {"allowPromoEmail": True, "allowThirdPartyEmail": False},
    })
    return payload


PROFILE = {"title": "Mr", "firstName": "Bea", "lastName": "Cruz", "dateOfBirth": "1991-02-03", "nationality": "PT",
           "idCardNumber": "P1", "phoneNumber": "+351 1", "residenceCountry": "PRT", "language": "pt",
           "organizerSpectatorPreference": {"allowPromoEmail": False, "allowThirdPartyEmail": False}}


@pytest.fixture
def ready(wallet):
    """Ana owns T1 (pending transfer to Bea) and T2 (never listed); Bea has a complete profile."""
    wallet.inject(ticket_payload("T1", ANA), ticket_payload("T2", ANA))
    response = wallet.transfer(ANA, "T1", BEA)
    assert response.status_code == 201, response.text
    wallet.transfer_id = response.json()["transferId"]
    wallet.profile(BEA)
    return wallet


def send(wallet: Any, who: str, method: str, path: str, **kwargs: Any) -> Any:
    if who == "org":
        return wallet.client.request(method, path, auth=wallet.auth, **kwargs)
    token = wallet.token(ANA if who == "ana" else BEA)
    headers = {**kwargs.pop("headers", {}), "Authorization": f"Bearer {token}"}
    return wallet.client.request(method, path, headers=headers, **kwargs)


def problem(response: Any) -> str | None:
    """Why ``response`` is not a clean 4xx with the error envelope, or None when it is."""
    if not 400 <= response.status_code < 500:
        return f"status {response.status_code}: {response.text[:300]}"
    try:
        error = response.json()["error"]
        assert isinstance(error["code"], str) and error["code"]
        assert isinstance(error["message"], str) and error["message"]
        assert isinstance(error["details"], dict)
    except Exception:
        return f"no error envelope: {response.text[:300]}"
    return None


def attempt(call: Any, *args: Any, **kwargs: Any) -> str | None:
    """``problem`` of the response of ``call(...)``; an exception escaping the app counts as a 500."""
    try:
        return problem(call(*args, **kwargs))
    except Exception as exc:  # the TestClient re-raises what the server did not handle
        return f"server raised {type(exc).__name__}: {exc}"


def assert_clean_4xx(response: Any, code: str | None = None) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    error = response.json()["error"]
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["details"], dict)
    if code is not None:
        assert error["code"] == code, error


DIFF = "/organizer/tickets/diff"

# (who, method, path, a valid body) for every endpoint that takes a JSON body
BODY_ENDPOINTS = [
    ("org", "POST", "/organizer/tickets", {"tickets": [ticket_payload("N1", CID)]}),
    ("org", "POST", "/organizer/tickets/delete", {"tickets": [{"ticketId": "T2", "showDeletedTicket": True}]}),
    ("org", "POST", "/organizer/tickets/control", {"tickets": [{"ticketId": "T2"}]}),
    ("org", "POST", "/organizer/tickets/T2/transfer", {"recipientEmail": CID, "reason": "r"}),
    ("org", "PUT", "/organizer/settings", {"transferTimeoutSeconds": 600}),
    ("org", "POST", "/sandbox/clock/advance", {"seconds": 1}),
    ("anon", "POST", "/spectator/session", {"email": CID}),
    ("ana", "PUT", "/spectator/profile", {"firstName": "Ana"}),
    ("ana", "POST", "/spectator/tickets/T2/holder", {"firstName": "Carla", "lastName": "Diaz"}),
    ("ana", "POST", "/spectator/tickets/T2/transfers", {"recipientEmail": CID}),
]

# bodies that are wrong for every one of them
GENERIC_BAD = [
    ("invalid JSON text", {"content": b'{"tickets": [', "headers": JSON}),
    ("JSON with a trailing comma", {"content": b'{"email": "a@b.cc",}', "headers": JSON}),
    ("not UTF-8", {"content": b'{"email": "\xff\xfe"}', "headers": JSON}),
    ("empty body", {"content": b"", "headers": JSON}),
    ("no body at all", {}),
    ("a JSON array", {"json": []}),
    ("a JSON string", {"json": "tickets"}),
    ("a JSON number", {"json": 42}),
    ("JSON null", {"json": None}),
    ("an empty object", {"json": {}}),
    ("an unknown field only", {"json": {"surprise": 1}}),
    ("form content", {"content": b"email=a%40b.cc", "headers": {"content-type": "application/x-www-form-urlencoded"}}),
    ("plain text", {"content": b"hello", "headers": {"content-type": "text/plain"}}),
]


def _send_anon_or(wallet: Any, who: str, method: str, path: str, **kwargs: Any) -> Any:
    if who == "anon":
        return wallet.client.request(method, path, **kwargs)
    return send(wallet, who, method, path, **kwargs)


def test_generic_bad_bodies(ready):
    """Every endpoint with a JSON body, every body that is wrong for all of them."""
    before = ready.all_records()
    failures = []
    for who, method, path, valid in BODY_ENDPOINTS:
        for name, kwargs in GENERIC_BAD:
            if name == "an empty object" and path in ("/organizer/settings", "/spectator/profile"):
                continue  # all fields optional there: {} is a valid "change nothing"
            why = attempt(_send_anon_or, ready, who, method, path, **kwargs)
            if why:
                failures.append((method, path, name, why))
        # an unknown field next to valid ones is refused too, and named
        response = _send_anon_or(ready, who, method, path, json={**valid, "unexpected": True})
        if problem(response) or response.json()["error"]["code"] != "INVALID_INPUT" or "unexpected" not in (
                response.json()["error"]["message"] + json.dumps(response.json()["error"]["details"])):
            failures.append((method, path, "unknown field", response.text[:300]))
    assert failures == []
    assert ready.all_records() == before  # nothing half-written


def _many(item: dict[str, Any], n: int = 10_001) -> list[dict[str, Any]]:
    return [item] * n


SPECIFIC_BAD: list[tuple[str, str, str, str, dict[str, Any]]] = [
    # injection: the request itself is refused (per-item problems are REJECTED results, see below)
    ("inject: tickets missing", "org", "POST", "/organizer/tickets", {"json": {"ticket": []}}),
    ("inject: empty list", "org", "POST", "/organizer/tickets", {"json": {"tickets": []}}),
    ("inject: not a list", "org", "POST", "/organizer/tickets", {"json": {"tickets": {"ticketId": "x"}}}),
    ("inject: items not objects", "org", "POST", "/organizer/tickets", {"json": {"tickets": [1, "x", None]}}),
    ("inject: 10,001 items", "org", "POST", "/organizer/tickets", {"json": {"tickets": _many({})}}),
    # delete
    ("delete: empty list", "org", "POST", "/organizer/tickets/delete", {"json": {"tickets": []}}),
    ("delete: showDeletedTicket missing", "org", "POST", "/organizer/tickets/delete",
     {"json": {"tickets": [{"ticketId": "T1"}]}}),
    ("delete: showDeletedTicket not a bool", "org", "POST", "/organizer/tickets/delete",
     {"json": {"tickets": [{"ticketId": "T1", "showDeletedTicket": "maybe"}]}}),
    ("delete: ticketId empty", "org", "POST", "/organizer/tickets/delete",
     {"json": {"tickets": [{"ticketId": "", "showDeletedTicket": True}]}}),
    ("delete: ticketId a number", "org", "POST", "/organizer/tickets/delete",
     {"json": {"tickets": [{"ticketId": 7, "showDeletedTicket": True}]}}),
    ("delete: ticketId too long", "org", "POST", "/organizer/tickets/delete",
     {"json": {"tickets": [{"ticketId": "x" * 101, "showDeletedTicket": True}]}}),
    ("delete: unknown item field", "org", "POST", "/organizer/tickets/delete",
     {"json": {"tickets": [{"ticketId": "T1", "showDeletedTicket": True, "force": True}]}}),
    ("delete: reason too long", "org", "POST", "/organizer/tickets/delete",
     {"json": {"tickets": [{"ticketId": "T1", "showDeletedTicket": True, "reason": "r" * 501}]}}),
    ("delete: 10,001 items", "org", "POST", "/organizer/tickets/delete",
     {"json": {"tickets": _many({"ticketId": "T1", "showDeletedTicket": True})}}),
    # control
    ("control: empty list", "org", "POST", "/organizer/tickets/control", {"json": {"tickets": []}}),
    ("control: ticketId null", "org", "POST", "/organizer/tickets/control",
     {"json": {"tickets": [{"ticketId": None}]}}),
    ("control: controlledAt not a time", "org", "POST", "/organizer/tickets/control",
     {"json": {"tickets": [{"ticketId": "T1", "controlledAt": "yesterday"}]}}),
    ("control: 10,001 items", "org", "POST", "/organizer/tickets/control",
     {"json": {"tickets": _many({"ticketId": "T1"})}}),
    # organizer transfer
    ("org transfer: reason missing", "org", "POST", "/organizer/tickets/T2/transfer",
     {"json": {"recipientEmail": CID}}),
    ("org transfer: reason blank", "org", "POST", "/organizer/tickets/T2/transfer",
     {"json": {"recipientEmail": CID, "reason": "   "}}),
    ("org transfer: bad e-mail", "org", "POST", "/organizer/tickets/T2/transfer",
     {"json": {"recipientEmail": "cid at example", "reason": "r"}}),
    ("org transfer: e-mail a number", "org", "POST", "/organizer/tickets/T2/transfer",
     {"json": {"recipientEmail": 5, "reason": "r"}}),
    ("org transfer: e-mail with NUL", "org", "POST", "/organizer/tickets/T2/transfer",
     {"json": {"recipientEmail": "c\x00d@example.com", "reason": "r"}}),
    ("org transfer: reason with NUL", "org", "POST", "/organizer/tickets/T2/transfer",
     {"json": {"recipientEmail": CID, "reason": "r\x00"}}),
    # settings
    ("settings: timeout 0", "org", "PUT", "/organizer/settings", {"json": {"transferTimeoutSeconds": 0}}),
    ("settings: timeout negative", "org", "PUT", "/organizer/settings", {"json": {"transferTimeoutSeconds": -3600}}),
    ("settings: timeout huge", "org", "PUT", "/organizer/settings", {"json": {"transferTimeoutSeconds": 10**30}}),
    ("settings: timeout a word", "org", "PUT", "/organizer/settings", {"json": {"transferTimeoutSeconds": "1h"}}),
    ("settings: timeout fractional", "org", "PUT", "/organizer/settings", {"json": {"transferTimeoutSeconds": 600.5}}),
    ("settings: acceptance a word", "org", "PUT", "/organizer/settings", {"json": {"acceptanceRequired": "maybe"}}),
    # sandbox clock
    ("clock: negative", "org", "POST", "/sandbox/clock/advance", {"json": {"seconds": -1}}),
    ("clock: a word", "org", "POST", "/sandbox/clock/advance", {"json": {"seconds": "soon"}}),
    ("clock: missing", "org", "POST", "/sandbox/clock/advance", {"json": {}}),
    ("clock: a thousand years", "org", "POST", "/sandbox/clock/advance", {"json": {"seconds": 1000 * 365 * 86400}}),
    ("clock: NaN", "org", "POST", "/sandbox/clock/advance", {"content": b'{"seconds": NaN}', "headers": JSON}),
    ("clock: Infinity", "org", "POST", "/sandbox/clock/advance",
     {"content": b'{"seconds": Infinity}', "headers": JSON}),
    ("clock: huge integer", "org", "POST", "/sandbox/clock/advance", {"json": {"seconds": 10**400}}),
    # session
    ("session: e-mail missing", "anon", "POST", "/spectator/session", {"json": {}}),
    ("session: not an e-mail", "anon", "POST", "/spectator/session", {"json": {"email": "not-an-email"}}),
    ("session: no domain dot", "anon", "POST", "/spectator/session", {"json": {"email": "a@b"}}),
    ("session: space inside", "anon", "POST", "/spectator/session", {"json": {"email": "a b@c.de"}}),
    ("session: two @", "anon", "POST", "/spectator/session", {"json": {"email": "a@b@c.de"}}),
    ("session: empty", "anon", "POST", "/spectator/session", {"json": {"email": ""}}),
    ("session: a number", "anon", "POST", "/spectator/session", {"json": {"email": 12}}),
    ("session: a list", "anon", "POST", "/spectator/session", {"json": {"email": [ANA]}}),
    ("session: too long", "anon", "POST", "/spectator/session", {"json": {"email": "a" * 400 + "@b.cc"}}),
    ("session: NUL inside", "anon", "POST", "/spectator/session", {"json": {"email": "a\x00b@c.de"}}),
    # profile
    ("profile: e-mail cannot change", "ana", "PUT", "/spectator/profile", {"json": {"email": "new@example.com"}}),
    ("profile: blank first name", "ana", "PUT", "/spectator/profile", {"json": {"firstName": "  "}}),
    ("profile: name too long", "ana", "PUT", "/spectator/profile", {"json": {"lastName": "x" * 101}}),
    ("profile: name a number", "ana", "PUT", "/spectator/profile", {"json": {"firstName": 3}}),
    ("profile: bad date", "ana", "PUT", "/spectator/profile", {"json": {"dateOfBirth": "31/12/1990"}}),
    ("profile: bad country", "ana", "PUT", "/spectator/profile", {"json": {"nationality": "France"}}),
    ("profile: preference half", "ana", "PUT", "/spectator/profile",
     {"json": {"organizerSpectatorPreference": {"allowPromoEmail": True}}}),
    ("profile: NUL in a name", "ana", "PUT", "/spectator/profile", {"json": {"firstName": "A\x00na"}}),
    ("profile: NUL in the title", "ana", "PUT", "/spectator/profile", {"json": {"title": "\x00"}}),
    # holder
    ("holder: last name missing", "ana", "POST", "/spectator/tickets/T2/holder", {"json": {"firstName": "C"}}),
    ("holder: empty first name", "ana", "POST", "/spectator/tickets/T2/holder",
     {"json": {"firstName": "", "lastName": "D"}}),
    ("holder: bad e-mail", "ana", "POST", "/spectator/tickets/T2/holder",
     {"json": {"firstName": "C", "lastName": "D", "email": "nope"}}),
    ("holder: names as objects", "ana", "POST", "/spectator/tickets/T2/holder",
     {"json": {"firstName": {"a": 1}, "lastName": ["D"]}}),
    # spectator transfer
    ("transfer: e-mail missing", "ana", "POST", "/spectator/tickets/T2/transfers", {"json": {}}),
    ("transfer: bad e-mail", "ana", "POST", "/spectator/tickets/T2/transfers", {"json": {"recipientEmail": "nope"}}),
    ("transfer: empty e-mail", "ana", "POST", "/spectator/tickets/T2/transfers", {"json": {"recipientEmail": ""}}),
    ("transfer: e-mail a list", "ana", "POST", "/spectator/tickets/T2/transfers", {"json": {"recipientEmail": [CID]}}),
    ("transfer: e-mail with NUL", "ana", "POST", "/spectator/tickets/T2/transfers",
     {"json": {"recipientEmail": "c\x00d@example.com"}}),
    ("transfer: unknown field", "ana", "POST", "/spectator/tickets/T2/transfers",
     {"json": {"recipientEmail": CID, "message": "enjoy"}}),
    # the paged GETs: batch sizes, pagination keys, cursors, limits
    ("diff: batchSize 0", "org", "GET", DIFF, {"params": {"batchSize": 0}}),
    ("diff: batchSize 10001", "org", "GET", DIFF, {"params": {"batchSize": 10_001}}),
    ("diff: batchSize negative", "org", "GET", DIFF, {"params": {"batchSize": -1}}),
    ("diff: batchSize a word", "org", "GET", DIFF, {"params": {"batchSize": "ten"}}),
    ("diff: batchSize fractional", "org", "GET", DIFF, {"params": {"batchSize": "1.5"}}),
    ("diff: batchSize a float of integer value", "org", "GET", DIFF, {"params": {"batchSize": "120.00"}}),
    ("diff: batchSize huge", "org", "GET", DIFF, {"params": {"batchSize": "9" * 40}}),
    ("diff: key garbage", "org", "GET", DIFF, {"params": {"paginationKey": "garbage"}}),
    ("diff: key punctuation", "org", "GET", DIFF, {"params": {"paginationKey": "!!!***"}}),
    ("diff: key non-ASCII", "org", "GET", DIFF, {"params": {"paginationKey": "ключ\x00"}}),
    ("diff: key too long", "org", "GET", DIFF, {"params": {"paginationKey": "A" * 201}}),
    ("diff: key negative", "org", "GET", DIFF, {"params": {"paginationKey": raw_cursor("v1:-5")}}),
    ("diff: key a string", "org", "GET", DIFF, {"params": {"paginationKey": raw_cursor('v1:"x"')}}),
    ("diff: key a bool", "org", "GET", DIFF, {"params": {"paginationKey": raw_cursor("v1:true")}}),
    ("diff: key a float", "org", "GET", DIFF, {"params": {"paginationKey": raw_cursor("v1:1e400")}}),
    ("diff: key a list", "org", "GET", DIFF, {"params": {"paginationKey": raw_cursor("v1:[1]")}}),
    ("diff: key bad JSON", "org", "GET", DIFF, {"params": {"paginationKey": raw_cursor("v1:{")}}),
    ("diff: key other prefix", "org", "GET", DIFF, {"params": {"paginationKey": raw_cursor("v2:1")}}),
    ("diff: key beyond 64 bits", "org", "GET", DIFF,
     {"params": {"paginationKey": encode_cursor(10**30)}}),
    ("diff: key of 2**63", "org", "GET", DIFF, {"params": {"paginationKey": encode_cursor(2**63)}}),
    ("tickets: cursor garbage", "ana", "GET", "/spectator/tickets", {"params": {"cursor": "garbage"}}),
    ("tickets: cursor beyond 64 bits", "ana", "GET", "/spectator/tickets",
     {"params": {"cursor": encode_cursor(10**20)}}),
    ("tickets: limit 0", "ana", "GET", "/spectator/tickets", {"params": {"limit": 0}}),
    ("tickets: limit 501", "ana", "GET", "/spectator/tickets", {"params": {"limit": 501}}),
    ("transfers: cursor garbage", "bea", "GET", "/spectator/transfers", {"params": {"cursor": "%%%"}}),
    ("transfers: cursor beyond 64 bits", "bea", "GET", "/spectator/transfers",
     {"params": {"cursor": encode_cursor(10**20)}}),
    ("transfers: limit a word", "bea", "GET", "/spectator/transfers", {"params": {"limit": "all"}}),
    ("transfers: limit a float of integer value", "bea", "GET", "/spectator/transfers", {"params": {"limit": "5.0"}}),
    # path parameters no ticket or transfer can have
    ("detail: NUL in the ticket id", "org", "GET", "/organizer/tickets/T%001", {}),
    ("detail: very long ticket id", "org", "GET", "/organizer/tickets/" + "x" * 5000, {}),
    ("org transfer: NUL in the ticket id", "org", "POST", "/organizer/tickets/T%00/transfer",
     {"json": {"recipientEmail": CID, "reason": "r"}}),
    ("holder: NUL in the ticket id", "ana", "POST", "/spectator/tickets/T%00/holder",
     {"json": {"firstName": "C", "lastName": "D"}}),
    ("transfer: NUL in the ticket id", "ana", "POST", "/spectator/tickets/T%00/transfers",
     {"json": {"recipientEmail": CID}}),
    ("accept: NUL in the transfer id", "bea", "POST", "/spectator/transfers/x%00y/accept", {}),
    ("reject: unknown transfer id", "bea", "POST", "/spectator/transfers/" + "9" * 300 + "/reject", {}),
    ("cancel: non-ASCII transfer id", "ana", "POST", "/spectator/transfers/%E2%9C%93/cancel", {}),
]


def test_malformed_requests(ready):
    """The table above: each row is a clean 4xx and writes nothing."""
    before = ready.all_records()
    failures = []
    for name, who, method, path, kwargs in SPECIFIC_BAD:
        why = attempt(_send_anon_or, ready, who, method, path, **kwargs)
        if why:
            failures.append((name, why))
        elif ready.all_records() != before:
            failures.append((name, "wrote lifecycle records"))
            before = ready.all_records()
    assert failures == []


def test_bad_pagination_keys_have_their_own_code(ready):
    for key in ("garbage", raw_cursor("v1:-5"), raw_cursor('v1:"x"'), encode_cursor(10**30)):
        response = send(ready, "org", "GET", DIFF, params={"paginationKey": key})
        assert_clean_4xx(response, "INVALID_CURSOR")
    response = send(ready, "org", "GET", DIFF, params={"batchSize": 0})
    assert_clean_4xx(response, "INVALID_INPUT")
    assert "batchSize" in response.json()["error"]["message"]


def test_a_refused_listing_changes_nothing(ready):
    """A listing refused for its cursor is not a sync: T2 stays INJECTED (no DOWNLOADED record)."""
    response = send(ready, "ana", "GET", "/spectator/tickets", params={"cursor": "garbage"})
    assert_clean_4xx(response, "INVALID_CURSOR")
    assert ready.detail("T2")["status"] == "INJECTED"


def test_invalid_items_are_rejected_one_by_one(ready):
    bad_email = ticket_payload("B1", "not-an-email")
    wrong_type = ticket_payload("B2", CID)
    wrong_type["event"]["startTime"] = "tomorrow"
    unknown = ticket_payload("B3", CID)
    unknown["seat"] = "A1"
    no_id = ticket_payload("B4", CID)
    del no_id["ticketId"]
    numeric_id = ticket_payload("B5", CID)
    numeric_id["ticketId"] = 5
    nul = ticket_payload("B6\x00", CID)
    nul_name = ticket_payload("B7", "b7@example.com", first="Ze\x00")
    negative = ticket_payload("B8", CID, max_transfers=-1)
    results = ready.inject(bad_email, wrong_type, unknown, no_id, numeric_id, nul, nul_name, negative,
                           ticket_payload("OK1", CID))
    assert [r["result"] for r in results] == ["REJECTED"] * 8 + ["INJECTED"]
    assert [r["ticketId"] for r in results] == ["B1", "B2", "B3", None, None, "B6\x00", "B7", "B8", "OK1"]
    assert all(r["error"] for r in results[:8])
    assert [r["ticketId"] for r in ready.all_records()][-1] == "OK1"


# -- hypothesis: random JSON, and valid payloads with one part replaced by random JSON ---------------

#: characters that have broken services: NUL (PostgreSQL text), lone surrogates (valid JSON, not UTF-8)
ODD_TEXT = st.text(st.sampled_from(["\x00", "\ud800", "\udfff", "\u202e", "\x7f", "é", "a", "@", ".", " "]),
                   min_size=1, max_size=6)
LEAVES = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
          | st.text(max_size=30) | ODD_TEXT
          | st.builds(lambda a, b: f"{a}@{b}.cc", st.text(min_size=1, max_size=8), st.text(min_size=1, max_size=8)))
JSON_VALUES = st.recursive(LEAVES, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=12), inner, max_size=4), max_leaves=12)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a node of a JSON value (the root excluded)."""
    found = []
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in items:
        found.append((*prefix, key))
        found += _paths(child, (*prefix, key))
    return found


def _mutate(payload: Any, mutation: tuple[Any, ...]) -> Any:
    kind = mutation[0]
    if kind == "raw":
        return mutation[1]
    payload = copy.deepcopy(payload)
    paths = _paths(payload)
    if not paths:
        return payload
    path = paths[mutation[1] % len(paths)]
    parent = payload
    for key in path[:-1]:
        parent = parent[key]
    if kind == "set":
        parent[path[-1]] = mutation[2]
    elif kind == "drop":
        del parent[path[-1]]
    elif kind == "extra" and isinstance(parent[path[-1]], dict):
        parent[path[-1]][mutation[2]] = mutation[3]
    elif kind == "splice":  # odd characters inside the text of a string leaf (the first one at or after path)
        strings = [p for p in paths[paths.index(path):] + paths if isinstance(_get(payload, p), str)]
        if strings:
            target = _get(payload, strings[0][:-1])
            text = target[strings[0][-1]]
            at = mutation[2] % (len(text) + 1)
            target[strings[0][-1]] = text[:at] + mutation[3] + text[at:]
    return payload


def _get(value: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        value = value[key]
    return value


MUTATIONS = st.one_of(
    st.tuples(st.just("raw"), JSON_VALUES),
    st.tuples(st.just("set"), st.integers(0, 200), JSON_VALUES),
    st.tuples(st.just("set"), st.integers(0, 200), st.text(max_size=12)),
    st.tuples(st.just("drop"), st.integers(0, 200)),
    st.tuples(st.just("extra"), st.integers(0, 200), st.text(max_size=8) | ODD_TEXT, JSON_VALUES),
    st.tuples(st.just("splice"), st.integers(0, 200), st.integers(0, 50), ODD_TEXT),
)


def _fuzz_targets() -> list[tuple[str, str, str, Any]]:
    """(who, method, path template, valid body builder); ``n`` makes each example's ids fresh."""
    return [
        ("org", "POST", "/organizer/tickets", lambda n: {"tickets": [full_ticket(f"H{n}", f"h{n}@example.com")]}),
        ("org", "POST", "/organizer/tickets/delete",
         lambda n: {"tickets": [{"ticketId": f"S{n % 60}", "showDeletedTicket": True, "reason": "r"}]}),
        ("org", "POST", "/organizer/tickets/control",
         lambda n: {"tickets": [{"ticketId": f"S{n % 60}", "controlledAt": "2026-06-11T18:00:00Z"}]}),
        ("org", "POST", "/organizer/tickets/S{n}/transfer", lambda n: {"recipientEmail": CID, "reason": "moved"}),
        ("org", "PUT", "/organizer/settings", lambda n: {"transferTimeoutSeconds": 600, "acceptanceRequired": True}),
        ("org", "POST", "/sandbox/clock/advance", lambda n: {"seconds": 1.5}),
        ("anon", "POST", "/spectator/session", lambda n: {"email": f"s{n}@example.com"}),
        ("ana", "PUT", "/spectator/profile", lambda n: dict(PROFILE)),
        ("ana", "POST", "/spectator/tickets/S{n}/holder", lambda n: {**PROFILE, "email": "h@example.com"}),
        ("ana", "POST", "/spectator/tickets/S{n}/transfers", lambda n: {"recipientEmail": f"r{n}@example.com"}),
        ("bea", "POST", "/spectator/transfers/{tid}/accept", lambda n: {}),
        ("bea", "POST", "/spectator/transfers/{tid}/reject", lambda n: {}),
        ("ana", "POST", "/spectator/transfers/{tid}/cancel", lambda n: {}),
    ]


FUZZ = _fuzz_targets()


@pytest.mark.parametrize("target", range(len(FUZZ)), ids=[f"{m} {p}" for _, m, p, _ in FUZZ])
def test_random_json_never_gets_a_5xx(ready, target):
    who, method, template, build = FUZZ[target]
    ready.inject(*(ticket_payload(f"S{i}", ANA) for i in range(60)))
    counter = itertools.count()

    @settings(max_examples=50, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(mutation=MUTATIONS)
    def check(mutation: tuple[Any, ...]) -> None:
        n = next(counter)
        path = template.format(n=n % 60, tid=ready.transfer_id)
        body = _mutate(build(n), mutation)
        response = _send_anon_or(ready, who, method, path, content=json.dumps(body).encode(), headers=JSON)
        assert response.status_code < 500, (response.status_code, response.text, body)
        if response.status_code >= 400:
            assert_clean_4xx(response)

    check()


@settings(max_examples=50, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ticket_id=st.text(min_size=1, max_size=40))
def test_random_path_parameters_never_get_a_5xx(ready, ticket_id):
    quoted = quote(ticket_id, safe="")
    for who, method, path, kwargs in (
        ("org", "GET", f"/organizer/tickets/{quoted}", {}),
        ("org", "POST", f"/organizer/tickets/{quoted}/transfer", {"json": {"recipientEmail": CID, "reason": "r"}}),
        ("ana", "POST", f"/spectator/tickets/{quoted}/holder", {"json": {"firstName": "C", "lastName": "D"}}),
        ("ana", "POST", f"/spectator/tickets/{quoted}/transfers", {"json": {"recipientEmail": CID}}),
        ("bea", "POST", f"/spectator/transfers/{quoted}/accept", {}),
    ):
        response = send(ready, who, method, path, **kwargs)
        assert response.status_code < 500, (response.status_code, response.text)
        if response.status_code >= 400:
            assert_clean_4xx(response)
