"""Contact screens: search, the temporary badge, a contact's tickets and distribution lines in and out."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.support.screens import World
from tixtrace.backoffice.web import contacts as contact_screens


def _ids(html: str) -> list[int]:
    return [int(x) for x in re.findall(r'<tr class="contact" data-contact-id="(\d+)"', html)]


def test_the_contact_list_and_its_search(browser: TestClient, world: World) -> None:
    page = browser.get("/contacts")
    assert page.status_code == 200
    assert _ids(page.text) == [world.ana, world.bruno, world.fan]
    assert page.text.count("temporary</span>") == 1  # the fan's badge
    assert _ids(browser.get("/contacts?q=ANA%40example.com").text) == [world.ana]
    assert _ids(browser.get("/contacts?q=costa").text) == [world.bruno]
    assert _ids(browser.get("/contacts?q=ana+lima").text) == [world.ana]
    assert _ids(browser.get("/contacts?q=example.com").text) == []  # a prefix of names and e-mails, not "contains"
    assert _ids(browser.get("/contacts?q=%C3%81NA").text) == [world.ana]  # case and accents ignored
    assert _ids(browser.get("/contacts?temporary=1").text) == [world.fan]
    assert _ids(browser.get("/contacts?q=nobody").text) == []


def test_the_contact_list_pages(browser: TestClient, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(contact_screens, "PAGE", 2)
    first = browser.get("/contacts")
    assert _ids(first.text) == [world.ana, world.bruno]
    next_url = re.search(r'href="([^"]+)" rel="next"', first.text)
    assert next_url
    assert _ids(browser.get(next_url.group(1).replace("&amp;", "&")).text) == [world.fan]


def test_a_contact_page_shows_fields_tickets_and_lines_in_and_out(browser: TestClient, world: World) -> None:
    page = browser.get(f"/contacts/{world.bruno}")
    assert page.status_code == 200
    html = page.text
    assert "Bruno Costa" in html and "bruno@example.com" in html
    tickets = html.split('id="contact-tickets"')[1].split("</table>")[0]
    assert "1000000000000001" in tickets and "1000000000000002" in tickets and "1000000000000003" not in tickets
    lines_in = html.split('id="lines-in"')[1].split("</section>")[0]
    assert re.findall(r'data-status="(\w+)"', lines_in) == ["CONFIRMED"]
    assert f'href="/contacts/{world.ana}"' in lines_in
    lines_out = html.split('id="lines-out"')[1].split("</section>")[0]
    assert re.findall(r'data-status="(\w+)"', lines_out) == ["PENDING", "CANCELLED"]  # newest first
    assert "removed" in lines_out and "gone@example.com" in lines_out


def test_a_temporary_contact_has_its_badge(browser: TestClient, world: World) -> None:
    html = browser.get(f"/contacts/{world.fan}").text
    assert "Pending CREATION" in html and 'class="badge tone-purple temporary"' in html
    assert 'id="contact-temporary">yes<' in html
    assert "new.fan@example.com" in html
    assert "temporary" not in browser.get(f"/contacts/{world.ana}").text.split('id="contact-name"')[1].split("</h1>")[0]


@pytest.mark.parametrize("bad", ["424242", "0", "x", "9223372036854775808"])
def test_unknown_contacts_are_404_pages(browser: TestClient, world: World, bad: str) -> None:
    response = browser.get(f"/contacts/{bad}")
    assert response.status_code == 404 and 'data-status="404"' in response.text
