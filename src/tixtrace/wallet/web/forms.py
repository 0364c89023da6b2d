"""Reading the page's HTML forms: URL-encoded bodies parsed with the stdlib, validated with the API's models.

The project does not depend on python-multipart, and plain ``<form method="post">`` only ever sends
``application/x-www-form-urlencoded``, so the body is parsed here with ``urllib.parse``. Anything odd
(another content type, a body over 64 KiB, invalid UTF-8, NUL characters) is a ``BadInput`` shown
as a flash message, never a 500. Field values go through the same pydantic models as the JSON API
(``ProfileUpdate``, ``Holder``) so the page cannot store what the API would refuse.
"""

from __future__ import annotations

from typing import Any, TypeVar
from urllib.parse import parse_qsl

from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from tixtrace.kernel.errors import BadInput

M = TypeVar("M", bound=BaseModel)

MAX_BODY_BYTES = 64 * 1024
MAX_FIELDS = 50

#: form field (the API's camelCase name) → the label the page shows
LABELS = {
    "firstName": "First name", "lastName": "Last name", "title": "Title", "dateOfBirth": "Date of birth",
    "nationality": "Nationality", "idCardNumber": "ID card number", "phoneNumber": "Phone number",
    "residenceCountry": "Country of residence", "language": "Language", "recipientEmail": "Recipient e-mail",
    "email": "E-mail", "organizerSpectatorPreference": "E-mail preferences",
}


class Form(dict[str, str]):
    """The fields of a posted form (the last value wins when a name repeats)."""

    def text(self, name: str) -> str:
        return self.get(name, "").strip()


async def read_form(request: Request) -> Form:
    """The URL-encoded body of a POST; an empty Form when there is none. Raises BadInput."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise BadInput("the form is too large", code="FORM_TOO_LARGE")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise BadInput("the form is too large", code="FORM_TOO_LARGE")
    if not body:
        return Form()
    if content_type != "application/x-www-form-urlencoded":
        raise BadInput("send the page's form (application/x-www-form-urlencoded)", code="UNSUPPORTED_FORM")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False,
                          max_num_fields=MAX_FIELDS, errors="strict")
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadInput("the form could not be read (invalid encoding or too many fields)",
                       code="INVALID_FORM") from exc
    form = Form()
    for name, value in pairs:
        if "\x00" in name or "\x00" in value:
            label = LABELS.get(name, name.replace("\x00", ""))
            raise BadInput(f"{label}: text must not contain NUL characters", code="INVALID_INPUT",
                           details={"field": name.replace("\x00", "")})
        form[name] = value
    return form


def validated(model: type[M], data: dict[str, Any]) -> M:
    """``model`` built from ``data``, or BadInput naming the first bad field by its label."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first.get("loc") else "form"
        label = LABELS.get(field, field)
        message = "is required" if first.get("type") == "string_too_short" else _clean(first.get("msg", "invalid"))
        raise BadInput(f"{label}: {message}", code="INVALID_INPUT",
                       details={"field": field, "errors": [_plain(e) for e in exc.errors()]}) from None


def _clean(message: str) -> str:
    return message.removeprefix("Value error, ")


def _plain(error: Any) -> dict[str, Any]:
    return {"location": ".".join(str(part) for part in error.get("loc", ())), "message": _clean(error.get("msg", ""))}
