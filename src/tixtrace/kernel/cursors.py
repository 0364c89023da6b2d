"""Opaque keyset cursors.

A cursor is the last key a page ended on, encoded so that clients treat it as opaque and cannot
forge a malformed one silently: decoding checks its shape and raises ``BadInput`` naming the value.
Keyset paging (``WHERE key > :after ORDER BY key LIMIT n``) reads one index range per page, so the
cost of a page does not grow with how far the reader is.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from tixtrace.kernel.errors import BadInput

_PREFIX = "v1:"
MAX_INT_KEY = 2**63 - 1  # the largest BIGINT key: a larger one was not issued, and SQLite cannot bind it


def encode_cursor(key: Any) -> str:
    raw = (_PREFIX + json.dumps(key, separators=(",", ":"))).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, *, name: str = "cursor") -> Any:
    """Return the key inside ``cursor``; ``None`` or ``""`` means "from the start"."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        raw = base64.urlsafe_b64decode(padded.encode()).decode()
        if not raw.startswith(_PREFIX):
            raise ValueError("bad prefix")
        return json.loads(raw[len(_PREFIX) :])
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise BadInput(
            f"{name} {cursor!r} is not a value this server issued; pass back the one from the last page",
            code="INVALID_CURSOR",
            details={"parameter": name, "value": cursor},
        ) from exc


def decode_int_cursor(cursor: str | None, *, name: str = "cursor") -> int:
    """Decode a cursor that must hold a non-negative integer key (0 when absent)."""
    key = decode_cursor(cursor, name=name)
    if key is None:
        return 0
    if not isinstance(key, int) or isinstance(key, bool) or not 0 <= key <= MAX_INT_KEY:
        raise BadInput(
            f"{name} {cursor!r} is not a value this server issued; pass back the one from the last page",
            code="INVALID_CURSOR",
            details={"parameter": name, "value": cursor},
        )
    return key
