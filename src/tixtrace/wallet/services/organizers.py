"""Organizers: the back offices that inject tickets; each authenticates with e-mail + API key.

API keys are random (256 bits) and stored as SHA-256 digests: a leaked database does not leak keys,
and a plain digest is enough for a high-entropy secret (no password stretching needed). A key can be
rotated (`rotate_key`): the new one replaces the old one's digest, so the old one stops working at once.

Like every wallet service, these take the caller's connection (the caller's one unit of work) and
return typed values (``Organizer``), never rows or JSON.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import Connection, select, update
from sqlalchemy.exc import IntegrityError

from tixtrace.kernel.clock import Clock
from tixtrace.kernel.emails import email_defect, normalize_email
from tixtrace.kernel.errors import BadInput, CommandCode, Conflict, NotFound, Unauthorized
from tixtrace.wallet.db.tables import organizers
from tixtrace.wallet.domain.errors import WalletCode
from tixtrace.wallet.domain.tickets import DEFAULT_TRANSFER_TIMEOUT_SECONDS

EMAIL_PATTERN = re.compile(r"^[^@\s\x00]+@[^@\s\x00]+\.[^@\s\x00]+$")
MIN_TIMEOUT_SECONDS, MAX_TIMEOUT_SECONDS = 60, 30 * 24 * 3600


def check_email(value: str, field: str = "email") -> str:
    """Normalized e-mail (C1), or BadInput naming the field and the value.

    An address with a control, zero-width or bidi character is refused, never a new person (C1)."""
    defect = email_defect(value)
    if defect is not None:
        raise BadInput(f"{field} is not an e-mail address: it {defect}",
                       code=WalletCode.INVALID_EMAIL, details={"field": field, "value": value})
    email = normalize_email(value)
    if len(email) > 320 or not EMAIL_PATTERN.match(email):
        raise BadInput(f"{field} {value!r} is not an e-mail address (expected name@domain.tld)",
                       code=WalletCode.INVALID_EMAIL, details={"field": field, "value": value})
    return email


@dataclass(frozen=True)
class Organizer:
    id: int
    email: str
    transfer_timeout_seconds: int
    acceptance_required: bool


def _hash(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def create_organizer(conn: Connection, clock: Clock, email: str) -> tuple[Organizer, str]:
    """Create an organizer; returns it and its API key, which is shown this once and never again.

    An e-mail already taken is a Conflict; the caller's unit of work then rolls back."""
    email = check_email(email)
    api_key = secrets.token_urlsafe(32)
    if conn.scalar(select(organizers.c.id).where(organizers.c.email == email)) is not None:
        raise Conflict(f"an organizer with e-mail {email} already exists", code=WalletCode.ORGANIZER_EXISTS)
    try:
        with conn.begin_nested():  # a concurrent creator of the same e-mail: only the savepoint is lost
            organizer_id = conn.execute(organizers.insert().values(
                email=email, api_key_hash=_hash(api_key), transfer_timeout_seconds=DEFAULT_TRANSFER_TIMEOUT_SECONDS,
                acceptance_required=True, created_at=clock.now(),
            ).returning(organizers.c.id)).scalar_one()
    except IntegrityError as exc:
        raise Conflict(f"an organizer with e-mail {email} already exists", code=WalletCode.ORGANIZER_EXISTS) from exc
    return Organizer(organizer_id, email, DEFAULT_TRANSFER_TIMEOUT_SECONDS, True), api_key


def rotate_key(conn: Connection, email: str) -> tuple[Organizer, str]:
    """Give an organizer a new API key, returned this once; the old one stops working at once (its digest
    is replaced in the same statement). NotFound ORGANIZER_NOT_FOUND for an unknown e-mail."""
    email = check_email(email)
    api_key = secrets.token_urlsafe(32)
    row = conn.execute(update(organizers).where(organizers.c.email == email)
                       .values(api_key_hash=_hash(api_key)).returning(*organizers.c)).first()
    if row is None:
        raise NotFound(f"no organizer with e-mail {email}", code=CommandCode.ORGANIZER_NOT_FOUND)
    return _organizer(row), api_key


def _organizer(row: object) -> Organizer:
    return Organizer(row.id, row.email, row.transfer_timeout_seconds, row.acceptance_required)  # type: ignore[attr-defined]


def authenticate(conn: Connection, email: str, api_key: str) -> Organizer:
    if "\x00" in email:  # no organizer has one; PostgreSQL refuses it in a query
        raise Unauthorized("unknown organizer e-mail or wrong API key", code=WalletCode.BAD_CREDENTIALS)
    row = conn.execute(select(organizers).where(organizers.c.email == normalize_email(email))).first()
    if row is None or not hmac.compare_digest(row.api_key_hash, _hash(api_key)):
        raise Unauthorized("unknown organizer e-mail or wrong API key", code=WalletCode.BAD_CREDENTIALS)
    return _organizer(row)


def get_settings(conn: Connection, organizer_id: int) -> Organizer:
    return _organizer(conn.execute(select(organizers).where(organizers.c.id == organizer_id)).one())


def update_settings(conn: Connection, organizer_id: int, *, transfer_timeout_seconds: int | None = None,
                    acceptance_required: bool | None = None) -> Organizer:
    values: dict[str, object] = {}
    if transfer_timeout_seconds is not None:
        if not MIN_TIMEOUT_SECONDS <= transfer_timeout_seconds <= MAX_TIMEOUT_SECONDS:
            raise BadInput(
                f"transferTimeoutSeconds must be from {MIN_TIMEOUT_SECONDS} to {MAX_TIMEOUT_SECONDS}, "
                f"got {transfer_timeout_seconds}", code=WalletCode.INVALID_SETTING,
                details={"field": "transferTimeoutSeconds", "value": transfer_timeout_seconds})
        values["transfer_timeout_seconds"] = transfer_timeout_seconds
    if acceptance_required is not None:
        values["acceptance_required"] = acceptance_required
    if values:
        conn.execute(update(organizers).where(organizers.c.id == organizer_id).values(**values))
    return get_settings(conn, organizer_id)
