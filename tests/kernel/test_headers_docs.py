"""Every answer of both services carries a Content-Security-Policy, and ``/docs`` works offline from
vendored assets (DESIGN section 10, issue 12)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.kernel.test_limits import _app
from tixtrace.kernel.docs import SWAGGER_ASSETS
from tixtrace.kernel.headers import API_POLICY


@pytest.mark.parametrize("service", ["wallet", "backoffice"])
def test_every_answer_sends_a_content_security_policy(service: str, tmp_path: Path) -> None:
    """JSON (health, a 401, a 404, a 422), the schema, the docs page and its assets: each has a CSP;
    the JSON answers the strictest one (before: only the screens had one)."""
    with TestClient(_app(service, tmp_path)) as client:
        for path in ("/health", "/openapi.json", "/no/such/path", "/docs", "/docs/static/swagger-ui.css"):
            answer = client.get(path)
            assert answer.headers.get("content-security-policy"), path
        target = "/organizer/tickets" if service == "wallet" else "/api/contacts"
        for answer in (client.get("/health"), client.post(target, content=b"{")):
            assert answer.headers["content-security-policy"] == API_POLICY
            assert answer.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("service", ["wallet", "backoffice"])
def test_docs_load_only_from_this_site(service: str, tmp_path: Path) -> None:
    """``/docs`` references no other host (before: Swagger UI from a CDN), has no inline script (its
    CSP allows scripts of this site only), and every asset it names is served with its licence beside."""
    with TestClient(_app(service, tmp_path)) as client:
        page = client.get("/docs")
        assert page.status_code == 200
        assert "http" not in page.text and "cdn" not in page.text.lower()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page.text), "an inline script"
        csp = page.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-eval" not in csp
        assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert len(assets) == 3
        for asset in assets:
            assert asset.startswith("/docs/static/") and client.get(asset).status_code == 200, asset
        assert client.get("/redoc").status_code == 404  # ReDoc only loads from a CDN
    assert (SWAGGER_ASSETS / "swagger-ui.LICENSE.txt").read_text().lstrip().startswith("Apache License")
