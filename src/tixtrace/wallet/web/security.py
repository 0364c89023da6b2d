"""The spectator page's cookies and CSRF tokens (stdlib HMAC, no server-side state of its own).

- Session cookie ``tixtrace_wallet_session`` holds the spectator's bearer token, the same one the
  JSON API takes (``spectators.start_session``): HttpOnly, SameSite=Lax, Path=/app, Secure over https.
  The names start with ``tixtrace_wallet_`` because browsers share cookies between the ports of one
  host: the back office's ``tixtrace_session`` (Path=/) must never meet the wallet's.
- CSRF token of a session = HMAC-SHA256 keyed with the session token over a fixed purpose label. Only
  a holder of the (HttpOnly) cookie can compute it, and it needs no secret of the server, so it works
  the same across restarts and workers. Every POST form carries it in the hidden ``csrf`` field; a
  POST without the right one is refused with 403.
- The sign-in form, posted before any session exists, is tied the same way to a random
  ``tixtrace_wallet_login`` cookie set when the form is shown (no login CSRF).
- Flash messages survive a redirect in ``tixtrace_wallet_flash`` (base64url JSON, read once). The text
  is only ever rendered escaped, so a forged cookie could at worst show harmless text.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

SESSION_COOKIE = "tixtrace_wallet_session"
LOGIN_COOKIE = "tixtrace_wallet_login"
FLASH_COOKIE = "tixtrace_wallet_flash"
CSRF_FIELD = "csrf"
_CSRF_LABEL = b"tixtrace wallet page: csrf v1"
_MAX_FLASH = 600


def csrf_token(secret: str) -> str:
    """The CSRF token tied to ``secret`` (a session token, or the sign-in form's nonce)."""
    return hmac.new(secret.encode("utf-8", "surrogatepass"), _CSRF_LABEL, hashlib.sha256).hexdigest()


def csrf_ok(secret: str | None, submitted: str | None) -> bool:
    if not secret or not submitted:
        return False
    return hmac.compare_digest(csrf_token(secret).encode(), submitted.encode("utf-8", "surrogatepass"))


def new_login_nonce() -> str:
    return secrets.token_urlsafe(24)


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def set_cookie(response: Response, request: Request, name: str, value: str, path: str) -> None:
    response.set_cookie(name, value, path=path, httponly=True, samesite="lax", secure=_secure(request))


def clear_cookie(response: Response, request: Request, name: str, path: str) -> None:
    response.delete_cookie(name, path=path, httponly=True, samesite="lax", secure=_secure(request))


@dataclass(frozen=True)
class Flash:
    """A message shown once at the top of the page. ``kind`` is ``success`` or ``error``."""

    kind: str
    message: str
    code: str | None = None


def encode_flash(flash: Flash) -> str:
    body = json.dumps({"kind": flash.kind, "message": flash.message[:_MAX_FLASH], "code": flash.code})
    return base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")


def decode_flash(value: str | None) -> Flash | None:
    """The flash of a cookie value, or None when absent or not one of ours."""
    if not value or len(value) > 4 * _MAX_FLASH:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
    except (binascii.Error, ValueError):
        return None
    if not isinstance(data, dict) or data.get("kind") not in ("success", "error"):
        return None
    message, code = data.get("message"), data.get("code")
    if not isinstance(message, str) or not (code is None or isinstance(code, str)):
        return None
    return Flash(data["kind"], message[:_MAX_FLASH], code)
