"""A wallet served in-process (sandbox, test clock) with one organizer, for end-to-end tests (a pytest
plugin: fixtures ``wallet_url``, ``wallet``; helpers ``Wallet``, ``ticket_payload``, ``START``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tixtrace.kernel.clock import Clock, TestClock
from tixtrace.kernel.db import unit_of_work
from tixtrace.wallet.app import create_wallet_app
from tixtrace.wallet.db.database import action_unit_of_work, open_wallet_database
from tixtrace.wallet.services import feed
from tixtrace.wallet.services.organizers import create_organizer

T = TypeVar("T")

START = datetime(2026, 6, 11, 18, 0, tzinfo=UTC)


def ticket_payload(ticket_id: str, email: str, *, first: str = "Ana", last: str = "Lima",
                   max_transfers: int | None = None) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "ticketId": ticket_id,
        "event": {"id": "WC26-M01", "name": "Opening match", "startTime": "2026-06-11T19:00:00Z",
                  "address": {"site": "Estadio Azteca", "city": "Mexico City", "zip": "04650", "countryCode": "MX"}},
        "purchaseDetails": {"fileNumber": "F-1", "price": 120.0, "currency": "USD"},
        "security": {"barcode": f"BC-{ticket_id}"},
        "spectatorDetails": {"firstName": first, "lastName": last, "email": email},
    }
    if max_transfers is not None:
        payload["transferRules"] = {"maxTransfers": max_transfers}
    return payload


class Wallet:
    """Drives the wallet over HTTP the way the back office and the app do."""

    def __init__(self, client: TestClient, clock: TestClock, organizer_auth: tuple[str, str]) -> None:
        self.client = client
        self.clock = clock
        self.auth = organizer_auth
        self._tokens: dict[str, str] = {}

    # organizer side
    def inject(self, *tickets: dict[str, Any]) -> list[dict[str, Any]]:
        response = self.client.post("/organizer/tickets", json={"tickets": list(tickets)}, auth=self.auth)
        assert response.status_code == 200, response.text
        return response.json()["results"]  # type: ignore[no-any-return]

    def diff(self, key: str | None = None, batch_size: int = 1000) -> dict[str, Any]:
        params: dict[str, Any] = {"batchSize": batch_size}
        if key:
            params["paginationKey"] = key
        response = self.client.get("/organizer/tickets/diff", params=params, auth=self.auth)
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    def all_records(self) -> list[dict[str, Any]]:
        records, key = [], None
        while True:
            page = self.diff(key)
            records += page["records"]
            key = page["paginationKey"]
            if not page["hasMore"]:
                return records

    def detail(self, ticket_id: str) -> dict[str, Any]:
        response = self.client.get(f"/organizer/tickets/{ticket_id}", auth=self.auth)
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    # spectator side
    def token(self, email: str) -> str:
        if email not in self._tokens:
            response = self.client.post("/spectator/session", json={"email": email})
            assert response.status_code == 200, response.text
            self._tokens[email] = response.json()["token"]
        return self._tokens[email]

    def as_spectator(self, email: str, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.token(email)}"}
        return self.client.request(method, path, headers=headers, **kwargs)

    def profile(self, email: str, first: str = "Bea", last: str = "Cruz", **extra: Any) -> None:
        response = self.as_spectator(email, "PUT", "/spectator/profile",
                                     json={"firstName": first, "lastName": last, **extra})
        assert response.status_code == 200, response.text

    def open_tickets(self, email: str) -> None:
        """The app lists (opens) the spectator's tickets: W2's DOWNLOADED, and W10's sharing of their
        profile with the organizers of the tickets they hold (a ticket received by transfer becomes
        DOWNLOADED, the first record that carries their profile)."""
        response = self.as_spectator(email, "GET", "/spectator/tickets")
        assert response.status_code == 200, response.text

    def transfer(self, sender: str, ticket_id: str, recipient: str) -> Any:
        return self.as_spectator(sender, "POST", f"/spectator/tickets/{ticket_id}/transfers",
                                 json={"recipientEmail": recipient})

    def act(self, email: str, transfer_id: str, action: str) -> Any:
        return self.as_spectator(email, "POST", f"/spectator/transfers/{transfer_id}/{action}")

    def advance(self, seconds: float) -> None:
        response = self.client.post("/sandbox/clock/advance", json={"seconds": seconds}, auth=self.auth)
        assert response.status_code == 200, response.text


@pytest.fixture
def wallet_url(database_url: Any) -> str:
    return str(database_url("wallet"))


@pytest.fixture
def wallet(wallet_url: str) -> Iterator[Wallet]:
    engine = open_wallet_database(wallet_url)
    clock = TestClock(START)
    organizer, api_key = run(engine, create_organizer, clock, "org@wc26.example")
    app = create_wallet_app(engine, clock=clock, sandbox=True)
    with TestClient(app) as client:
        yield Wallet(client, clock, (organizer.email, api_key))
    engine.dispose()


def run(engine: Engine, service: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call a wallet service in one unit of work of its own, as a route does for an action (a refusal
    still commits the expiries it uncovered)."""
    with action_unit_of_work(engine) as conn:
        return service(conn, *args, **kwargs)


def read_feed(engine: Engine, clock: Clock, organizer_id: int, key: str | None, batch_size: int) -> feed.FeedPage:
    """One page of the diff feed, as GET /organizer/tickets/diff reads it (expiries committed first)."""
    parsed = feed.parse_key(key, batch_size)
    with unit_of_work(engine, write=False) as conn:
        wallet = feed.instance_id(conn)
        due = feed.expiries_due(conn, clock, organizer_id)
    if wallet is None or due:
        with unit_of_work(engine) as conn:
            wallet = feed.ensure_instance(conn)
            if due:
                feed.materialize_expiries(conn, clock, organizer_id)
    with unit_of_work(engine, write=False) as conn:
        return feed.read_page(conn, wallet, organizer_id, parsed, batch_size)
