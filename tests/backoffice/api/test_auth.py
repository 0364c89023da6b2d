"""HTTP Basic on the /api routes: malformed Authorization headers are refused with the envelope, good
credentials pass. That every route (API and screens) refuses missing or wrong credentials, and that
/health is open, is proved for both services by tests/test_access_routes.py, which walks the routes."""

from __future__ import annotations

import base64

import pytest
from fastapi.testclient import TestClient

from tests.support.backoffice import PASSWORD, USER


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
