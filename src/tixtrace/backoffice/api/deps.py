"""What every back-office API route needs: the caller, paging parameters and ids in paths.

Every ``/api`` route requires a back-office user (HTTP Basic, or the screens' session); without
one, or with a wrong one, the answer is 401 with the error envelope and ``WWW-Authenticate: Basic``.
After too many failures for one user name the answer is 429 with ``Retry-After`` (see
`tixtrace.backoffice.security.sign_in`, shared with the login form). The request's engine and clock
come from `tixtrace.backoffice.backend`.
Ids in paths are bounded to the 64-bit range, so a huge number is a 422, never a database overflow.
"""

from __future__ import annotations

import binascii
from base64 import b64decode
from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import HTTPConnection

from tixtrace.backoffice.security import Throttled, api_session_user, sign_in
from tixtrace.backoffice.services.validation import MAX_ID
from tixtrace.kernel.cursors import decode_int_cursor, encode_cursor
from tixtrace.kernel.errors import KernelCode, Unauthorized
from tixtrace.kernel.web import WHOLE_NUMBER

MAX_PAGE = 1000


def _refused() -> Unauthorized:
    return Unauthorized("a back-office user name and password are required (HTTP Basic)", code=KernelCode.UNAUTHORIZED)


def _throttled(seconds: int) -> StarletteHTTPException:
    """429 TOO_MANY_REQUESTS with Retry-After (the kernel's HTTP handler keeps the envelope and headers)."""
    return StarletteHTTPException(429, f"too many failed sign-ins for this user name; try again in {seconds} s",
                                  headers={"Retry-After": str(seconds)})


class Basic(HTTPBasic):
    """HTTP Basic that reads UTF-8 credentials (not only ASCII) and refuses with our envelope."""

    async def __call__(self, request: HTTPConnection) -> HTTPBasicCredentials | None:  # type: ignore[override]
        if "Authorization" not in request.headers:
            return None  # maybe a web session (current_user)
        authorization = request.headers.get("Authorization") or ""
        scheme, _, param = authorization.partition(" ")
        if scheme.lower() != "basic":
            raise _refused()
        try:
            data = b64decode(param.strip(), validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError, binascii.Error):
            raise _refused() from None
        name, separator, password = data.partition(":")
        if not separator:
            raise _refused()
        return HTTPBasicCredentials(username=name, password=password)


basic = Basic(description="A back-office user (tixtrace backoffice create-user)")


def current_user(request: Request, credentials: Annotated[HTTPBasicCredentials | None, Depends(basic)]) -> str:
    """HTTP Basic, or the screens' session cookie (with the X-CSRF-Token header for a change)."""
    if credentials is None:
        user = api_session_user(request)
        if user is None:
            raise _refused()
        return user
    try:
        return sign_in(request, credentials.username, credentials.password)
    except Throttled as throttled:
        raise _throttled(throttled.seconds) from None


User = Annotated[str, Depends(current_user)]


#: events, interfaces and schedules have 32-bit ids (INTEGER columns); a larger one is a 422, not a
#: PostgreSQL "integer out of range" (a 500) or a silent difference from SQLite
MAX_SMALL_ID = 2**31 - 1


def _path_id(name: str, maximum: int = MAX_ID) -> Any:
    return Path(ge=1, le=maximum, description=f"the {name}'s id")


ContactId = Annotated[int, _path_id("contact")]
EventId = Annotated[int, _path_id("event", MAX_SMALL_ID)]
TicketId = Annotated[int, _path_id("ticket")]
InterfaceId = Annotated[int, _path_id("interface", MAX_SMALL_ID)]
ScheduleId = Annotated[int, _path_id("schedule", MAX_SMALL_ID)]
ExecutionId = Annotated[int, _path_id("execution")]

Cursor = Annotated[str | None, Query(max_length=500, description="nextCursor of the previous page")]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description="items per page"), WHOLE_NUMBER]


def after_id(cursor: str | None, maximum: int = MAX_ID) -> int:
    """The id a page starts after; a cursor this server did not issue is a 422 INVALID_CURSOR.
    ``maximum``: MAX_SMALL_ID for the tables with 32-bit ids."""
    return decode_int_cursor(cursor, maximum=maximum)


def next_cursor(last_id: int | None) -> str | None:
    return encode_cursor(last_id) if last_id is not None else None
