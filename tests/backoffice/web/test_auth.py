"""Signing in and out of the screens: the session cookie, CSRF on every POST, redirects to the login."""

from __future__ import annotations

import secrets
from datetime import timedelta

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.support.backoffice import PASSWORD, START, USER
from tests.support.screens import post_form, sign_in, token_in
from tixtrace.backoffice.security import SESSION_COOKIE
from tixtrace.backoffice.services.sessions import IDLE_SECONDS, LIFETIME_SECONDS
from tixtrace.backoffice.web.pages import safe_next
from tixtrace.cli import app
from tixtrace.kernel.clock import TestClock


def _set_cookie_headers(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [value for name, value in response.headers.multi_items() if name.lower() == "set-cookie"]


def test_the_login_page_has_the_form_the_browser_tests_use(web: TestClient) -> None:
    page = web.get("/login")
    assert page.status_code == 200
    for element in ('id="login-user"', 'id="login-password"', 'id="login-submit"', 'name="csrf_token"'):
        assert element in page.text
    assert page.headers["content-type"].startswith("text/html")
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]


def test_signing_in_sets_an_httponly_samesite_lax_session_cookie_and_goes_to_next(web: TestClient) -> None:
    response = sign_in(web, next_path="/contacts?q=ana")
    assert response.status_code == 303
    assert response.headers["location"] == "/contacts?q=ana"
    session = [c for c in _set_cookie_headers(response) if c.startswith(f"{SESSION_COOKIE}=")]
    assert len(session) == 1
    flags = [part.strip().lower() for part in session[0].split(";")]
    assert "httponly" in flags and "samesite=lax" in flags and "path=/" in flags
    assert not any(flag == "secure" for flag in flags)  # plain http in tests; https adds Secure
    assert web.get("/tickets").status_code == 200
    assert web.get("/login", follow_redirects=False).headers["location"] == "/"  # already signed in: the overview


def test_a_wrong_password_or_unknown_user_is_refused_the_same_way(web: TestClient) -> None:
    for user, password in ((USER, "wrong password"), ("nobody", PASSWORD)):
        response = sign_in(web, user=user, password=password)
        assert response.status_code == 401
        assert "Unknown user or wrong password." in response.text
        assert SESSION_COOKIE not in web.cookies
    assert web.get("/tickets", follow_redirects=False).status_code == 303


def test_screens_redirect_to_the_login_with_the_page_asked_for(web: TestClient, world) -> None:  # type: ignore[no-untyped-def]
    for path in ("/", "/tickets?status=PRINTED", f"/tickets/{world.t1}", "/contacts", "/interfaces",
                 f"/interfaces/{world.interface}", "/executions/1", f"/schedules/{world.push}/executions"):
        response = web.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        location = response.headers["location"]
        assert location.startswith("/login?next="), (path, location)
    followed = web.get("/tickets?status=PRINTED")
    assert followed.url.path == "/login" and 'value="/tickets?status=PRINTED"' in followed.text
    htmx = web.get(f"/tickets/{world.t1}/tabs/mobile", headers={"HX-Request": "true",
                                                                "HX-Current-URL": f"http://testserver/tickets/{world.t1}"})
    assert htmx.status_code == 401 and htmx.headers["HX-Redirect"] == f"/login?next=%2Ftickets%2F{world.t1}"


def test_next_only_goes_to_paths_of_this_site(web: TestClient) -> None:
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)",
                   "/tickets\r\nSet-Cookie: x=1", "/login?next=/login", "/logout"):
        assert safe_next(target) == "/", target
    assert safe_next("/contacts/3?x=1") == "/contacts/3?x=1"
    response = sign_in(web, next_path="//evil.example/x")
    assert response.headers["location"] == "/"


def test_logout_ends_the_session(browser: TestClient) -> None:
    response = post_form(browser, "/tickets", "/logout", {})
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert SESSION_COOKIE not in browser.cookies
    page = browser.get("/login")
    assert "You are signed out." in page.text
    assert browser.get("/tickets", follow_redirects=False).status_code == 303


def test_posts_without_the_csrf_token_are_refused(browser: TestClient, world) -> None:  # type: ignore[no-untyped-def]
    for action, data in (("/logout", {}),
                         (f"/schedules/{world.push}/run", {}),
                         ("/interfaces/new", {"name": "x", "type": "TIXNGO", "url": "http://a.example/organizer/tickets",
                                              "login": "l", "password": "p", "custom_parameters": ""}),
                         (f"/interfaces/{world.interface}", {"name": "renamed"})):
        for token in (None, "forged-token"):
            body = dict(data) if token is None else {**data, "csrf_token": token}
            response = browser.post(action, data=body, follow_redirects=False)
            assert response.status_code == 403, (action, token)
            assert "This form has expired" in response.text
    assert browser.get("/tickets").status_code == 200  # still signed in
    assert "renamed" not in browser.get(f"/interfaces/{world.interface}").text


def test_the_login_form_needs_its_own_token(web: TestClient) -> None:
    web.get("/login")
    response = web.post("/login", data={"user": USER, "password": PASSWORD}, follow_redirects=False)
    assert response.status_code == 403
    other = TestClient(web.app)
    token = token_in(web.get("/login").text)  # a token of another browser's login cookie
    refused = other.post("/login", data={"csrf_token": token, "user": USER, "password": PASSWORD},
                         follow_redirects=False)
    assert refused.status_code == 403


def test_a_forged_or_expired_session_cookie_is_no_session(web: TestClient, clock: TestClock) -> None:
    """Only a token the server handed out is a session, and only until it has been idle for an hour or
    12 hours have passed since sign-in, whichever comes first."""
    web.cookies.set(SESSION_COOKIE, secrets.token_urlsafe(32))
    assert web.get("/tickets", follow_redirects=False).status_code == 303
    assert sign_in(web).status_code == 303
    assert web.get("/tickets").status_code == 200
    clock.advance(IDLE_SECONDS - 1)
    assert web.get("/tickets").status_code == 200  # a visit keeps it alive
    clock.advance(IDLE_SECONDS - 1)
    assert web.get("/tickets").status_code == 200
    clock.advance(IDLE_SECONDS)
    assert web.get("/tickets", follow_redirects=False).status_code == 303  # idle too long
    assert sign_in(web).status_code == 303
    for _ in range(LIFETIME_SECONDS // (IDLE_SECONDS // 2)):
        clock.advance(IDLE_SECONDS // 2)
        if web.get("/tickets", follow_redirects=False).status_code != 200:
            break
    assert web.get("/tickets", follow_redirects=False).status_code == 303  # past its lifetime
    assert clock.now() - START >= timedelta(seconds=LIFETIME_SECONDS)


def _copy_of_session(browser: TestClient) -> TestClient:
    """Another client holding a copy of the browser's session cookie (as a thief would)."""
    thief = TestClient(browser.app, raise_server_exceptions=False)
    thief.cookies.set(SESSION_COOKIE, browser.cookies[SESSION_COOKIE])
    return thief


def _csrf(client: TestClient) -> str:
    return token_in(client.get("/tickets").text)


def test_sign_out_ends_the_session_on_the_server(browser: TestClient) -> None:
    """After sign-out a copy of the old cookie opens neither the screens nor the API (it was only
    deleted from the browser before: the copy stayed valid for 8 hours)."""
    thief = _copy_of_session(browser)
    token = _csrf(thief)
    assert thief.get("/tickets").status_code == 200 and thief.get("/api/contacts").status_code == 200
    assert post_form(browser, "/tickets", "/logout", {}).status_code == 303
    assert thief.get("/tickets", follow_redirects=False).status_code == 303
    assert thief.get("/api/contacts").status_code == 401
    assert thief.post("/api/contacts", headers={"X-CSRF-Token": token}, json={}).status_code == 401


def _cli(*args: str) -> None:
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output


def test_disable_user_ends_an_active_session_at_once(browser: TestClient, backoffice_url: str) -> None:
    """`backoffice disable-user` while the user is signed in: the next screen and the next API call with
    the cookie are refused, and neither the form nor HTTP Basic signs the user in again."""
    token = _csrf(browser)
    assert browser.get("/api/contacts").status_code == 200
    _cli("backoffice", "disable-user", USER, "--database-url", backoffice_url)
    assert browser.get("/tickets", follow_redirects=False).status_code == 303
    assert browser.get("/api/contacts").status_code == 401
    assert browser.post("/api/contacts", headers={"X-CSRF-Token": token}, json={}).status_code == 401
    assert browser.get("/api/contacts", auth=(USER, PASSWORD)).status_code == 401
    assert sign_in(browser).status_code == 401


def test_set_password_ends_every_session_and_only_the_new_password_works(
        browser: TestClient, backoffice_url: str) -> None:
    new_password = "a-brand-new-pa55word"
    _cli("backoffice", "set-password", USER, "--database-url", backoffice_url, "--password", new_password)
    assert browser.get("/tickets", follow_redirects=False).status_code == 303
    assert browser.get("/api/contacts", auth=(USER, PASSWORD)).status_code == 401
    assert browser.get("/api/contacts", auth=(USER, new_password)).status_code == 200
    assert sign_in(browser, password=new_password).status_code == 303
    assert browser.get("/tickets").status_code == 200


def test_the_api_keeps_answering_json_and_http_basic(web: TestClient) -> None:
    refused = web.get("/api/tickets")
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "UNAUTHORIZED"
    unknown = web.get("/api/nothing-here", auth=(USER, PASSWORD))
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "NOT_FOUND"
    assert web.get("/api/tickets/1", auth=(USER, PASSWORD)).json()["error"]["code"] == "TICKET_NOT_FOUND"
    assert web.get("/health").json() == {"status": "ok"}
    css = web.get("/static/tixtrace.css")
    assert css.status_code == 200 and "text/css" in css.headers["content-type"]
    assert web.get("/static/htmx.min.js").status_code == 200
    assert "Zero-Clause BSD" in web.get("/static/htmx.LICENSE.txt").text


def test_over_https_the_session_cookie_is_also_secure(app) -> None:  # type: ignore[no-untyped-def]
    with TestClient(app, base_url="https://testserver") as client:
        response = sign_in(client)
        assert response.status_code == 303
        session = [c for c in _set_cookie_headers(response) if c.startswith(f"{SESSION_COOKIE}=")][0]
        assert "secure" in [part.strip().lower() for part in session.split(";")]
        assert client.get("/tickets").status_code == 200


def test_malformed_form_posts_are_4xx_pages_never_500(browser: TestClient, world) -> None:  # type: ignore[no-untyped-def]
    token = token_in(browser.get("/interfaces/new").text)
    headers = {"X-CSRF-Token": token}
    for content, content_type in ((b"custom_parameters=%ff%fe", "application/x-www-form-urlencoded"),
                                  ("custom_parameters=é".encode(), "application/x-www-form-urlencoded"),
                                  (b"--x\r\n", "multipart/form-data; boundary=x"),
                                  (b"a=" + b"1" * 300_000, "application/x-www-form-urlencoded")):
        response = browser.post("/interfaces/check-parameters", content=content,
                                headers={**headers, "Content-Type": content_type})
        assert response.status_code == 422, content_type
        assert "text/html" in response.headers["content-type"]
    nul = browser.post("/interfaces/new", data={"csrf_token": token, "name": "a\x00b", "type": "TIXNGO",
                                                "url": "http://a.example/organizer/tickets", "login": "l",
                                                "password": "p\x00", "custom_parameters": "x=\x00"})
    assert nul.status_code == 422


def test_the_api_accepts_the_web_session_and_needs_its_csrf_token_for_changes(browser):
    """DESIGN 7: the back-office API takes HTTP Basic or the web session."""
    assert browser.get("/api/contacts").status_code == 200
    body = {"kind": "INDIVIDUAL", "firstName": "Eve", "lastName": "Adams", "email": "eve@example.com",
            "hasInternetAccount": False}
    refused = browser.post("/api/contacts", json=body)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "UNAUTHORIZED"
    token = token_in(browser.get("/tickets").text)
    created = browser.post("/api/contacts", json=body, headers={"X-CSRF-Token": token})
    assert created.status_code in (200, 201), created.text
    assert created.json()["email"] == "eve@example.com"


def test_the_api_refuses_a_forged_session_cookie(web):
    web.cookies.set("tixtrace_session", "YWRtaW4|9999999999|forged")
    response = web.get("/api/contacts")
    assert response.status_code == 401


def test_every_cookie_the_screens_set_is_httponly_and_samesite_lax(web: TestClient) -> None:
    """Not only the session: the login form's nonce, the flash message and the cookie deletions too
    (a cookie readable by scripts or sent cross-site would weaken the CSRF and session design)."""
    headers = _set_cookie_headers(web.get("/login"))  # the login nonce
    headers += _set_cookie_headers(sign_in(web))  # the session (and the nonce's deletion)
    headers += _set_cookie_headers(post_form(web, "/tickets", "/logout", {}))  # flash, session deletion
    names = {header.split("=", 1)[0] for header in headers}
    assert {"tixtrace_login", SESSION_COOKIE, "tixtrace_flash"} <= names
    for header in headers:
        flags = [part.strip().lower() for part in header.split(";")]
        if any(flag.startswith("max-age=0") for flag in flags) or 'expires=thu, 01 jan 1970' in header.lower():
            continue  # a deletion carries no value to protect
        assert "httponly" in flags and "samesite=lax" in flags, header
