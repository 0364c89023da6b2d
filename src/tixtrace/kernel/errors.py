"""The error hierarchy shared by both services (house rule 7).

Library errors are translated at the boundary into these; each carries a stable ``code``, a human
message and optional ``details``, and maps to one HTTP status. The JSON envelope is
``{"error": {"code", "message", "details"}}`` everywhere.
"""

from __future__ import annotations

import traceback
from typing import Any


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
    default_code = "INTERNAL_ERROR"

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
    default_code = "INVALID_INPUT"


class Unauthorized(TixtraceError):
    """No or bad credentials (401)."""

    status = 401
    default_code = "UNAUTHORIZED"


class Forbidden(TixtraceError):
    """Authenticated, but not allowed to touch this resource (403)."""

    status = 403
    default_code = "FORBIDDEN"


class NotFound(TixtraceError):
    """Unknown resource (404)."""

    status = 404
    default_code = "NOT_FOUND"


class Conflict(TixtraceError):
    """The resource's state forbids the action (409)."""

    status = 409
    default_code = "CONFLICT"


class Unavailable(TixtraceError):
    """A dependency (database lock, other service) is not available right now (503)."""

    status = 503
    default_code = "UNAVAILABLE"
