"""Schemathesis against the wallet's OpenAPI document (sandbox mode), on SQLite and PostgreSQL.

The wallet holds an organizer, a spectator with tickets, an incoming and an outgoing pending transfer,
so the generated requests carry VALID credentials (organizer HTTP Basic; spectator Bearer token) and
many positive cases on ``{ticket_id}`` / ``{transfer_id}`` routes name resources that exist.
Every operation of the document is fuzzed; nothing is excluded.
"""

from __future__ import annotations

import base64

import pytest

from tests.support.fuzzing import fuzz
from tests.support.wallet import Wallet, ticket_payload

pytestmark = pytest.mark.slow  # a slow tier (schemathesis): `make test-fast` leaves it out

FAN = "fan@wc26.example"
FRIEND = "friend@wc26.example"
EXAMPLES = 40  # per operation and generation mode (some operations have fewer distinct inputs)


def _seed(wallet: Wallet) -> dict[str, list[str]]:
    """Tickets T-1..T-3 of the fan, T-4 of a friend; T-4 offered to the fan, T-3 offered to the friend."""
    wallet.inject(*(ticket_payload(f"T-{n}", FAN) for n in (1, 2, 3)), ticket_payload("T-4", FRIEND))
    wallet.profile(FAN, "Ana", "Lima")
    wallet.profile(FRIEND, "Bea", "Cruz")
    incoming = wallet.transfer(FRIEND, "T-4", FAN)
    outgoing = wallet.transfer(FAN, "T-3", FRIEND)
    assert incoming.status_code == outgoing.status_code == 201, (incoming.text, outgoing.text)
    return {"ticket_id": [f"T-{n}" for n in (1, 2, 3, 4)],
            "transfer_id": [incoming.json()["transferId"], outgoing.json()["transferId"]]}


def test_every_wallet_operation_answers_as_documented(wallet: Wallet) -> None:
    """At least 1,000 generated requests (valid and invalid input, with valid credentials) over every
    operation of the wallet's document: no 5xx, every status declared, every body of the declared
    content type and schema, invalid input refused with a 4xx, and every authenticated operation
    refusing a request without (or with wrong) credentials with a 401."""
    ids = _seed(wallet)
    basic = "Basic " + base64.b64encode(f"{wallet.auth[0]}:{wallet.auth[1]}".encode()).decode()
    bearer = f"Bearer {wallet.token(FAN)}"

    def headers(path: str) -> dict[str, str]:
        if path.startswith(("/organizer", "/sandbox", "/metrics")):
            return {"Authorization": basic}
        if path.startswith("/spectator") and path != "/spectator/session":
            return {"Authorization": bearer}
        return {}

    fixed = {}
    for label in ("GET /organizer/tickets/{ticket_id}", "POST /spectator/tickets/{ticket_id}/holder",
                  "POST /spectator/tickets/{ticket_id}/transfers", "POST /organizer/tickets/{ticket_id}/transfer"):
        fixed[label] = [{"ticket_id": t} for t in ids["ticket_id"]]
    for action in ("accept", "reject", "cancel"):
        fixed[f"POST /spectator/transfers/{{transfer_id}}/{action}"] = [{"transfer_id": t} for t in ids["transfer_id"]]

    sent = fuzz(wallet.client.app, headers, examples=EXAMPLES, fixed_paths=fixed)
    print(f"wallet: {sum(sent.values())} requests over {len(sent)} operations")

    assert sum(sent.values()) >= 1000, sent
