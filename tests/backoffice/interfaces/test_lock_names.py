"""The feedback's run lock is the same however the interface URL is spelled (DESIGN section 10)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tixtrace.backoffice.interfaces.locks import lock_url
from tixtrace.backoffice.interfaces.runner import run_locks_of
from tixtrace.backoffice.services.schedules import ScheduleFunction

SAME_WALLET = [
    "http://localhost:8001/organizer/tickets",
    "http://127.0.0.1:8001/organizer/tickets",
    "http://[::1]:8001/organizer/tickets",
    "HTTP://LocalHost:8001/organizer/tickets/",
    "http://127.0.0.1:8001/organizer/tickets//",
    " http://localhost.:8001/organizer/tickets ",
]


@pytest.mark.parametrize("url", SAME_WALLET)
def test_every_spelling_of_one_wallet_gives_one_lock_url(url: str) -> None:
    assert lock_url(url) == "http://localhost:8001/organizer/tickets"


@pytest.mark.parametrize(("first", "second"), [
    ("http://wallet.example/organizer/tickets", "http://WALLET.example:80/organizer/tickets/"),
    ("https://wallet.example/organizer/tickets", "https://wallet.example:443/organizer/tickets"),
    ("http://[::1]/x", "http://[0:0:0:0:0:0:0:1]/x"),
    ("http://[2001:db8::1]:81/x", "http://[2001:DB8:0::1]:81/x"),
])
def test_case_default_ports_and_address_forms_do_not_matter(first: str, second: str) -> None:
    assert lock_url(first) == lock_url(second)


@pytest.mark.parametrize(("first", "second"), [
    ("http://localhost:8001/organizer/tickets", "http://localhost:8002/organizer/tickets"),
    ("http://wallet.example/organizer/tickets", "https://wallet.example/organizer/tickets"),
    ("http://a.example/organizer/tickets", "http://b.example/organizer/tickets"),
    ("http://a.example/one/organizer/tickets", "http://a.example/two/organizer/tickets"),
])
def test_different_wallets_keep_different_lock_urls(first: str, second: str) -> None:
    assert lock_url(first) != lock_url(second)


def test_the_feedback_locks_of_two_spellings_are_the_same_lock() -> None:
    """Two feedback schedules whose interfaces name one wallet organizer with ``localhost`` and
    ``127.0.0.1/`` (and the login's case) hold one organizer lock (before: two, so both ran at once)."""
    schedule = SimpleNamespace(id=1, function=ScheduleFunction.RETRIEVE_TICKET_STATUS.value)
    other = SimpleNamespace(id=2, function=ScheduleFunction.RETRIEVE_TICKET_STATUS.value)
    first = run_locks_of(schedule, SimpleNamespace(url="http://localhost:8001/organizer/tickets",
                                                   login="Org@X.example"))
    second = run_locks_of(other, SimpleNamespace(url="http://127.0.0.1:8001/organizer/tickets/",
                                                 login="org@x.example"))
    assert first[0][0] == second[0][0]
