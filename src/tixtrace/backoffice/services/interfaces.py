"""TIXNGO interfaces (the Interface General Screen): where the wallet is, how to log in, custom parameters.

Invariants:
- An interface is only saved with custom parameters that parse (section 5): otherwise 422
  ``INVALID_CUSTOM_PARAMETERS`` with ``details.errors = [{line, parameter, value, message}]``, one per
  bad entry, and nothing is written.
- The stored ``parameters`` are the typed values in force (given or default); ``warnings`` name the
  unknown parameters (kept, no effect) and the feature's missing prerequisites.
- The password is stored because the interface needs it to call the wallet, encrypted with the
  service's secret key (`tixtrace.backoffice.secret_key`); no function of this module returns it
  except `interface_credentials`, the one place it is decrypted, which only the interface functions
  call to build the wallet client.
- The stored password never follows the interface to another host: an update that changes the URL's
  scheme, host or port without a password is refused (422 ``PASSWORD_REQUIRED``), otherwise anyone
  allowed to edit interfaces could point one at their own listener and receive the key by HTTP Basic.
- Creating or changing an interface writes its audit entry (O2) in the same transaction: the
  settings and custom parameters before and after; a password given shows as changed, never its
  value (it is stored encrypted, so a password typed again counts as a change).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from tixtrace.backoffice.db.tables import interfaces
from tixtrace.backoffice.domain.errors import BackofficeCode
from tixtrace.backoffice.domain.parameters import InvalidParameters, ParsedParameters, parse_parameters
from tixtrace.backoffice.secret_key import decrypt_password, encrypt_password
from tixtrace.backoffice.services import audit
from tixtrace.backoffice.services.feed_state import reset_if_moved
from tixtrace.backoffice.services.validation import Checker
from tixtrace.backoffice.services.views import view_of
from tixtrace.kernel.clock import as_utc
from tixtrace.kernel.errors import BadInput, Conflict, NotFound

INTERFACE_TYPES = ("TIXNGO",)
URL_SUFFIX = "/organizer/tickets"
MAX_NOTIFICATION_EMAILS = 20
MAX_PARAMETERS_TEXT = 10_000

#: every column but the password: what may be shown
PUBLIC_COLUMNS = [column for column in interfaces.c if column.name != "password"]


@dataclass(frozen=True)
class NewInterface:
    name: str | None
    type: str | None
    url: str | None
    login: str | None
    password: str | None  # None on update = keep the stored one
    notification_emails: list[str] | None = None
    custom_parameters: str | None = None


@dataclass(frozen=True)
class InterfaceView:
    """An interface as services return it: every column but the password (`PUBLIC_COLUMNS`)."""

    id: int
    name: str
    type: str
    url: str
    login: str
    notification_emails: list[str]
    custom_parameters: str
    parameters: dict[str, Any]
    warnings: list[str]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Credentials:
    url: str
    login: str
    password: str


def _url(checker: Checker, value: str | None) -> str | None:
    url = checker.text("url", value, max_length=500, required=True)
    if url is None:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment \
            or not parts.path.endswith(URL_SUFFIX):
        checker.fail("url", value, f"url {url!r} must be the wallet's http(s) address ending in {URL_SUFFIX}, "
                                   "e.g. https://wallet.example.com/organizer/tickets")
        return None
    return url


def interface_values(new: NewInterface, checker: Checker, *, password_required: bool) -> dict[str, Any]:
    kind = checker.text("type", new.type, max_length=20, required=True)
    if kind is not None and kind not in INTERFACE_TYPES:
        checker.fail("type", new.type, f"type {kind!r} must be {' or '.join(INTERFACE_TYPES)}")
    emails = []
    for index, email in enumerate(new.notification_emails or []):
        cleaned = checker.email(f"notificationEmails[{index}]", email, required=True)
        if cleaned is not None and cleaned not in emails:
            emails.append(cleaned)
    if len(emails) > MAX_NOTIFICATION_EMAILS:
        checker.fail("notificationEmails", len(emails),
                     f"notificationEmails holds {len(emails)} addresses; at most {MAX_NOTIFICATION_EMAILS}")
    password = new.password
    if password is not None or password_required:
        # not trimmed, never echoed: a problem names the field only
        if not isinstance(password, str) or not password:
            checker.fail("password", None, "password is required")
        elif len(password) > 500 or Checker().text("password", password, max_length=500) is None:
            checker.fail("password", None, "password must be at most 500 printable characters")
    text = new.custom_parameters or ""
    checker.text("customParameters", text, max_length=MAX_PARAMETERS_TEXT, multiline=True)
    return {
        "name": checker.text("name", new.name, max_length=100, required=True),
        "type": kind,
        "url": _url(checker, new.url),
        "login": checker.text("login", new.login, max_length=254, required=True),
        "password": password,
        "notification_emails": emails,
        "custom_parameters": text.replace("\r\n", "\n"),
    }


def parsed_parameters(text: str) -> ParsedParameters:
    """The typed parameters of a text; 422 INVALID_CUSTOM_PARAMETERS listing every bad entry."""
    try:
        return parse_parameters(text)
    except InvalidParameters as exc:
        errors = [{"line": e.line, "parameter": e.parameter, "value": e.value, "message": e.message}
                  for e in exc.errors]
        raise BadInput(
            f"custom parameters refused ({len(errors)} error{'s' if len(errors) > 1 else ''}): "
            + "; ".join(f"line {e['line']}: {e['message']}" for e in errors),
            code=BackofficeCode.INVALID_CUSTOM_PARAMETERS,
            details={"errors": errors},
        ) from exc


def _checked(new: NewInterface, *, password_required: bool) -> dict[str, Any]:
    checker = Checker()
    values = interface_values(new, checker, password_required=password_required)
    checker.raise_if_any()
    parsed = parsed_parameters(values["custom_parameters"])
    values["parameters"] = parsed.effective()
    values["warnings"] = list(parsed.warnings) + parsed.prerequisite_warnings()
    return values


def _name_taken(name: str) -> Conflict:
    return Conflict(f"an interface named {name!r} already exists", code=BackofficeCode.INTERFACE_NAME_TAKEN,
                    details={"name": name})


def _audited(view: InterfaceView) -> dict[str, Any]:
    """What an audit entry compares, by the API's names (never the password: see `_password_change`)."""
    return {"name": view.name, "type": view.type, "url": view.url, "login": view.login,
            "notificationEmails": list(view.notification_emails), "customParameters": view.custom_parameters}


def create_interface(conn: Connection, new: NewInterface, now: datetime, *, actor: str) -> InterfaceView:
    """Save a new interface (see the module's invariants); returns it without the password."""
    values = _checked(new, password_required=True)
    if conn.execute(select(interfaces.c.id).where(interfaces.c.name == values["name"])).first():
        raise _name_taken(values["name"])
    values["password"] = encrypt_password(values["password"])
    now = as_utc(now)
    try:
        created = view_of(InterfaceView, conn.execute(
            insert(interfaces).values(**values, created_at=now, updated_at=now).returning(*PUBLIC_COLUMNS)
        ).mappings().one())
    except IntegrityError as exc:
        raise _name_taken(values["name"]) from exc
    changes = audit.diff(None, _audited(created))
    changes["password"] = [None, audit.SECRET]
    audit.record(conn, actor=actor, action=audit.Action.CREATE, object_type=audit.ObjectType.INTERFACE,
                 object_id=created.id, changes=changes, at=now)
    return created


def _origin(url: str) -> tuple[str, str, int | None]:
    """Where a URL sends its credentials: scheme, host (any case) and port (the scheme's by default)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    return scheme, (parts.hostname or "").lower(), port or {"http": 80, "https": 443}.get(scheme)


def update_interface(conn: Connection, interface_id: int, new: NewInterface, now: datetime, *,
                     actor: str) -> InterfaceView:
    """Replace an interface's settings; a None password keeps the stored one, unless the URL's scheme,
    host or port changes: 422 PASSWORD_REQUIRED (see the module's invariants). A new URL or login
    resets the feedback's feed in the same transaction (O1, W11)."""
    before = get_interface(conn, interface_id)
    values = _checked(new, password_required=False)
    if values["password"] is None:
        if _origin(values["url"]) != _origin(before.url):
            message = ("a new scheme, host or port for the wallet needs its password in the same request "
                       "(the stored one is never sent to another host)")
            raise BadInput(message, code=BackofficeCode.PASSWORD_REQUIRED,
                           details={"errors": [{"field": "password", "value": None, "message": message}]})
        del values["password"]
    else:
        values["password"] = encrypt_password(values["password"])
    other = conn.execute(select(interfaces.c.id).where(
        interfaces.c.name == values["name"], interfaces.c.id != interface_id)).first()
    if other:
        raise _name_taken(values["name"])
    reset = reset_if_moved(conn, interface_id, (before.url, before.login), (values["url"], values["login"]))
    try:
        after = view_of(InterfaceView, conn.execute(
            update(interfaces).where(interfaces.c.id == interface_id)
            .values(**values, updated_at=as_utc(now)).returning(*PUBLIC_COLUMNS)
        ).mappings().one())
    except IntegrityError as exc:
        raise _name_taken(values["name"]) from exc
    changes = audit.diff(_audited(before), _audited(after))
    if "password" in values:
        changes["password"] = [audit.SECRET, audit.SECRET]
    if reset:
        changes["feedReset"] = [False, True]  # the feedback's position, cleared with the move (O1)
    if changes:
        audit.record(conn, actor=actor, action=audit.Action.UPDATE, object_type=audit.ObjectType.INTERFACE,
                     object_id=interface_id, changes=changes, at=now)
    return after


def get_interface(conn: Connection, interface_id: int) -> InterfaceView:
    """An interface without its password; 404 INTERFACE_NOT_FOUND."""
    row = conn.execute(select(*PUBLIC_COLUMNS).where(interfaces.c.id == interface_id)).mappings().first()
    if row is None:
        raise NotFound(f"interface {interface_id} does not exist", code=BackofficeCode.INTERFACE_NOT_FOUND,
                       details={"interfaceId": interface_id})
    return view_of(InterfaceView, row)


def list_interfaces(conn: Connection, *, after_id: int = 0,
                    limit: int = 100) -> tuple[list[InterfaceView], int | None]:
    query = select(*PUBLIC_COLUMNS).where(interfaces.c.id > after_id).order_by(interfaces.c.id).limit(limit + 1)
    rows = list(conn.execute(query).mappings())
    more = len(rows) > limit
    rows = rows[:limit]
    return [view_of(InterfaceView, row) for row in rows], (rows[-1]["id"] if more else None)


def interface_parameters(conn: Connection, interface_id: int) -> ParsedParameters:
    """The typed custom parameters of an interface, read from the text saved. A text saved before a
    stricter grammar (a near miss of a known name was only a warning) raises BadInput
    INVALID_CUSTOM_PARAMETERS naming its errors: the interface's runs fail loudly until it is fixed."""
    return parsed_parameters(get_interface(conn, interface_id).custom_parameters)


def interface_credentials(conn: Connection, interface_id: int) -> Credentials:
    """What the interface functions need to call the wallet, the password decrypted (Conflict
    PASSWORD_UNREADABLE when the secret key cannot read it). Never render the result."""
    row = conn.execute(select(interfaces.c.url, interfaces.c.login, interfaces.c.password)
                       .where(interfaces.c.id == interface_id)).first()
    if row is None:
        raise NotFound(f"interface {interface_id} does not exist", code=BackofficeCode.INTERFACE_NOT_FOUND,
                       details={"interfaceId": interface_id})
    return Credentials(url=row.url, login=row.login, password=decrypt_password(row.password))
