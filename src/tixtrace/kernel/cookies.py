"""The screens' cookies: every one is HttpOnly, SameSite=Lax, scoped to a path, and Secure over https.

Both services' pages (the back office's screens, the wallet's spectator page) keep their session, their
sign-in nonce and their flash message in cookies set here, so the flags cannot drift apart: no script
reads them (HttpOnly), another site's form cannot send them with a POST (SameSite=Lax), and over https
they never travel in clear (Secure).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response


def cookie_flags(request: Request, path: str = "/") -> dict[str, Any]:
    """The keywords of ``Response.set_cookie`` for one of our cookies under `path`."""
    return {"httponly": True, "samesite": "lax", "path": path, "secure": request.url.scheme == "https"}


def set_cookie(response: Response, request: Request, name: str, value: str, *, path: str = "/",
               max_age: int | None = None) -> None:
    """Set cookie `name`; without `max_age` it lasts as long as the browser session."""
    response.set_cookie(name, value, max_age=max_age, **cookie_flags(request, path))


def clear_cookie(response: Response, request: Request, name: str, *, path: str = "/") -> None:
    """Delete cookie `name` (the path must be the one it was set with)."""
    response.delete_cookie(name, **cookie_flags(request, path))
