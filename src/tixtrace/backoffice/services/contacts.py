"""Contacts typed in by people (API, CSV import): validation, creation and reading.

The contacts the feedback finds or creates (C1, C2) are matched in memory by the distribution fold
(domain/distribution.py) and written by services/distribution.py; the data-protection erasure is
services/erasure.py. Contacts typed by people never claim their e-mail (``contact_emails``): they may
share one, and C1 chooses among them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, RowMapping, func, insert, select
from sqlalchemy.exc import IntegrityError

from tixtrace.backoffice.db.tables import contacts
from tixtrace.backoffice.domain.contacts import ContactKind, normalize_email
from tixtrace.backoffice.domain.errors import BackofficeCode
from tixtrace.backoffice.domain.search import name_keys
from tixtrace.backoffice.services.search import MAX_QUERY, matching_contacts
from tixtrace.backoffice.services.validation import Checker
from tixtrace.backoffice.services.views import view_of
from tixtrace.kernel.bulk import one_of
from tixtrace.kernel.clock import as_utc
from tixtrace.kernel.errors import Conflict, NotFound

#: rows per IN (...) list: far below SQLite's and PostgreSQL's bound-parameter limits
CHUNK = 5000

_PHONE_WHAT = "a phone number (digits, spaces, + ( ) . / -)"


@dataclass(frozen=True)
class NewContact:
    """A contact as typed by a person (API or CSV), before validation."""

    kind: str | None
    last_name: str | None
    first_name: str | None = None
    title: str | None = None
    email: str | None = None
    phone: str | None = None
    mobile_phone: str | None = None
    birth_date: date | None = None
    nationality: str | None = None
    id_number: str | None = None
    country: str | None = None
    language: str | None = None
    allow_promo_email: bool | None = None
    allow_third_party_email: bool | None = None
    has_internet_account: bool = False
    reference: str | None = None


@dataclass(frozen=True)
class ContactView:
    """A contact as services return it: every column but the matching key (``email_key``)."""

    id: int
    kind: str
    reference: str | None
    title: str | None
    first_name: str | None
    last_name: str
    email: str | None
    phone: str | None
    mobile_phone: str | None
    birth_date: date | None
    nationality: str | None
    id_number: str | None
    country: str | None
    language: str | None
    allow_promo_email: bool | None
    allow_third_party_email: bool | None
    has_internet_account: bool
    is_temporary: bool
    created_at: datetime
    updated_at: datetime
    erased_at: datetime | None


def contact_values(new: NewContact, checker: Checker) -> dict[str, Any]:
    """Column values of `new`, its problems recorded in `checker` (field names as in the API)."""
    kind = new.kind.strip().upper() if isinstance(new.kind, str) else new.kind
    if kind not in {k.value for k in ContactKind}:
        checker.fail("kind", new.kind, f"kind {new.kind!r} must be INDIVIDUAL, RELAY or STRUCTURE")
    is_person = kind != ContactKind.STRUCTURE
    values: dict[str, Any] = {
        "kind": kind,
        "reference": checker.code("reference", new.reference),
        "title": checker.text("title", new.title, max_length=20),
        "first_name": checker.text("firstName", new.first_name, max_length=100, required=is_person),
        "last_name": checker.text("lastName", new.last_name, max_length=100, required=True),
        "email": checker.email("email", new.email),
        "phone": _phone(checker, "phone", new.phone),
        "mobile_phone": _phone(checker, "mobilePhone", new.mobile_phone),
        "birth_date": new.birth_date,
        "nationality": checker.nationality("nationality", new.nationality),
        "id_number": checker.text("idNumber", new.id_number, max_length=50),
        "country": checker.country("country", new.country),
        "language": checker.language("language", new.language),
        "allow_promo_email": new.allow_promo_email,
        "allow_third_party_email": new.allow_third_party_email,
        "has_internet_account": bool(new.has_internet_account),
    }
    if new.birth_date is not None and not 1900 <= new.birth_date.year <= 2100:
        checker.fail("birthDate", new.birth_date, f"birthDate {new.birth_date.isoformat()!r} is out of range")
    values["email_key"] = normalize_email(values["email"]) if values["email"] else None
    values.update(name_keys(values["first_name"], values["last_name"]))
    return values


def _phone(checker: Checker, field: str, value: str | None) -> str | None:
    cleaned = checker.text(field, value, max_length=30)
    if cleaned is not None and not all(c.isdigit() or c in " +()./-" for c in cleaned):
        checker.fail(field, value, f"{field} {cleaned!r} must be {_PHONE_WHAT}")
        return None
    return cleaned


def create_contact(conn: Connection, new: NewContact, now: datetime) -> ContactView:
    """Create a contact typed by a person; 422 naming every bad field, 409 if its reference is taken."""
    checker = Checker()
    values = contact_values(new, checker)
    checker.raise_if_any()
    return view_of(ContactView, insert_contacts(conn, [values], now)[0])


def insert_contacts(conn: Connection, rows: Sequence[dict[str, Any]], now: datetime) -> list[RowMapping]:
    """Insert validated contact values (in order); 409 CONTACT_REFERENCE_TAKEN if a reference exists.
    Rows, not views: the bulk path of the CSV import (and `create_contact`, which makes its view)."""
    if not rows:
        return []
    now = as_utc(now)
    stamped = [{**row, "is_temporary": False, "created_at": now, "updated_at": now} for row in rows]
    try:
        result = conn.execute(insert(contacts).returning(*contacts.c, sort_by_parameter_order=True), stamped)
    except IntegrityError as exc:
        references = [row["reference"] for row in rows if row.get("reference")]
        raise Conflict(
            "a contact with one of these references already exists",
            code=BackofficeCode.CONTACT_REFERENCE_TAKEN,
            details={"references": references[:20]},
        ) from exc
    return list(result.mappings())


def get_contact(conn: Connection, contact_id: int) -> ContactView:
    row = conn.execute(select(contacts).where(contacts.c.id == contact_id)).mappings().first()
    if row is None:
        raise NotFound(f"contact {contact_id} does not exist", code=BackofficeCode.CONTACT_NOT_FOUND,
                       details={"contactId": contact_id})
    return view_of(ContactView, row)


def get_contacts(conn: Connection, ids: Iterable[int]) -> dict[int, ContactView]:
    """Contacts by id (missing ids are simply absent), one query per `CHUNK` ids."""
    wanted = sorted(set(ids))
    found: dict[int, ContactView] = {}
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start:start + CHUNK]
        for row in conn.execute(select(contacts).where(one_of(conn, contacts.c.id, chunk))).mappings():
            found[row["id"]] = view_of(ContactView, row)
    return found


def contact_conditions(conn: Connection, *, email: str | None = None,
                       q: str | None = None) -> list[ColumnElement[bool]]:
    """The WHERE of a contact list: the same C1 key as `email`; names or e-mails starting with `q`
    (case and accents ignored: services/search.py)."""
    checker = Checker()
    conditions: list[ColumnElement[bool]] = []
    if email is not None:
        cleaned = checker.text("email", email, max_length=320)
        conditions.append(contacts.c.email_key == normalize_email(cleaned or ""))
    if q is not None:
        text = checker.text("q", q, max_length=MAX_QUERY)
        if text:
            conditions.append(matching_contacts(conn, text))
    checker.raise_if_any()
    return conditions


def list_contacts(conn: Connection, *, email: str | None = None, q: str | None = None, after_id: int = 0,
                  limit: int = 100) -> tuple[list[ContactView], int | None]:
    """A page of contacts in id order (filtered by `contact_conditions`) and the last id if more."""
    query = select(contacts).where(contacts.c.id > after_id, *contact_conditions(conn, email=email, q=q))
    rows = list(conn.execute(query.order_by(contacts.c.id).limit(limit + 1)).mappings())
    more = len(rows) > limit
    rows = rows[:limit]
    return [view_of(ContactView, row) for row in rows], (rows[-1]["id"] if more else None)


def count_contacts(conn: Connection, *, email: str | None = None, q: str | None = None) -> int:
    """How many contacts `list_contacts` would list over all its pages."""
    conditions = contact_conditions(conn, email=email, q=q)
    return int(conn.execute(select(func.count()).select_from(contacts).where(*conditions)).scalar_one())
