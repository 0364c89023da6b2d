"""kernel/cursors.py: cursors read back as written; anything a server did not issue is a 422 INVALID_CURSOR."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from tixtrace.kernel.cursors import (
    MAX_INT_KEY,
    decode_int_cursor,
    decode_moment_cursor,
    encode_cursor,
    encode_moment_cursor,
)
from tixtrace.kernel.errors import BadInput


def test_int_cursors_read_back_within_their_maximum() -> None:
    assert decode_int_cursor(None) == 0 and decode_int_cursor(encode_cursor(42)) == 42
    assert decode_int_cursor(encode_cursor(2**31 - 1), maximum=2**31 - 1) == 2**31 - 1
    for key in (2**31, -1, True, "1", 1.0):
        with pytest.raises(BadInput) as raised:
            decode_int_cursor(encode_cursor(key), maximum=2**31 - 1)
        assert raised.value.code == "INVALID_CURSOR" and raised.value.status == 422


def test_a_moment_cursor_reads_back_in_utc() -> None:
    at = datetime(2026, 6, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    assert decode_moment_cursor(None) is None
    assert decode_moment_cursor(encode_moment_cursor((at.isoformat(), 7))) == (datetime(2026, 6, 1, 12, tzinfo=UTC), 7)
    moment, key = decode_moment_cursor(encode_moment_cursor(("2026-06-01T12:00:00+00:00", MAX_INT_KEY))) or (None, 0)
    assert moment is not None and moment.tzinfo is not None and key == MAX_INT_KEY


@pytest.mark.parametrize("key", [["2026-06-01T12:00:00+00:00", MAX_INT_KEY + 1], ["2026-06-01T12:00:00+00:00", 0],
                                 ["2026-06-01T12:00:00+00:00", True], ["2026-06-01T12:00:00", 1],
                                 ["0001-01-01T00:00:00+14:00", 1], [20260601, 1], ["yesterday", 1], [1, 2, 3], 5,
                                 {"a": 1, "b": 2}, "ab"])
def test_anything_else_is_an_invalid_cursor(key: object) -> None:
    with pytest.raises(BadInput) as raised:
        decode_moment_cursor(encode_cursor(key))
    assert raised.value.code == "INVALID_CURSOR"
