"""Reading the screens' HTML forms: bounded URL-encoded bodies, parsed with the stdlib.

The project does not depend on python-multipart, and a plain ``<form method="post">`` (and htmx) only
ever sends ``application/x-www-form-urlencoded``, which is ASCII by definition (browsers percent-encode
the rest), so the body is parsed here with ``urllib.parse``. Invariants: a body is read at most
`max_bytes` (declared or streamed) and at most `max_fields` fields are parsed; anything odd is a
``BadInput`` (422) with a stable code, never a 500:

- ``UNSUPPORTED_FORM``: a non-empty body of another content type (an empty one is an empty form);
- ``FORM_TOO_LARGE``: more than `max_bytes`;
- ``INVALID_FORM``: not ASCII, not UTF-8 once percent-decoded, or too many fields;
- ``INVALID_INPUT``: a NUL character in a name or value (PostgreSQL cannot store it), naming the field
  by its label.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import parse_qs

from starlette.requests import Request

from tixtrace.kernel.errors import BadInput, KernelCode

FORM_TYPE = "application/x-www-form-urlencoded"


class Form:
    """A posted form: every value as text; an absent field reads as ``""``, a repeated one as its first value."""

    def __init__(self, fields: Mapping[str, list[str]] | None = None) -> None:
        self.fields: dict[str, list[str]] = dict(fields or {})

    def __contains__(self, name: object) -> bool:
        return name in self.fields

    def get(self, name: str, default: str = "") -> str:
        values = self.fields.get(name)
        return values[0] if values else default

    def text(self, name: str) -> str:
        """The value, trimmed."""
        return self.get(name).strip()

    def optional(self, name: str) -> str | None:
        """The value, or None when absent or blank (blank = "not given")."""
        value = self.get(name)
        return value if value.strip() else None


async def read_form(request: Request, *, max_bytes: int, max_fields: int,
                    labels: Mapping[str, str] | None = None) -> Form:
    """The URL-encoded body of a POST. `labels` name fields in messages (field name → what the page shows)."""
    too_large = BadInput(f"the form is larger than {max(1, max_bytes // 1024)} KB", code=KernelCode.FORM_TOO_LARGE)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > max_bytes:
            raise too_large
    if not body:
        return Form()
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in (FORM_TYPE, ""):
        raise BadInput(f"forms are posted as {FORM_TYPE}", code=KernelCode.UNSUPPORTED_FORM)
    try:
        fields = parse_qs(body.decode("ascii"), keep_blank_values=True, encoding="utf-8", errors="strict",
                          max_num_fields=max_fields)
    except (UnicodeDecodeError, ValueError):
        raise BadInput("the form could not be read (not URL-encoded UTF-8 text, or too many fields)",
                       code=KernelCode.INVALID_FORM) from None
    for name, values in fields.items():
        if "\x00" in name or any("\x00" in value for value in values):
            field = name.replace("\x00", "")
            label = (labels or {}).get(field, field)
            raise BadInput(f"{label}: text must not contain NUL characters", code=KernelCode.INVALID_INPUT,
                           details={"field": field})
    return Form(fields)
