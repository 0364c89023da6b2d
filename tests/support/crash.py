"""A crash scenario (tests/backoffice/interfaces/test_feedback_crash.py and test_crashes.py): the same
operator data in several back offices, a wallet that moves tickets around at random, and a transport
that holds a run while it talks to the wallet.
"""

from __future__ import annotations

import random
import threading
from typing import Any

import httpx

from tests.support.system import System

KNOWN = {"ana@example.com": ("Ana", "Lima"), "bea@example.com": ("Bea", "Cruz"), "cai@example.com": ("Cai", "Wong")}
UNKNOWN = ["dan@example.com", "eve@example.com", "fay@example.com", "gus@example.com"]
PROFILES = {"dan@example.com": ("Dan", "Okafor"), "eve@example.com": ("Eve", "Moreau"),
            "fay@example.com": ("Fay", "Ng"), "gus@example.com": ("Gus", "Berg")}

class Scenario:
    """The same operator data in several back offices, and a wallet that moves tickets around."""

    def __init__(self, main: System, tickets: int, *, batch_size: int | None = None) -> None:
        self.main = main
        self.wallet = main.wallet
        self.numbers = [f"CR-{index:03d}" for index in range(tickets)]
        self.offices: dict[str, tuple[System, int]] = {}
        self.profiled = set(KNOWN)
        self.batch_size = batch_size
        self.add_office("main", main)

    def add_office(self, name: str, office: System, batch_size: int | None = None) -> int:
        ids = {email: office.contact(email, first, last) for email, (first, last) in KNOWN.items()}
        owners = list(KNOWN)
        for index, number in enumerate(self.numbers):
            office.ticket(ids[owners[index % len(owners)]], number=number)
        interface = office.interface()
        injection = office.schedule(interface, "TICKETS_INJECTION")
        execution = office.run(injection)
        assert execution["status"] == "OK", execution
        size = batch_size if batch_size is not None else (self.batch_size if name == "main" else None)
        extra = {"batch_size": size} if size else {}
        feedback = office.schedule(interface, "RETRIEVE_TICKET_STATUS", **extra)
        self.offices[name] = (office, feedback)
        return feedback

    def feedback(self, name: str = "main") -> int:
        return self.offices[name][1]

    def run(self, name: str = "main") -> dict[str, Any]:
        office, schedule = self.offices[name]
        execution = office.run(schedule)
        assert execution["status"] == "OK", execution
        return execution

    def owner(self, number: str) -> str:
        return str(self.wallet.detail(number)["walletOwner"]["email"])

    def activity(self, rng: random.Random, moves: int) -> None:
        """Random transfers with every outcome (accept, reject, cancel, time-out, returns, left pending)."""
        w = self.wallet
        for _ in range(moves):
            number = rng.choice(self.numbers)
            detail = w.detail(number)
            owner = detail["walletOwner"]["email"]
            pending = detail["pendingTransfer"]
            if pending is not None:
                outcome = rng.choice(["accept", "accept", "reject", "cancel"])
                actor = owner if outcome == "cancel" else pending["recipientEmail"]
                self._profile(actor)
                assert w.act(actor, pending["transferId"], outcome).status_code == 200
                continue
            previous = previous_owners(detail)
            if previous and rng.random() < 0.25:
                assert w.transfer(owner, number, previous[-1]).status_code == 201  # a return: BACKWARD
                continue
            recipient = rng.choice([e for e in [*KNOWN, *UNKNOWN, *UNKNOWN] if e != owner])
            response = w.transfer(owner, number, recipient)
            assert response.status_code in (201, 409), response.text
            if rng.random() < 0.1:
                w.advance(rng.choice([600, 3600]))

    def _profile(self, email: str) -> None:
        if email not in self.profiled:
            first, last = PROFILES[email]
            self.wallet.profile(email, first, last, language="en")
            self.profiled.add(email)


def previous_owners(detail: dict[str, Any]) -> list[str]:
    stack: list[str] = []
    for record in detail["statusLog"]:
        if record["status"] == "TRANSFERRED":
            if record["transfer"]["direction"] == "FORWARD":
                stack.append(record["transfer"]["sender"]["email"])
            else:
                stack.pop()
    return stack


class Gate(httpx.BaseTransport):
    """Holds the first request until released (a run that is busy talking to the wallet)."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.entered = threading.Event()
        self.release = threading.Event()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.entered.set()
        assert self.release.wait(30)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()
