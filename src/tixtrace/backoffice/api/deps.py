"""What every back-office route needs: the engine and clock of the app, the caller, paging parameters.

Every ``/api`` route requires a back-office user (HTTP Basic, or the screens' session); without
one, or with a wrong one, the answer is 401 with the error envelope and ``WWW-Authenticate: Basic``.
After too many failures for one user name the answer is 429 with ``Retry-After`` (see
`tixtrace.backoffice.web.security.LoginThrottle`; shared with the login form).
Ids in paths are bounded to the 64-bit range, so a huge number is a 422, never a database overflow.
"""

from __future__ import annotations

import binascii
from base64 import b64decode
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from sqlalchemy import Connection, Engine
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import HTTPConnection

from tixtrace.backoffice.services.users import Authenticator
from tixtrace.backoffice.services.validation import MAX_ID
from tixtrace.kernel.clock import Clock
from tixtrace.kernel.cursors import decode_int_cursor, encode_cursor
from tixtrace.kernel.db import unit_of_work
from tixtrace.kernel.errors import BadInput, Unauthorized
from tixtrace.kernel.web import WHOLE_NUMBER

MAX_PAGE = 1000


def _refused() -> Unauthorized:
    return Unauthorized("a back-office user name and password are required (HTTP Basic)", code="UNAUTHORIZED")


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
        from tixtrace.backoffice.web.security import api_session_user  # the web package imports this module

        user = api_session_user(request)
        if user is None:
            raise _refused()
        return user
    from tixtrace.backoffice.web.security import login_throttle

    throttle = login_throttle(request.app)
    name = credentials.username
    wait = throttle.retry_after(name)
    if wait is not None:
        raise _throttled(wait)
    authenticator: Authenticator = request.app.state.authenticator
    try:
        user = authenticator.authenticate(name, credentials.password)
    except Unauthorized:
        throttle.failed(name)
        raise
    throttle.succeeded(name)
    return user


User = Annotated[str, Depends(current_user)]


class Context:
    """The app's engine and clock, handed to routes."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock

    @contextmanager
    def write(self) -> Iterator[Connection]:
        with unit_of_work(self.engine) as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with unit_of_work(self.engine, write=False) as conn:
            yield conn


def context(request: Request) -> Context:
    ctx: Context = request.app.state.context
    return ctx


Ctx = Annotated[Context, Depends(context)]


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
    key = decode_int_cursor(cursor)
    if key > maximum:
        raise BadInput(f"cursor {cursor!r} is not a value this server issued; pass back the one from the last page",
                       code="INVALID_CURSOR", details={"parameter": "cursor", "value": cursor})
    return key


def next_cursor(last_id: int | None) -> str | None:
    return encode_cursor(last_id) if last_id is not None else None
