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

from tixtrace.kernel.errors import BadInput, KernelCode

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
            code=KernelCode.INVALID_CURSOR,
            details={"parameter": name, "value": cursor},
        ) from exc


def _not_issued(cursor: str | None, name: str) -> BadInput:
    return BadInput(
        f"{name} {cursor!r} is not a value this server issued; pass back the one from the last page",
        code=KernelCode.INVALID_CURSOR,
        details={"parameter": name, "value": cursor},
    )


def decode_int_cursor(cursor: str | None, *, name: str = "cursor", maximum: int = MAX_INT_KEY) -> int:
    """Decode a cursor that must hold an integer key in 0..`maximum` (0 when absent). ``maximum``: the
    largest id of the column paged (e.g. 2^31 - 1 for a 32-bit one), so a larger key is a 422, not a
    database overflow."""
    key = decode_cursor(cursor, name=name)
    if key is None:
        return 0
    if not isinstance(key, int) or isinstance(key, bool) or not 0 <= key <= min(maximum, MAX_INT_KEY):
        raise _not_issued(cursor, name)
    return key


def encode_position_cursor(key: tuple[int, int]) -> str:
    """The cursor of an (order, id) keyset position: two integers, the id positive."""
    return encode_cursor(list(key))


def decode_position_cursor(cursor: str | None, *, name: str = "cursor") -> tuple[int, int] | None:
    """The (order, id) position an `encode_position_cursor` cursor holds; None when absent.

    ``order`` may be negative (the distribution history's lines read before its wallet order was
    recorded sort before every later one); both stay within a BIGINT. Anything else is a 422
    INVALID_CURSOR: another shape, a non-integer, an id outside 1..2^63-1 (which no database could bind)."""
    key = decode_cursor(cursor, name=name)
    if key is None:
        return None
    try:
        order, last_id = key
        for value in (order, last_id):
            if not isinstance(value, int) or isinstance(value, bool) or abs(value) > MAX_INT_KEY:
                raise ValueError
        if last_id < 1:
            raise ValueError
        return order, last_id
    except (TypeError, ValueError):
        raise _not_issued(cursor, name) from None
