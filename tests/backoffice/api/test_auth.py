"""HTTP Basic on every /api route; /health open."""

from __future__ import annotations

import base64

import pytest
from fastapi.testclient import TestClient

from tests.backoffice.helpers import PASSWORD, USER

ROUTES = [("GET", "/api/contacts"), ("POST", "/api/contacts"), ("GET", "/api/contacts/1"),
          ("POST", "/api/events"), ("GET", "/api/events"), ("POST", "/api/tickets"), ("GET", "/api/tickets/1"),
          ("POST", "/api/tickets/1/reprint"), ("GET", "/api/tickets/1/distribution-history"),
          ("POST", "/api/interfaces"), ("GET", "/api/interfaces/1"), ("PUT", "/api/interfaces/1"),
          ("POST", "/api/interfaces/1/schedules"), ("GET", "/api/schedules/1"), ("GET", "/api/executions/1")]


def test_health_needs_no_credentials(api: TestClient) -> None:
    response = api.get("/health", auth=None)
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_every_api_route_needs_credentials(api: TestClient) -> None:
    for method, path in ROUTES:
        response = api.request(method, path, auth=None, json={})
        assert response.status_code == 401, (method, path, response.text)
        assert response.json()["error"]["code"] == "UNAUTHORIZED"
        assert response.headers["WWW-Authenticate"].startswith("Basic")


@pytest.mark.parametrize("header", [
    "Bearer abc",
    "Basic not-base64!!",
    "Basic " + base64.b64encode(b"no-colon").decode(),
    "Basic " + base64.b64encode(f"{USER}:wrong password".encode()).decode(),
    "Basic " + base64.b64encode(f"nobody:{PASSWORD}".encode()).decode(),
    "Basic " + base64.b64encode(b"\xff\xfe:\x00").decode(),
    "Basic " + base64.b64encode(("x" * 500 + ":" + "y" * 500).encode()).decode(),
], ids=["bearer", "bad-base64", "no-colon", "wrong-password", "unknown-user", "not-utf8", "huge"])
def test_bad_credentials_are_refused_with_the_envelope(api: TestClient, header: str) -> None:
    headers = {"Authorization": header}
    for method, path in [("GET", "/api/contacts"), ("POST", "/api/tickets/1/reprint")]:
        response = api.request(method, path, auth=None, headers=headers, json={})
        assert response.status_code == 401, (method, path, response.text)
        assert response.json()["error"]["code"] == "UNAUTHORIZED"
        assert response.headers["WWW-Authenticate"].startswith("Basic")


def test_good_credentials_pass(api: TestClient) -> None:
    assert api.get("/api/contacts").status_code == 200
    assert api.get("/api/contacts").status_code == 200  # second time from the verified cache
