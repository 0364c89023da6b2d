"""Flash messages: one message carried across a redirect (POST → 303 → GET) in a cookie, shown once.

The cookie holds ``base64url(JSON {kind, message, code})``, followed by ``.`` and an HMAC-SHA256 of it
when the service signs its flashes (`key`: the back office does, with its signing secret). A value
that is malformed, too long, of an unknown kind or, when signed, without the right signature reads
as no flash. Messages are only ever rendered escaped, so even an unsigned forged cookie can show no
more than harmless text (the wallet page accepts that: it has no server secret).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass

KINDS = ("info", "success", "error")
MAX_MESSAGE = 600
_LABEL = b"tixtrace flash v1|"


@dataclass(frozen=True)
class Flash:
    """A message shown once at the top of the next page; `code` is the error code when it reports one."""

    kind: str
    message: str
    code: str | None = None


def _mac(key: bytes, body: str) -> str:
    digest = hmac.digest(key, _LABEL + body.encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def encode_flash(flash: Flash, key: bytes | None = None) -> str:
    """The cookie value of `flash` (its message cut to `MAX_MESSAGE` characters), signed when `key` is given."""
    data = {"kind": flash.kind, "message": flash.message[:MAX_MESSAGE], "code": flash.code}
    body = base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")
    return f"{body}.{_mac(key, body)}" if key is not None else body


def decode_flash(value: str | None, key: bytes | None = None) -> Flash | None:
    """The flash of a cookie value, or None when absent or not one of ours."""
    if not value or len(value) > 8 * MAX_MESSAGE:
        return None
    body, _, signature = value.partition(".")
    if key is not None and not hmac.compare_digest(signature.encode(), _mac(key, body).encode()):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (binascii.Error, ValueError):
        return None
    if not isinstance(data, dict) or data.get("kind") not in KINDS:
        return None
    message, code = data.get("message"), data.get("code")
    if not isinstance(message, str) or not (code is None or isinstance(code, str)):
        return None
    return Flash(data["kind"], message[:MAX_MESSAGE], code)
