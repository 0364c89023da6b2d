"""Reading the page's HTML forms: bounded URL-encoded bodies (`tixtrace.kernel.forms`), validated with the
API's models.

Anything odd (another content type, a body over 64 KiB, invalid UTF-8, NUL characters) is a ``BadInput``
shown as a flash message, never a 500; messages name fields by the labels the page shows. Field values
go through the same pydantic models as the JSON API (``ProfileUpdate``, ``Holder``) so the page cannot
store what the API would refuse.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from tixtrace.kernel import forms
from tixtrace.kernel.errors import BadInput, KernelCode
from tixtrace.kernel.forms import Form

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


async def read_form(request: Request) -> Form:
    """The URL-encoded body of a POST; an empty Form when there is none. Raises BadInput."""
    return await forms.read_form(request, max_bytes=MAX_BODY_BYTES, max_fields=MAX_FIELDS, labels=LABELS)


def validated(model: type[M], data: dict[str, Any]) -> M:
    """``model`` built from ``data``, or BadInput naming the first bad field by its label."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first.get("loc") else "form"
        label = LABELS.get(field, field)
        message = "is required" if first.get("type") == "string_too_short" else _clean(first.get("msg", "invalid"))
        raise BadInput(f"{label}: {message}", code=KernelCode.INVALID_INPUT,
                       details={"field": field, "errors": [_plain(e) for e in exc.errors()]}) from None


def _clean(message: str) -> str:
    return message.removeprefix("Value error, ")


def _plain(error: Any) -> dict[str, Any]:
    return {"location": ".".join(str(part) for part in error.get("loc", ())), "message": _clean(error.get("msg", ""))}
