"""``GET /docs`` of both services, offline: Swagger UI served from this package, never from a CDN.

The assets are vendored in ``kernel/static/swagger`` (see its VENDORED.txt and licence) and mounted at
``/docs/static``; the page has no inline script (``swagger-init.js`` reads the schema URL from the
page), so it runs under `DOCS_POLICY`, a Content-Security-Policy that allows scripts, styles and
requests of this site only. ReDoc, which only loads from a CDN, is not served.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from tixtrace.kernel.templates import security_headers

SWAGGER_ASSETS = Path(__file__).parent / "static" / "swagger"
DOCS_STATIC = "/docs/static"
#: Swagger UI sets style attributes and loads its icons as data: URIs; every script is this site's
DOCS_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
               "connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'")


def docs_page(title: str, openapi_url: str) -> str:
    return f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{escape(title)} - API docs</title>
  <link rel="stylesheet" href="{DOCS_STATIC}/swagger-ui.css">
  <script src="{DOCS_STATIC}/swagger-ui-bundle.js" defer></script>
  <script src="{DOCS_STATIC}/swagger-init.js" defer></script>
</head>
<body>
  <div id="swagger-ui" data-openapi-url="{escape(openapi_url)}"></div>
</body>
</html>
"""


def install_docs(app: FastAPI) -> None:
    """Serve ``/docs`` from the vendored assets (build the app with ``docs_url=None, redoc_url=None``)."""
    assert app.docs_url is None and app.redoc_url is None, "the CDN docs pages of FastAPI must be off"
    app.mount(DOCS_STATIC, StaticFiles(directory=SWAGGER_ASSETS), name="docs-static")
    page = docs_page(app.title, app.openapi_url or "/openapi.json")
    headers = security_headers(DOCS_POLICY)

    async def docs(_request: Request) -> HTMLResponse:
        return HTMLResponse(page, headers=headers)

    app.add_route("/docs", docs, include_in_schema=False)  # a plain route, as FastAPI's own docs page
