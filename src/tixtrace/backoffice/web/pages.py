"""What every screen shares: templates, the signed-in user, POST forms with their CSRF check, flash
messages, the login redirect, ids in paths, and the HTML error pages. The mechanics (Jinja setup and
security headers, bounded forms, CSRF tokens, flash cookies, cookie flags) are the kernel's, shared with
the wallet page; sessions and sign-in are `tixtrace.backoffice.security`'s.

Invariants:
- Every screen route depends on `WebUser`: without a valid session a GET is redirected (303) to
  ``/login?next=<the path asked for>``; an htmx request gets ``HX-Redirect`` instead.
- Every POST route reads its body through `posted_form`/`login_form`, which refuse (403 page) a form
  whose CSRF token does not match the session (or the login cookie). Bodies are
  ``application/x-www-form-urlencoded`` and at most `MAX_FORM_BYTES`.
- Screens render through `render`, which adds the security headers (CSP: scripts and styles from this
  site only) and ``Cache-Control: no-store``, and consumes the flash message it shows.
- An id in a path that is not a whole number in 1..2^63-1 is a 404 page, like an unknown id.
- After the login, `safe_next` only ever sends the browser to a path of this site (no open redirect).
- Errors on screen paths are HTML pages with the same status the API would use; on ``/api``,
  ``/health`` and the docs the JSON handlers installed before ours answer, unchanged.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import HTMLResponse, RedirectResponse, Response

from tixtrace.backoffice.domain.errors import BackofficeCode
from tixtrace.backoffice.security import (
    CSRF_FIELD,
    CSRF_HEADER,
    FLASH_COOKIE,
    LOGIN_COOKIE,
    SESSION_COOKIE,
    session_user,
    signer,
)
from tixtrace.backoffice.services.contacts import ContactView
from tixtrace.backoffice.services.validation import MAX_ID
from tixtrace.kernel.clock import as_utc
from tixtrace.kernel.cookies import clear_cookie, set_cookie
from tixtrace.kernel.errors import BadInput, NotFound, TixtraceError
from tixtrace.kernel.flash import Flash, decode_flash, encode_flash
from tixtrace.kernel.forms import Form, read_form
from tixtrace.kernel.templates import html_page, security_headers, template_environment

HERE = Path(__file__).parent
STATIC = HERE / "static"
MAX_FORM_BYTES = 256 * 1024
MAX_FORM_FIELDS = 200

#: paths answered by the JSON handlers, never by an HTML error page
_NOT_SCREENS = ("/api", "/health", "/metrics", "/docs", "/redoc", "/openapi.json", "/static")

_TONES = {
    # ticket status (back office)
    "NOT_PRINTED": "grey", "PRINTED": "blue", "CANCELLED": "red", "INVALIDATED": "red", "CONTROLLED": "green",
    # distribution line status
    "PENDING": "amber", "CONFIRMED": "green",
    # mobile status (wallet)
    "INJECTED": "blue", "DOWNLOADED": "blue", "ASSIGNED": "blue", "PENDING_TRANSFER": "amber",
    "TRANSFERRED": "green", "FAILURE_TRANSFER": "red", "FAILURE": "red", "DELETION_PENDING": "grey",
    "DELETED": "grey",
    # executions and their log
    "RUNNING": "blue", "OK": "green", "WARNING": "amber", "ERROR": "red", "INFO": "grey",
    # feature state
    "ACTIVE": "green", "NOT ACTIVE": "grey",
    # schedule alerts (O4)
    "FAILING": "red", "BEHIND": "amber", "PARKED": "amber",
}


def _static_version() -> str:
    digest = hashlib.sha256()
    for path in sorted(STATIC.glob("*")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def _when(value: datetime | date | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return as_utc(value).strftime("%Y-%m-%d %H:%M:%S UTC")
    return value.isoformat()


def _when_short(value: datetime | None) -> str:
    """A time in a wide table (the column header says UTC)."""
    return "—" if value is None else as_utc(value).strftime("%Y-%m-%d %H:%M:%S")


def _time_left(expires_at: datetime | None, now: datetime) -> str:
    """How long a pending transfer has left, by the back office's clock (W6: expiry is a function of
    expiresAt and now, so an overdue one is already failed in the wallet; the next Retrieve ticket status
    cancels its line)."""
    if expires_at is None:
        return "no expiry"
    seconds = int((as_utc(expires_at) - as_utc(now)).total_seconds())
    if seconds <= 0:
        return "expired: the next Retrieve ticket status run cancels it"
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h left"
    if hours:
        return f"{hours} h {minutes:02d} min left"
    return f"{minutes} min {seconds:02d} s left" if minutes else f"{seconds} s left"


def _tone(value: object) -> str:
    return _TONES.get(str(value), "grey")


def _person(contact: ContactView | Mapping[str, Any] | None) -> str:
    """A contact's or wallet profile's display name (a service's view; a screen query's row in
    snake_case; a wallet profile in camelCase)."""
    if not contact:
        return "—"
    if isinstance(contact, ContactView):
        first, last, email = contact.first_name or "", contact.last_name, contact.email
    else:
        first = contact.get("first_name", contact.get("firstName")) or ""
        last = contact.get("last_name", contact.get("lastName")) or ""
        email = contact.get("email")
    name = f"{first} {last}".strip()
    return name or str(email or "—")


def _duration(seconds: int | None) -> str:
    """A lag for people: ``45 s``, ``12 min``, ``3 h 05 min``, ``2 d 4 h``; ``—`` when unknown."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} h {minutes % 60:02d} min"
    return f"{hours // 24} d {hours % 24} h"


def _yes_no(value: object) -> str:
    return "—" if value is None else ("yes" if value else "no")


def _audit_value(value: object) -> str:
    """One side of an audit change: ``—`` for none, lists joined, the rest as JSON would show it."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(str(item) for item in value) or "(empty)"
    text = str(value)
    return text if text else "(empty)"


templates = template_environment(HERE / "templates")
templates.filters.update(when=_when, when_short=_when_short, tone=_tone, person=_person, yes_no=_yes_no,
                         duration=_duration, audit_value=_audit_value, time_left=_time_left)
templates.globals["static_version"] = _static_version()

#: scripts and styles from this site only (the vendored htmx)
_HEADERS = security_headers("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                            "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")


def csrf_token(request: Request) -> str | None:
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie is None or session_user(request) is None:
        return None
    return signer(request).csrf_token(cookie)


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


# --- authentication ------------------------------------------------------------------------------


class LoginRequired(Exception):
    """No valid session: answered by a redirect to the login page."""

    def __init__(self, next_path: str | None) -> None:
        super().__init__("login required")
        self.next_path = next_path


class CsrfRefused(Exception):
    """A POST without the form token of its session: answered by a 403 page."""


def web_user(request: Request) -> str:
    user = session_user(request)
    if user is None:
        if is_htmx(request):  # come back to the page, not to the fragment it asked for
            current = urlsplit(request.headers.get("HX-Current-URL", ""))
            raise LoginRequired(current.path + (f"?{current.query}" if current.query else "") or None)
        if request.method == "GET":
            query = request.url.query
            raise LoginRequired(request.url.path + (f"?{query}" if query else ""))
        raise LoginRequired(None)
    return user


WebUser = Annotated[str, Depends(web_user)]


def safe_next(target: str | None, default: str = "/") -> str:
    """`target` if it is a path on this site (``/...``) other than the login itself, else `default`: never
    another host or scheme, so the login cannot be used to send someone elsewhere (open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    if any(ord(c) < 0x20 or c == "\x7f" for c in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or parts.path in ("/login", "/logout"):  # no loop through the login
        return default
    return target


def login_url(next_path: str | None) -> str:
    """The login page, coming back to `next_path` afterwards when it is a path of this site."""
    target = safe_next(next_path, default="")
    return "/login" + (f"?{urlencode({'next': target})}" if target else "")


# --- forms -------------------------------------------------------------------------------------


async def _read_form(request: Request) -> Form:
    return await read_form(request, max_bytes=MAX_FORM_BYTES, max_fields=MAX_FORM_FIELDS)


def _token(request: Request, form: Form) -> str | None:
    return form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER)


async def posted_form(request: Request, _user: WebUser) -> Form:
    """The form of a signed-in user's POST, once its CSRF token is checked."""
    form = await _read_form(request)
    if not signer(request).csrf_ok(request.cookies.get(SESSION_COOKIE), _token(request, form)):
        raise CsrfRefused()
    return form


async def login_form(request: Request) -> Form:
    """The login form, its token checked against the login cookie set when the form was shown."""
    form = await _read_form(request)
    if not signer(request).csrf_ok(request.cookies.get(LOGIN_COOKIE), _token(request, form)):
        raise CsrfRefused()
    return form


PostedForm = Annotated[Form, Depends(posted_form)]
LoginForm = Annotated[Form, Depends(login_form)]


# --- ids and search fields ---------------------------------------------------------------------------


def path_id(value: str, what: str) -> int:
    """An id from a path; anything but a whole number in range is "no such thing" (404), coded
    ``<WHAT>_NOT_FOUND`` of `BackofficeCode` (tests/test_error_codes.py checks every ``what`` has one)."""
    if not value.isascii() or not value.isdigit() or len(value) > 19 or not 1 <= int(value) <= MAX_ID:
        raise NotFound(f"there is no {what} {value!r}", code=BackofficeCode(f"{what.upper()}_NOT_FOUND"))
    return int(value)


def query_text(value: str | None, name: str, max_length: int = 200) -> str | None:
    """A search field, trimmed; None when blank; control characters or too long: 422 page."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if len(value) > max_length or any(ord(c) < 0x20 or c == "\x7f" for c in value):
        raise BadInput(f"{name} must be at most {max_length} printable characters", code=BackofficeCode.INVALID_SEARCH)
    return value


def with_query(path: str, **params: object) -> str:
    """`path` with the non-empty `params` as its query string."""
    kept = {k: str(v) for k, v in params.items() if v not in (None, "", False)}
    return path + (f"?{urlencode(kept)}" if kept else "")


# --- responses ---------------------------------------------------------------------------------


def render(request: Request, template: str, context: dict[str, Any] | None = None, *, status: int = 200,
           partial: bool = False) -> HTMLResponse:
    """Render a screen (or, `partial`, an htmx fragment) with the common context and headers."""
    user = session_user(request)
    partial = partial or is_htmx(request)  # a fragment never consumes the flash meant for a page
    flash = None if partial else decode_flash(request.cookies.get(FLASH_COOKIE), request.app.state.secret)
    values: dict[str, Any] = {
        "user": user,
        "csrf_token": csrf_token(request),
        "csrf_field": CSRF_FIELD,
        "flash": flash,
        "path": request.url.path,
    }
    values.update(context or {})
    response = html_page(templates, template, values, headers=_HEADERS, status=status)
    if FLASH_COOKIE in request.cookies and not partial:
        clear_cookie(response, request, FLASH_COOKIE)
    return response


def redirect(request: Request, url: str, *, flash: Flash | None = None) -> Response:
    """A 303 to `url` (a path of this site), with a flash message shown by the next page."""
    response = RedirectResponse(url, status_code=303)
    if flash is not None:
        set_cookie(response, request, FLASH_COOKIE, encode_flash(flash, request.app.state.secret), max_age=120)
    return response


_TITLES = {
    400: "Bad request", 401: "Sign in required", 403: "Forbidden", 404: "Not found", 405: "Method not allowed",
    409: "Conflict", 413: "Too large", 415: "Unsupported form", 422: "Invalid input", 500: "Something went wrong",
}


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    title = _TITLES.get(status, "Error")
    return render(request, "errors/error.html", {"status": status, "title": title, "message": message},
                  status=status, partial=is_htmx(request))


def is_screen(request: Request) -> bool:
    path = request.url.path
    return not any(path == prefix or path.startswith(prefix + "/") for prefix in _NOT_SCREENS)


Handler = Callable[[Request, Any], Response | Awaitable[Response]]


def install_error_pages(app: FastAPI) -> None:
    """HTML error pages for screen paths; the handlers already installed keep answering the others."""
    previous: dict[Any, Handler] = dict(app.exception_handlers)

    async def _delegate(kind: Any, request: Request, exc: Exception) -> Response:
        handler = previous.get(kind)
        if handler is None:
            raise exc
        result = handler(request, exc)
        if inspect.isawaitable(result):
            return await result
        return result

    async def _ours(request: Request, exc: Exception) -> Response:
        if not is_screen(request):
            return await _delegate(TixtraceError, request, exc)
        assert isinstance(exc, TixtraceError)
        return error_page(request, exc.status, exc.message)

    async def _validation(request: Request, exc: Exception) -> Response:
        if not is_screen(request):
            return await _delegate(RequestValidationError, request, exc)
        return error_page(request, 422, "Some of the values in the address are not valid.")

    async def _http(request: Request, exc: Exception) -> Response:
        if not is_screen(request):
            return await _delegate(StarletteHTTPException, request, exc)
        assert isinstance(exc, StarletteHTTPException)
        message = {404: "There is no page at this address.", 405: "This page does not answer that method."}.get(
            exc.status_code, str(exc.detail))
        return error_page(request, exc.status_code, message)

    async def _unexpected(request: Request, exc: Exception) -> Response:
        if not is_screen(request):
            return await _delegate(Exception, request, exc)
        return error_page(request, 500, "An unexpected error occurred; it has been logged.")

    async def _login(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LoginRequired)
        target = login_url(exc.next_path)
        if is_htmx(request):
            return Response(status_code=401, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    async def _csrf(request: Request, _exc: Exception) -> Response:
        return error_page(request, 403, "This form has expired or did not come from this site. "
                                        "Go back, reload the page and try again.")

    app.add_exception_handler(TixtraceError, _ours)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(Exception, _unexpected)
    app.add_exception_handler(LoginRequired, _login)
    app.add_exception_handler(CsrfRefused, _csrf)


def labelled(errors: Mapping[str, str], labels: Mapping[str, str]) -> dict[str, str]:
    """Form errors for people: each introduced by its field's label rather than the API name the
    service's message starts with (``batchSize must be ...`` shows as ``Batch size: must be ...``)."""
    shown = {}
    for field, message in errors.items():
        label = labels.get(field)
        if label is not None:
            message = f"{label}: {message.removeprefix(f'{field} ')}"
        shown[field] = message
    return shown


def form_time(text: str, field: str, errors: dict[str, str]) -> datetime | None:
    """A form's time: a ``datetime-local`` value (no zone: UTC, as the forms' labels say) or an RFC 3339
    time with its zone; blank = none. One that does not read goes into ``errors`` under ``field``."""
    text = text.strip()
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        errors[field] = f"{field} must be a date and time like 2026-06-11T19:00, got {text!r}"
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)
