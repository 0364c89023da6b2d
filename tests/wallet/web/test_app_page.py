"""The spectator page (/app): sign in and out, my tickets (W2), holder (W3), profile; sandbox only (W9)."""

from __future__ import annotations

from http.cookies import SimpleCookie

from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from tests.support.pages import flash, text_of, ticket_card, ticket_ids
from tests.support.wallet import ticket_payload
from tixtrace.wallet.app import create_wallet_app

ANA, BEA = "ana@example.com", "bea@example.com"


def _set_cookies(response) -> dict[str, SimpleCookie]:  # type: ignore[no-untyped-def]
    found: dict[str, SimpleCookie] = {}
    for header in response.headers.get_list("set-cookie"):
        cookie: SimpleCookie = SimpleCookie()
        cookie.load(header)
        for name in cookie:
            found[name] = cookie
    return found


def test_sign_in_sets_an_httponly_samesite_session_cookie(wallet, page_client):
    me = page_client(None)
    first = me.client.get("/app", follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"] == "/app/login"
    login = me.get("/app/login")
    assert login.status_code == 200
    assert 'id="app-email"' in login.text and 'id="app-signin"' in login.text
    assert "no password" in text_of(login.text) and "sandbox" in text_of(login.text).lower()

    response = me.client.post("/app/login", data={"email": " Ana@Example.com ", "csrf": me.csrf()},
                              follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/app"
    session = _set_cookies(response)["tixtrace_wallet_session"]["tixtrace_wallet_session"]
    assert session["httponly"] is True
    assert session["samesite"].lower() == "lax"
    assert session["path"] == "/app"
    assert not session["secure"]  # served over plain http here; Secure over https
    # the cookie holds an ordinary spectator session: the JSON API takes it as a bearer token
    profile = wallet.client.get("/spectator/profile", headers={"Authorization": f"Bearer {session.value}"})
    assert profile.status_code == 200 and profile.json()["email"] == ANA

    page = me.get("/app")
    assert page.status_code == 200 and f"Signed in as {ANA}" in text_of(page.text)
    assert flash(page.text) == {"text": f"Signed in as {ANA}.", "kind": "success", "code": ""}
    assert flash(me.get("/app").text) is None  # a flash is shown once

    signed_out = me.post("/app/logout", {})
    assert signed_out.url.path == "/app/login" and flash(signed_out.text)["text"] == "Signed out."
    again = me.client.get("/app", follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"] == "/app/login"
    # signing out ends the session itself: a copy of the token no longer works
    revoked = wallet.client.get("/spectator/profile", headers={"Authorization": f"Bearer {session.value}"})
    assert revoked.status_code == 401


def test_sign_in_errors_are_shown_on_the_form(page_client):
    me = page_client(None)
    me.get("/app/login")
    bad = me.post("/app/login", {"email": "not-an-email"})
    assert bad.status_code == 422
    assert flash(bad.text)["code"] == "INVALID_EMAIL" and "not an e-mail address" in flash(bad.text)["text"]
    assert 'value="not-an-email"' in bad.text  # what was typed is kept
    empty = me.post("/app/login", {"email": "  "})
    assert empty.status_code == 422 and flash(empty.text)["text"] == "Enter your e-mail address."
    # the sign-in form is tied to its own cookie: a form posted from elsewhere is refused
    stranger = page_client(None)
    forged = stranger.post("/app/login", {"email": ANA}, csrf=me.csrf())
    assert forged.status_code == 403 and flash(forged.text)["code"] == "CSRF_FAILED"
    assert "tixtrace_wallet_session" not in stranger.client.cookies


def test_a_stale_session_cookie_leads_back_to_sign_in(page_client):
    me = page_client(None)
    me.client.cookies.set("tixtrace_wallet_session", "not-a-session", path="/app")
    response = me.client.get("/app", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/app/login"
    assert 'tixtrace_wallet_session=""' in response.headers["set-cookie"]
    for path in ("/app/tickets/transfer", "/app/transfers/accept", "/app/profile", "/app/logout"):
        posted = me.client.post(path, data={"csrf": "x"}, follow_redirects=False)
        assert posted.status_code == 303 and posted.headers["location"] == "/app/login", path


def test_the_page_lists_my_injected_tickets_and_marks_them_downloaded(wallet, page_client):
    wallet.inject(ticket_payload("T1", ANA), ticket_payload("T2", ANA), ticket_payload("T3", BEA))
    page = page_client(ANA).page()
    assert ticket_ids(page) == ["T1", "T2"]
    card = ticket_card(page, "T1")
    assert card is not None and 'data-status="DOWNLOADED"' in card
    assert "Opening match" in card and "Thu 11 Jun 2026, 19:00 UTC" in card and "Estadio Azteca" in card
    assert "Not assigned" in text_of(card)
    assert 'data-transfer-ticket="T1"' in card and 'name="recipientEmail"' in card
    # exactly like GET /spectator/tickets: the owner's sync is in the status log
    statuses = [(r["ticketId"], r["status"]) for r in wallet.all_records()]
    assert statuses == [("T1", "INJECTED"), ("T2", "INJECTED"), ("T3", "INJECTED"),
                        ("T1", "DOWNLOADED"), ("T2", "DOWNLOADED")]
    assert "No tickets in your wallet yet." in text_of(page_client("cid@example.com").page())


def test_assigning_a_holder(wallet, page_client):
    wallet.inject(ticket_payload("T1", ANA))
    ana = page_client(ANA)
    done = ana.post("/app/tickets/holder", {"ticketId": "T1", "firstName": " Zoé ", "lastName": "Nguyen"})
    assert done.status_code == 200 and flash(done.text)["text"] == "Ticket T1 is now assigned to Zoé Nguyen."
    card = ticket_card(done.text, "T1")
    assert 'data-status="ASSIGNED"' in card and "Zoé Nguyen" in text_of(card)
    assert wallet.detail("T1")["ticketHolder"]["firstName"] == "Zoé"
    missing = ana.post("/app/tickets/holder", {"ticketId": "T1", "firstName": "", "lastName": "Nguyen"})
    assert missing.status_code == 422 and flash(missing.text)["text"] == "First name: is required."


def test_the_profile_form(wallet, page_client):
    bea = page_client(BEA)
    form = bea.get("/app/profile")
    for element in ('id="profile-first-name"', 'id="profile-last-name"', 'id="profile-save"'):
        assert element in form.text
    saved = bea.save_profile("Bea", "Cruz", phoneNumber="+41 79 000 00 00", nationality="CH",
                             allowPromoEmail="1")
    assert saved.status_code == 200 and saved.url.path == "/app" and flash(saved.text)["text"] == "Profile saved."
    profile = wallet.as_spectator(BEA, "GET", "/spectator/profile").json()
    assert (profile["firstName"], profile["lastName"], profile["phoneNumber"], profile["nationality"]) == (
        "Bea", "Cruz", "+41 79 000 00 00", "CH")
    assert profile["organizerSpectatorPreference"] == {"allowPromoEmail": True, "allowThirdPartyEmail": False}
    shown = bea.get("/app/profile").text
    assert 'value="Bea"' in shown and 'value="+41 79 000 00 00"' in shown

    bad = bea.save_profile("Bea", "Cruz", nationality="France")
    assert bad.status_code == 422 and flash(bad.text)["text"].startswith("Nationality:")
    assert 'value="France"' in bad.text  # the form keeps what was typed
    no_name = bea.save_profile("Bea", " ")
    assert no_name.status_code == 422 and flash(no_name.text)["text"].startswith("Last name: is required")
    assert wallet.as_spectator(BEA, "GET", "/spectator/profile").json()["nationality"] == "CH"  # unchanged


def test_the_page_is_absent_without_sandbox():
    engine = create_engine("sqlite://")  # nothing is read: the routes do not exist
    client = TestClient(create_wallet_app(engine, sandbox=False))
    for method, path in [("GET", "/app"), ("GET", "/app/login"), ("POST", "/app/login"), ("GET", "/app/profile"),
                         ("POST", "/app/tickets/transfer"), ("GET", "/app/static/app.css")]:
        response = client.request(method, path, follow_redirects=False)
        assert response.status_code == 404, (method, path, response.status_code)
    client.close()
    engine.dispose()


def test_the_page_is_not_part_of_the_json_api(wallet):
    paths = wallet.client.app.openapi()["paths"]
    assert not [path for path in paths if path.startswith("/app")]
    css = wallet.client.get("/app/static/app.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")


def test_pages_carry_security_headers(page_client):
    page = page_client(ANA).get("/app")
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"
