"""Every route of both services refuses missing and wrong credentials (DESIGN 10), found by walking the
route tables so that a route added later is covered (or fails `test_every_route_is_classified` until it
is given a kind).

Kinds of route and what "refused" means for each:
- back-office ``/api``: 401 with the error envelope and ``WWW-Authenticate: Basic``;
- back-office screens: a redirect (303/302) to ``/login``, the HTML equivalent of a 401;
- wallet organizer (``/organizer``, ``/sandbox``): 401 with the envelope;
- wallet spectator API (``/spectator``): 401 with the envelope;
- wallet spectator page (``/app``): a redirect (303/302) to ``/app/login``.

Public, on purpose (the allow-list, each checked to answer without credentials): ``/health``, the login
pages and their form posts, the static assets (CSS, vendored htmx and its licence), the back office's
``/`` (a bare redirect to ``/tickets``), the OpenAPI schema and its docs pages (they describe the
public contract of DESIGN 7 and hold no data), and the wallet's ``POST /spectator/session`` (sandbox
only: W9 passwordless sign-in).

Also here: CSRF on every back-office form POST (enumerated the same way) and the login throttle.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any, cast

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, func, select

from tests.support.backoffice import PASSWORD, START, USER
from tests.support.export import export
from tests.support.routes import (
    BACKOFFICE_ENDPOINTS,
    BACKOFFICE_PUBLIC,
    BACKOFFICE_ROUTES,
    WALLET_ENDPOINTS,
    WALLET_PUBLIC,
    WALLET_ROUTES,
    endpoints,
    fill_path,
)
from tests.support.screens import sign_in
from tests.support.wallet import Wallet, ticket_payload
from tixtrace.backoffice.db.tables import events, executions, login_attempts
from tixtrace.backoffice.security import SESSION_COOKIE, LoginThrottle, Signer, Throttled
from tixtrace.backoffice.services.executions import start_execution
from tixtrace.backoffice.services.sessions import LIFETIME_SECONDS, start_session
from tixtrace.kernel.clock import TestClock
from tixtrace.kernel.db import unit_of_work
from tixtrace.wallet.app import create_wallet_app

ANA, BEA = "ana@example.com", "bea@example.com"

def test_every_route_is_classified() -> None:
    """The walk finds the routes we know of, and every route is public (allow-listed) or of a kind whose
    refusal the tests below check; a new route that fits no kind fails here until it is classified."""
    assert [e for e, kind in BACKOFFICE_ROUTES if kind == "unclassified"] == []
    assert [e for e, kind in WALLET_ROUTES if kind == "unclassified"] == []
    assert set(BACKOFFICE_PUBLIC) <= set(BACKOFFICE_ENDPOINTS)
    assert set(WALLET_PUBLIC) <= set(WALLET_ENDPOINTS)
    assert {("POST", "/api/contacts"), ("GET", "/api/executions/{execution_id}"), ("GET", "/tickets"),
            ("POST", "/interfaces/{interface_id}"), ("POST", "/schedules/{schedule_id}/run")} \
        <= set(BACKOFFICE_ENDPOINTS)
    assert {("GET", "/organizer/tickets/diff"), ("POST", "/spectator/transfers/{transfer_id}/accept"),
            ("POST", "/sandbox/clock/advance"), ("GET", "/app"), ("POST", "/app/transfers/cancel")} \
        <= set(WALLET_ENDPOINTS)
    kinds = {kind for _, kind in BACKOFFICE_ROUTES} | {kind for _, kind in WALLET_ROUTES}
    assert kinds == {"public", "api", "screen", "organizer", "spectator", "page"}


def test_without_sandbox_the_passwordless_and_clock_routes_do_not_exist() -> None:
    """W9: the sandbox-only public routes (spectator page, clock) are absent from a production wallet."""
    memory = create_engine("sqlite://")
    paths = {path for _, path in endpoints(create_wallet_app(memory, sandbox=False))}
    memory.dispose()
    assert not any(p.startswith(("/sandbox", "/app")) for p in paths)



def _request(client: TestClient, method: str, path: str, **kwargs: Any) -> Any:
    body: dict[str, Any] = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
    return client.request(method, path, follow_redirects=False, **body, **kwargs)


def _client(application: FastAPI, credentials: dict[str, Any]) -> TestClient:
    """A browser-like client that sends `credentials` (auth, headers) with every request."""
    client = TestClient(application, raise_server_exceptions=False)
    client.auth = credentials.get("auth")
    client.headers.update(credentials.get("headers", {}))
    return client


def _reset(client: TestClient, credentials: dict[str, Any]) -> TestClient:
    """`client` with exactly the cookies of `credentials` (none left over from an earlier answer)."""
    client.cookies.clear()
    for name, value in credentials.get("cookies", {}).items():
        client.cookies.set(name, value)
    return client


def _not_401(response: Any, *, basic: bool) -> str | None:
    """Why ``response`` is not a 401 with the error envelope (and WWW-Authenticate: Basic), or None."""
    if response.status_code != 401:
        return f"status {response.status_code}: {response.text[:150]}"
    try:
        error = response.json().get("error") or {}
    except ValueError:
        return f"not JSON: {response.text[:150]}"
    if set(error) != {"code", "message", "details"} or not error["code"] or not error["message"]:
        return f"no error envelope: {response.text[:150]}"
    if basic and not response.headers.get("WWW-Authenticate", "").startswith("Basic"):
        return "no WWW-Authenticate: Basic"
    return None


def _not_redirect_to(response: Any, login: str) -> str | None:
    """Why ``response`` is not a redirect (303/302) to the page ``login``, or None."""
    if response.status_code not in (302, 303):
        return f"status {response.status_code}: {response.text[:150]}"
    location = response.headers.get("location", "")
    if location.split("?")[0].split("#")[0] != login:
        return f"redirects to {location!r}"
    return None


# --- the back office ---------------------------------------------------------------------------------


@pytest.fixture
def backoffice_ids(engine: Engine, world: Any, clock: TestClock) -> dict[str, str]:  # noqa: F811
    """An existing id for every path parameter of the back office (so a refusal is not a 404)."""
    with unit_of_work(engine) as conn:
        execution = start_execution(conn, world.feedback, clock.now()).id
        event = conn.scalar(select(func.min(events.c.id)))
    return {"contact_id": str(world.ana), "ticket_id": str(world.t1), "interface_id": str(world.interface),
            "schedule_id": str(world.feedback), "execution_id": str(execution), "event_id": str(event),
            "tab": "mobile"}


def _relaxed_throttle(app: FastAPI) -> None:  # noqa: F811
    """The enumeration sends many wrong passwords for one user: lift the throttle so each is a 401."""
    app.state.login_throttle = LoginThrottle(app.state.security_engine, lambda: 0.0, limit=10**9)


def test_every_backoffice_route_refuses_missing_and_wrong_credentials(
        app: FastAPI, web: TestClient, engine: Engine, clock: TestClock,  # noqa: F811
        backoffice_ids: dict[str, str]) -> None:
    """Each /api route answers 401 + envelope + WWW-Authenticate, and each screen redirects to /login,
    without credentials, with a wrong password, an unknown user (e.g. a wallet organizer's login), a
    bearer token (e.g. a spectator's), and a forged or expired session cookie; nothing changed."""
    _relaxed_throttle(app)
    before = export(engine)
    with unit_of_work(engine, write=False) as conn:
        executions_before = conn.scalar(select(func.count()).select_from(executions))
    forged = "a-token-the-server-never-handed-out"
    with unit_of_work(engine) as conn:
        expired = start_session(conn, USER, clock.now() - timedelta(seconds=LIFETIME_SECONDS + 1))
    wrong: dict[str, dict[str, Any]] = {
        "no credentials": {},
        "wrong password": {"auth": (USER, PASSWORD + "x")},
        "unknown user": {"auth": ("nobody", PASSWORD)},
        "bearer token": {"headers": {"Authorization": "Bearer some-spectator-token"}},
        "forged session cookie": {"cookies": {SESSION_COOKIE: forged}},
        "expired session cookie": {"cookies": {SESSION_COOKIE: expired}},
    }
    failures = []
    checked = 0
    clients = {name: _client(app, credentials) for name, credentials in wrong.items()}
    for endpoint, kind in BACKOFFICE_ROUTES:
        if kind == "public":
            continue
        method, template = endpoint
        path = fill_path(template, backoffice_ids)
        for name, credentials in wrong.items():
            response = _request(_reset(clients[name], credentials), method, path)
            if kind == "api":
                why = _not_401(response, basic=True)
            else:
                why = _not_redirect_to(response, "/login")
            checked += 1
            if why:
                failures.append((method, path, name, why))
    assert failures == []
    assert checked >= 6 * 40
    assert export(engine) == before
    with unit_of_work(engine, write=False) as conn:
        assert conn.scalar(select(func.count()).select_from(executions)) == executions_before


def test_the_api_with_a_session_cookie_needs_the_csrf_header_for_every_change(
        app: FastAPI, browser_session: TestClient, engine: Engine, backoffice_ids: dict[str, str]) -> None:  # noqa: F811
    """A real session cookie lets the browser read the API, but every non-GET /api route without the
    X-CSRF-Token header (or with a wrong one) is a 401, so another site cannot drive the API."""
    before = export(engine)
    failures = []
    for (method, template), kind in BACKOFFICE_ROUTES:
        if kind != "api" or method == "GET":
            continue
        path = fill_path(template, backoffice_ids)
        for headers in ({}, {"X-CSRF-Token": "forged"}):
            why = _not_401(_request(browser_session, method, path, headers=headers), basic=True)
            if why:
                failures.append((method, path, headers, why))
    assert failures == []
    assert export(engine) == before


@pytest.fixture
def browser_session(web: TestClient) -> TestClient:  # noqa: F811
    response = sign_in(web)
    assert response.status_code == 303, response.text
    return web


def test_backoffice_public_routes_answer_without_credentials(web: TestClient) -> None:  # noqa: F811
    """The allow-list is really open: health, login page (and its form), docs and static assets; `/` (the
    overview) sends to the login."""
    assert web.get("/health").json() == {"status": "ok"}
    login = web.get("/login")
    assert login.status_code == 200 and 'name="csrf_token"' in login.text
    assert sign_in(web, password="wrong password").status_code == 401  # the form answers, and refuses
    home = web.get("/", follow_redirects=False)
    assert home.status_code == 303 and home.headers["location"].startswith("/login")
    assert "/api/contacts" in web.get("/openapi.json").json()["paths"]
    assert web.get("/docs").status_code == 200
    assert web.get("/static/tixtrace.css").status_code == 200


def test_every_backoffice_form_post_needs_its_csrf_token(
        app: FastAPI, browser_session: TestClient, engine: Engine,  # noqa: F811
        backoffice_ids: dict[str, str]) -> None:
    """Every screen POST (enumerated), from a signed-in browser, without a token, with a forged one or
    with the token of another session, is a 403 page and changes nothing (the session stays valid)."""
    with unit_of_work(engine) as conn:
        other = start_session(conn, USER, START)  # another browser's session
    other_token = Signer(app.state.secret).csrf_token(other)
    posts = [(m, p) for (m, p), kind in BACKOFFICE_ROUTES if m == "POST" and kind == "screen"]
    assert len(posts) >= 6
    before = export(engine)
    with unit_of_work(engine, write=False) as conn:
        executions_before = conn.scalar(select(func.count()).select_from(executions))
    failures = []
    body = {"name": "renamed", "type": "TIXNGO", "url": "http://a.example/organizer/tickets", "login": "l",
            "password": "p4ssword", "custom_parameters": "", "function": "PUSH_CANCELLED", "launch": "MANUAL"}
    for _, template in posts:
        path = fill_path(template, backoffice_ids)
        for token in (None, "forged-token", other_token):
            data = dict(body) if token is None else {**body, "csrf_token": token}
            response = browser_session.post(path, data=data, follow_redirects=False)
            if response.status_code != 403 or "This form has expired" not in response.text:
                failures.append((path, token, response.status_code))
            header = browser_session.post(path, data=body, follow_redirects=False,
                                          headers={"X-CSRF-Token": token or ""})
            if header.status_code != 403:
                failures.append((path, f"header {token}", header.status_code))
    assert failures == []
    assert export(engine) == before
    with unit_of_work(engine, write=False) as conn:
        assert conn.scalar(select(func.count()).select_from(executions)) == executions_before
    assert browser_session.get("/tickets").status_code == 200  # still signed in


# --- the wallet ----------------------------------------------------------------------------------


@pytest.fixture
def wallet_ids(wallet: Wallet) -> dict[str, str]:  # noqa: F811
    """Ana's ticket T-1 with a pending transfer to Bea, and the ids of both for the path parameters."""
    wallet.inject(ticket_payload("T-1", ANA))
    transfer = wallet.transfer(ANA, "T-1", BEA)
    assert transfer.status_code == 201, transfer.text
    return {"ticket_id": "T-1", "ticketId": "T-1", "transfer_id": transfer.json()["transferId"],
            "transferId": transfer.json()["transferId"]}


@pytest.fixture
def wallet_state(wallet: Wallet) -> Iterator[Any]:  # noqa: F811
    def snapshot() -> Any:
        return wallet.all_records(), wallet.client.get("/organizer/settings", auth=wallet.auth).json(), \
            wallet.clock.now()
    yield snapshot


def test_every_wallet_route_refuses_missing_and_wrong_credentials(
        wallet: Wallet, wallet_ids: dict[str, str], wallet_state: Any) -> None:  # noqa: F811
    """Organizer and sandbox routes refuse (401 + envelope) no credentials, a wrong API key, an unknown
    e-mail, a spectator's bearer token and a back-office user; spectator routes refuse no token, a bogus
    or altered token and the organizer's credentials; the spectator page redirects to its sign-in
    without a session cookie, with a forged one or with the organizer's key in it. Nothing changed."""
    email, key = wallet.auth
    token = wallet.token(ANA)
    before = wallet_state()
    organizer_wrong: dict[str, dict[str, Any]] = {
        "no credentials": {},
        "wrong API key": {"auth": (email, key + "x")},
        "unknown e-mail": {"auth": ("nobody@example.com", key)},
        "a spectator token": {"headers": {"Authorization": f"Bearer {token}"}},
        "a back-office user": {"auth": (USER, PASSWORD)},
    }
    spectator_wrong: dict[str, dict[str, Any]] = {
        "no credentials": {},
        "bogus token": {"headers": {"Authorization": "Bearer bogus-token"}},
        "altered token": {"headers": {"Authorization": f"Bearer {token}x"}},
        "the organizer's credentials": {"auth": wallet.auth},
        "the organizer's key as a token": {"headers": {"Authorization": f"Bearer {key}"}},
    }
    page_wrong: dict[str, dict[str, Any]] = {
        "no session": {},
        "forged session cookie": {"cookies": {"tixtrace_wallet_session": "forged"}},
        "the organizer's key as session": {"cookies": {"tixtrace_wallet_session": key}},
        "the organizer's credentials": {"auth": wallet.auth},
    }
    failures = []
    checked = 0
    clients: dict[tuple[str, str], TestClient] = {}
    for endpoint, kind in WALLET_ROUTES:
        if kind == "public":
            continue
        method, template = endpoint
        path = fill_path(template, wallet_ids)
        wrong = {"organizer": organizer_wrong, "spectator": spectator_wrong, "page": page_wrong}[kind]
        for name, credentials in wrong.items():
            if (kind, name) not in clients:
                clients[(kind, name)] = _client(cast(FastAPI, wallet.client.app), credentials)
            client = _reset(clients[(kind, name)], credentials)
            if kind == "page" and method == "POST":
                response = client.post(path, data={"csrf": "x", "transferId": wallet_ids["transfer_id"],
                                                   "ticketId": "T-1", "recipientEmail": BEA},
                                       follow_redirects=False)
            else:
                response = _request(client, method, path)
            why = _not_redirect_to(response, "/app/login") if kind == "page" else _not_401(response, basic=False)
            checked += 1
            if why:
                failures.append((method, path, name, why))
    assert failures == []
    assert checked >= 5 * 20
    assert wallet_state() == before


def test_wallet_public_routes_answer_without_credentials(wallet: Wallet) -> None:  # noqa: F811
    """The wallet's allow-list is really open: health, sandbox session, sign-in page, docs, CSS."""
    client = TestClient(wallet.client.app)
    assert client.get("/health").json() == {"status": "ok"}
    assert client.post("/spectator/session", json={"email": ANA}).json()["token"]
    sign_in_page = client.get("/app/login")
    assert sign_in_page.status_code == 200 and 'name="csrf"' in sign_in_page.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', sign_in_page.text)
    assert csrf is not None
    signed = client.post("/app/login", data={"csrf": csrf.group(1), "email": ANA}, follow_redirects=False)
    assert signed.status_code == 303 and "tixtrace_wallet_session" in signed.headers.get("set-cookie", "")
    assert "/organizer/tickets" in client.get("/openapi.json").json()["paths"]
    assert client.get("/docs").status_code == 200
    css = [p for p in re.findall(r'href="([^"]+\.css[^"]*)"', sign_in_page.text) if p.startswith("/app/static")]
    assert css and client.get(css[0]).status_code == 200


# --- the login throttle ------------------------------------------------------------------------------


def test_the_throttle_counts_attempts_per_name_within_the_window(engine: Engine) -> None:  # noqa: F811
    """Unit, on the database: the 11th attempt within 5 minutes is refused (Retry-After = until the
    window that began with the first attempt ends), other names are not affected, a success gives its
    attempt back, names differing in case or width share one budget, and a new window starts after 5
    minutes, deleting the rows of windows that have ended."""
    now = [1000.0]
    throttle = LoginThrottle(engine, lambda: now[0], limit=10, window=300)
    for _ in range(9):
        throttle.attempt("operator")
        now[0] += 10
    throttle.succeeded(throttle.attempt("operator"))  # the real user signs in: 9 counted
    throttle.attempt("OPERATOR")  # the 10th (case-folded), at t=1090
    with pytest.raises(Throttled) as refused:
        throttle.attempt("ｏｐｅｒａｔｏｒ")  # fullwidth: the same name once normalized
    assert refused.value.seconds == 1000 + 300 - 1090
    throttle.attempt("someone")
    now[0] = 1300.0  # the operator's window has ended: a new one starts
    assert throttle.attempt("operator").count == 1
    throttle.attempt("another")
    with unit_of_work(engine, write=False) as conn:
        rows = sorted(row.window_start for row in conn.execute(select(login_attempts)))
    assert rows == [1090, 1300, 1300]  # "someone" (t=1090) has not ended yet; the window of t=1000 is gone


def test_repeated_wrong_passwords_are_throttled_on_the_form_and_the_api(
        app: FastAPI, web: TestClient, clock: TestClock) -> None:  # noqa: F811
    """On the app, with its test clock: 10 wrong passwords for "operator" (mixing the login form and
    HTTP Basic) and then even the right password is refused with 429 + Retry-After, on both; another
    user name is not; after 5 minutes of test-clock time the right password works again."""
    for attempt in range(10):
        if attempt % 2:
            assert sign_in(web, password=f"wrong {attempt}").status_code == 401
        else:
            assert web.get("/api/contacts", auth=(USER, f"wrong {attempt}")).status_code == 401
    api = web.get("/api/contacts", auth=(USER, PASSWORD))
    assert api.status_code == 429 and api.json()["error"]["code"] == "TOO_MANY_REQUESTS"
    assert int(api.headers["Retry-After"]) == 300
    form = sign_in(web)
    assert form.status_code == 429 and "Too many failed sign-ins" in form.text
    assert int(form.headers["Retry-After"]) == 300
    assert SESSION_COOKIE not in web.cookies
    assert web.get("/api/contacts", auth=("nobody", "x")).status_code == 401  # other names go on as usual
    clock.advance(299)
    assert int(web.get("/api/contacts", auth=(USER, PASSWORD)).headers["Retry-After"]) == 1
    clock.advance(timedelta(seconds=1).total_seconds())
    assert web.get("/api/contacts", auth=(USER, PASSWORD)).status_code == 200
    assert sign_in(web).status_code == 303
