"""A browser stand-in for the spectator page: one cookie jar per spectator, forms posted as a browser does
(a pytest plugin: fixture ``page_client``; helpers to read the page).

The fixture is ``page_client``, not ``browser``: that name belongs to pytest-playwright.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.support.wallet import Wallet

_CSRF = re.compile(r'name="csrf" value="([^"]*)"')


def text_of(fragment: str) -> str:
    """The visible text of an HTML fragment, whitespace collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def flash(page: str) -> dict[str, str] | None:
    """The ``#flash`` message of a page: its text, kind and code; None when there is none."""
    found = re.search(r'<div id="flash"([^>]*)>(.*?)</div>', page, re.S)
    if found is None:
        return None
    attrs = dict(re.findall(r'data-(kind|code)="([^"]*)"', found.group(1)))
    return {"text": text_of(found.group(2)), "kind": attrs.get("kind", ""), "code": attrs.get("code", "")}


def ticket_card(page: str, ticket_id: str) -> str | None:
    found = re.search(rf'<article class="card ticket" data-ticket-id="{re.escape(ticket_id)}"[^>]*>(.*?)</article>',
                      page, re.S)
    return found.group(0) if found else None


def ticket_ids(page: str) -> list[str]:
    return [html.unescape(t) for t in re.findall(r'<article class="card ticket" data-ticket-id="([^"]*)"', page)]


def transfer_item(page: str, transfer_id: str, section: str) -> str | None:
    """The element of transfer ``transfer_id`` inside ``<section id=section>`` (incoming, outgoing, past)."""
    part = re.search(rf'<section id="{section}".*?</section>', page, re.S)
    if part is None:
        return None
    found = re.search(rf'<(article|li)[^>]*data-transfer-id="{re.escape(transfer_id)}"[^>]*>.*?</\1>',
                      part.group(0), re.S)
    return found.group(0) if found else None


class PageClient:
    """One spectator's browser on the wallet's /app page (its own cookies)."""

    def __init__(self, wallet: Wallet) -> None:
        self.wallet = wallet
        self.client = TestClient(wallet.client.app, follow_redirects=True)
        self.last: httpx.Response | None = None

    def get(self, path: str = "/app", **kwargs: Any) -> httpx.Response:
        self.last = self.client.get(path, **kwargs)
        return self.last

    def page(self) -> str:
        response = self.get("/app")
        assert response.status_code == 200, response.text
        assert str(response.url).endswith("/app"), response.url
        return response.text

    def csrf(self) -> str:
        page = self.last.text if self.last is not None else self.get("/app").text
        found = _CSRF.search(page) or _CSRF.search(self.get("/app").text)
        assert found, "no CSRF token on the page"
        return found.group(1)

    def post(self, path: str, data: dict[str, str], *, csrf: str | None = "page", **kwargs: Any) -> httpx.Response:
        """POST a form as the page does; ``csrf=None`` leaves the token out, a string replaces it."""
        fields = dict(data)
        if csrf == "page":
            fields["csrf"] = self.csrf()
        elif csrf is not None:
            fields["csrf"] = csrf
        self.last = self.client.post(path, data=fields, **kwargs)
        return self.last

    def sign_in(self, email: str) -> httpx.Response:
        self.get("/app/login")
        response = self.post("/app/login", {"email": email})
        assert response.status_code == 200, response.text
        return response

    # the page's buttons
    def transfer(self, ticket_id: str, recipient: str) -> httpx.Response:
        return self.post("/app/tickets/transfer", {"ticketId": ticket_id, "recipientEmail": recipient})

    def act(self, transfer_id: str, action: str) -> httpx.Response:
        return self.post(f"/app/transfers/{action}", {"transferId": transfer_id})

    def save_profile(self, first: str, last: str, **extra: str) -> httpx.Response:
        self.get("/app/profile")
        return self.post("/app/profile", {"firstName": first, "lastName": last, **extra})

    def close(self) -> None:
        self.client.close()


@pytest.fixture
def page_client(wallet: Wallet) -> Iterator[Callable[[str | None], PageClient]]:
    """``page_client(email)`` → a browser signed in as ``email`` (``None``: not signed in)."""
    opened: list[PageClient] = []

    def open_browser(email: str | None = None) -> PageClient:
        new = PageClient(wallet)
        opened.append(new)
        if email:
            new.sign_in(email)
        return new

    yield open_browser
    for each in opened:
        each.close()
