"""The error hierarchy shared by both services (house rule 7).

Library errors are translated at the boundary into these; each carries a stable ``code``, a human
message and optional ``details``, and maps to one HTTP status. The JSON envelope is
``{"error": {"code", "message", "details"}}`` everywhere.

Codes are a public contract, so each lives in one catalogue (a `StrEnum`: the JSON stays the plain
string) and every raise names a member, never a literal (tests/test_error_codes.py holds this):
`KernelCode` here for what any HTTP service may answer, `CommandCode` for what only the command line
says, `tixtrace.wallet.domain.errors.WalletCode` and `tixtrace.backoffice.domain.errors.BackofficeCode`
for each service's own. Each service's OpenAPI document lists its catalogue and `KernelCode` as the
``enum`` of the error code (`tixtrace.kernel.web.install_error_handlers`).
"""

from __future__ import annotations

import traceback
from enum import StrEnum
from typing import Any


class KernelCode(StrEnum):
    """Codes any HTTP service may answer: the exception classes' defaults, the HTTP statuses the
    framework raises, and the kernel modules' own refusals."""

    INTERNAL_ERROR = "INTERNAL_ERROR"
    INVALID_INPUT = "INVALID_INPUT"
    UNAUTHORIZED = "UNAUTHORIZED"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    CONFLICT = "CONFLICT"
    UNAVAILABLE = "UNAVAILABLE"
    # HTTP statuses raised by the framework or by routes (kernel.web maps them)
    BAD_REQUEST = "BAD_REQUEST"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    REQUEST_TIMEOUT = "REQUEST_TIMEOUT"
    UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
    TOO_MANY_REQUESTS = "TOO_MANY_REQUESTS"
    HTTP_ERROR = "HTTP_ERROR"
    # kernel modules
    INVALID_CURSOR = "INVALID_CURSOR"
    CLOCK_OUT_OF_RANGE = "CLOCK_OUT_OF_RANGE"
    INVALID_CLOCK_ADVANCE = "INVALID_CLOCK_ADVANCE"
    FORM_TOO_LARGE = "FORM_TOO_LARGE"
    INVALID_FORM = "INVALID_FORM"
    UNSUPPORTED_FORM = "UNSUPPORTED_FORM"


class CommandCode(StrEnum):
    """Codes only the command line shows (start-up and the demo), never an HTTP answer."""

    INVALID_DATABASE_URL = "INVALID_DATABASE_URL"
    PORT_IN_USE = "PORT_IN_USE"
    DEMO_ACTION_REFUSED = "DEMO_ACTION_REFUSED"
    INVALID_TICKETS = "INVALID_TICKETS"
    SECRET_KEY_TOO_SHORT = "SECRET_KEY_TOO_SHORT"
    ORGANIZER_NOT_FOUND = "ORGANIZER_NOT_FOUND"
    SERVICE_DID_NOT_START = "SERVICE_DID_NOT_START"
    SCHEDULER_ALREADY_RUNNING = "SCHEDULER_ALREADY_RUNNING"


def describe(exc: BaseException) -> str:
    """An unexpected exception in one line for people (execution logs): its type and the first line of
    its text, never the rest: a database error's text carries the SQL parameters and PostgreSQL's
    DETAIL line, which may hold e-mail addresses or names (DESIGN 10)."""
    cause = getattr(exc, "orig", None) or exc
    first = (str(cause).strip().splitlines() or [""])[0]
    return f"{type(cause).__name__}: {first}"[:500]


def failure_for_log(exc: BaseException) -> str:
    """`describe` and the traceback's frames (code lines, no values): what the logs keep of a bug."""
    frames = "".join(traceback.format_tb(exc.__traceback__)).rstrip()
    return f"{describe(exc)}\nTraceback (most recent call last):\n{frames}"


class TixtraceError(Exception):
    """Base of every error we raise on purpose. ``status`` is the HTTP status it maps to."""

    status = 500
    default_code: str = KernelCode.INTERNAL_ERROR

    def __init__(self, message: str, *, code: str | None = None, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.details = details or {}

    def envelope(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class BadInput(TixtraceError):
    """The request is malformed or a value is out of range (422)."""

    status = 422
    default_code = KernelCode.INVALID_INPUT


class Unauthorized(TixtraceError):
    """No or bad credentials (401)."""

    status = 401
    default_code = KernelCode.UNAUTHORIZED


class Forbidden(TixtraceError):
    """Authenticated, but not allowed to touch this resource (403)."""

    status = 403
    default_code = KernelCode.FORBIDDEN


class NotFound(TixtraceError):
    """Unknown resource (404)."""

    status = 404
    default_code = KernelCode.NOT_FOUND


class Conflict(TixtraceError):
    """The resource's state forbids the action (409)."""

    status = 409
    default_code = KernelCode.CONFLICT


class Unavailable(TixtraceError):
    """A dependency (database lock, other service) is not available right now (503)."""

    status = 503
    default_code = KernelCode.UNAVAILABLE
