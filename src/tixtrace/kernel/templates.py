"""Server-rendered pages: one Jinja setup and the security headers every page carries.

Invariants of a page rendered with `html_page`: its template was autoescaped (``.html``) with
`StrictUndefined` (a missing value is an error, not an empty string), and the response carries a
Content-Security-Policy (each service states its own: the back office allows its own scripts for htmx,
the wallet page none), ``X-Frame-Options: DENY``, ``nosniff``, ``Referrer-Policy: same-origin`` and
``Cache-Control: no-store`` (pages show personal data; nothing is kept by a shared cache or the
back button).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.responses import HTMLResponse

BASE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def template_environment(directory: Path) -> Environment:
    """Templates of `directory`: autoescaped, strict about undefined values, whitespace trimmed."""
    return Environment(loader=FileSystemLoader(directory), autoescape=select_autoescape(("html",)),
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def security_headers(content_security_policy: str) -> dict[str, str]:
    """The headers of every page: `BASE_HEADERS` and the service's Content-Security-Policy."""
    return {"Content-Security-Policy": content_security_policy, **BASE_HEADERS}


def html_page(environment: Environment, template: str, values: dict[str, Any], *, headers: dict[str, str],
              status: int = 200) -> HTMLResponse:
    """`template` rendered with `values`, answered with `status` and `headers` (`security_headers`)."""
    return HTMLResponse(environment.get_template(template).render(values), status_code=status, headers=headers)
