"""kernel/flash.py: a flash survives its cookie; a forged, malformed or unsigned one (when signed) reads as none."""

from __future__ import annotations

import base64
import json

import pytest

from tixtrace.kernel.flash import MAX_MESSAGE, Flash, decode_flash, encode_flash


@pytest.mark.parametrize("key", [None, b"secret"])
def test_a_flash_reads_back_as_written(key: bytes | None) -> None:
    flash = Flash("error", "Ticket T1 is «gone» <b>", "TICKET_NOT_FOUND")
    assert decode_flash(encode_flash(flash, key), key) == flash
    assert decode_flash(encode_flash(Flash("info", "x" * 5000), key), key) == Flash("info", "x" * MAX_MESSAGE)


def test_a_signed_flash_needs_its_signature() -> None:
    value = encode_flash(Flash("success", "Saved."), b"secret")
    body = value.partition(".")[0]
    assert decode_flash(body, b"secret") is None
    assert decode_flash(value, b"other") is None
    assert decode_flash(encode_flash(Flash("success", "Saved.")), b"secret") is None


def _raw(data: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


@pytest.mark.parametrize("value", [
    None, "", "%%%", "x" * 10_000, _raw([1, 2]), _raw({"kind": "evil", "message": "m"}),
    _raw({"kind": "info", "message": 1}), _raw({"kind": "info", "message": "m", "code": 2}),
])
def test_anything_else_is_no_flash(value: str | None) -> None:
    assert decode_flash(value) is None
