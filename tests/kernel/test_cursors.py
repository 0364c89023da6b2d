"""kernel/cursors.py: cursors read back as written; anything a server did not issue is a 422 INVALID_CURSOR."""

from __future__ import annotations

import pytest

from tixtrace.kernel.cursors import (
    MAX_INT_KEY,
    decode_int_cursor,
    decode_position_cursor,
    encode_cursor,
    encode_position_cursor,
)
from tixtrace.kernel.errors import BadInput


def test_int_cursors_read_back_within_their_maximum() -> None:
    assert decode_int_cursor(None) == 0 and decode_int_cursor(encode_cursor(42)) == 42
    assert decode_int_cursor(encode_cursor(2**31 - 1), maximum=2**31 - 1) == 2**31 - 1
    for key in (2**31, -1, True, "1", 1.0):
        with pytest.raises(BadInput) as raised:
            decode_int_cursor(encode_cursor(key), maximum=2**31 - 1)
        assert raised.value.code == "INVALID_CURSOR" and raised.value.status == 422


def test_a_position_cursor_reads_back() -> None:
    assert decode_position_cursor(None) is None
    assert decode_position_cursor(encode_position_cursor((7, 3))) == (7, 3)
    assert decode_position_cursor(encode_position_cursor((-5, MAX_INT_KEY))) == (-5, MAX_INT_KEY)


@pytest.mark.parametrize("key", [[1, MAX_INT_KEY + 1], [-MAX_INT_KEY - 1, 1], [1, 0], [1, True], [True, 1],
                                 ["2026-06-01T12:00:00+00:00", 1], [1.0, 1], [1, 2, 3], 5, {"a": 1, "b": 2}, "ab"])
def test_anything_else_is_an_invalid_cursor(key: object) -> None:
    with pytest.raises(BadInput) as raised:
        decode_position_cursor(encode_cursor(key))
    assert raised.value.code == "INVALID_CURSOR"
