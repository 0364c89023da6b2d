"""Contacts: what people type in (API, CSV import) and what the feedback finds or creates (C1, C2).

`find_or_create_contacts` is the feedback's entry point for a page of recipient e-mails:
- one SELECT reads every candidate of the page (``email_key IN (...)``), C1 (`best_match`) picks;
- the e-mails with no eligible candidate get a contact created in bulk (temporary, or complete when a
  complete wallet profile is given), each guarded by a row of ``contact_emails`` (primary key: the
  e-mail key) inserted with ON CONFLICT DO NOTHING in e-mail order.

Invariant C2 (at most one contact created per e-mail, whatever the interleaving) is enforced by the
database, not by a check-then-insert: of two writers that both saw no candidate, the second one's
claim waits on the first one's uncommitted claim (PostgreSQL) or never starts before the first commits
(SQLite: BEGIN IMMEDIATE), then finds it taken; it deletes the contacts it made for the claims it lost
and re-reads the winners (READ COMMITTED: the winners' rows are committed by then). Claims are taken
in sorted e-mail order, so two writers cannot deadlock on them.

Contacts typed by people are never claimed: they may share an e-mail, and C1 chooses among them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, RowMapping, bindparam, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from tixtrace.backoffice.db.tables import contact_emails, contacts
from tixtrace.backoffice.domain.contacts import (
    Candidate,
    ContactKind,
    ContactMatch,
    best_match,
    contact_fields_from_profile,
    is_complete_profile,
    normalize_email,
    temporary_contact_fields,
)
from tixtrace.backoffice.services.validation import Checker
from tixtrace.kernel.clock import as_utc
from tixtrace.kernel.errors import BadInput, Conflict, NotFound

#: rows per IN (...) list: far below SQLite's and PostgreSQL's bound-parameter limits
CHUNK = 5000

_PHONE_WHAT = "a phone number (digits, spaces, + ( ) . / -)"


class FoundContact(NamedTuple):
    """The contact an e-mail designates, and how it was found (recorded on distribution lines)."""

    contact: RowMapping
    match: ContactMatch


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
    return values


def _phone(checker: Checker, field: str, value: str | None) -> str | None:
    cleaned = checker.text(field, value, max_length=30)
    if cleaned is not None and not all(c.isdigit() or c in " +()./-" for c in cleaned):
        checker.fail(field, value, f"{field} {cleaned!r} must be {_PHONE_WHAT}")
        return None
    return cleaned


def create_contact(conn: Connection, new: NewContact, now: datetime) -> RowMapping:
    """Create a contact typed by a person; 422 naming every bad field, 409 if its reference is taken."""
    checker = Checker()
    values = contact_values(new, checker)
    checker.raise_if_any()
    return insert_contacts(conn, [values], now)[0]


def insert_contacts(conn: Connection, rows: Sequence[dict[str, Any]], now: datetime) -> list[RowMapping]:
    """Insert validated contact values (in order); 409 CONTACT_REFERENCE_TAKEN if a reference exists."""
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
            code="CONTACT_REFERENCE_TAKEN",
            details={"references": references[:20]},
        ) from exc
    return list(result.mappings())


def get_contact(conn: Connection, contact_id: int) -> RowMapping:
    row = conn.execute(select(contacts).where(contacts.c.id == contact_id)).mappings().first()
    if row is None:
        raise NotFound(f"contact {contact_id} does not exist", code="CONTACT_NOT_FOUND",
                       details={"contactId": contact_id})
    return row


def get_contacts(conn: Connection, ids: Iterable[int]) -> dict[int, RowMapping]:
    """Contacts by id (missing ids are simply absent), one query per `CHUNK` ids."""
    wanted = sorted(set(ids))
    found: dict[int, RowMapping] = {}
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start:start + CHUNK]
        for row in conn.execute(select(contacts).where(contacts.c.id.in_(chunk))).mappings():
            found[row["id"]] = row
    return found


def contacts_by_reference(conn: Connection, references: Iterable[str]) -> dict[str, int]:
    """Contact id per operator reference (missing references are absent)."""
    wanted = sorted(set(references))
    found: dict[str, int] = {}
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start:start + CHUNK]
        query = select(contacts.c.reference, contacts.c.id).where(contacts.c.reference.in_(chunk))
        found.update({ref: cid for ref, cid in conn.execute(query)})
    return found


def list_contacts(conn: Connection, *, email: str | None = None, after_id: int = 0,
                  limit: int = 100) -> tuple[list[RowMapping], int | None]:
    """A page of contacts in id order (those sharing `email`'s key when given) and the last id if more."""
    query = select(contacts).where(contacts.c.id > after_id)
    if email is not None:
        checker = Checker()
        cleaned = checker.text("email", email, max_length=320)
        checker.raise_if_any()
        query = query.where(contacts.c.email_key == normalize_email(cleaned or ""))
    rows = list(conn.execute(query.order_by(contacts.c.id).limit(limit + 1)).mappings())
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1]["id"] if more else None)


# --- the feedback's find-or-create (C1, C2) -------------------------------------------------------


def _candidate(row: RowMapping) -> Candidate:
    return Candidate(
        id=row["id"],
        kind=ContactKind(row["kind"]),
        is_temporary=row["is_temporary"],
        has_internet_account=row["has_internet_account"],
        created_at=as_utc(row["created_at"]),
    )


def best_contacts(conn: Connection, keys: Iterable[str]) -> dict[str, RowMapping]:
    """The C1 choice per e-mail key among every contact sharing it (one query per `CHUNK` keys)."""
    wanted = sorted(set(keys))
    by_key: dict[str, list[RowMapping]] = {}
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start:start + CHUNK]
        for row in conn.execute(select(contacts).where(contacts.c.email_key.in_(chunk))).mappings():
            by_key.setdefault(row["email_key"], []).append(row)
    chosen: dict[str, RowMapping] = {}
    for key, rows in by_key.items():
        by_id = {row["id"]: row for row in rows}
        winner = best_match(_candidate(row) for row in rows)
        if winner is not None:
            chosen[key] = by_id[winner.id]
    return chosen


def _insert_or_skip(conn: Connection) -> Any:
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(contact_emails)


def _new_contact_values(email: str, key: str, profile: Mapping[str, Any] | None,
                        now: datetime) -> tuple[dict[str, Any], ContactMatch]:
    base: dict[str, Any] = {column.name: None for column in contacts.c if column.name != "id"}
    if profile is not None and is_complete_profile(profile):
        fields = contact_fields_from_profile(profile)
        fields["email"] = email
        base.update(fields)
        base.update(kind=ContactKind.INDIVIDUAL.value, is_temporary=False, has_internet_account=True)
        match = ContactMatch.CREATED
    else:
        fields = temporary_contact_fields(email)
        fields["kind"] = ContactKind(fields["kind"]).value
        base.update(fields)
        match = ContactMatch.CREATED_TEMPORARY
    base.update(email_key=key, created_at=now, updated_at=now)
    return base, match


def _claim(conn: Connection, claims: list[dict[str, Any]]) -> set[str]:
    """Insert the claims (sorted by key) and return the keys this transaction won."""
    statement = _insert_or_skip(conn).on_conflict_do_nothing(index_elements=["email_key"])
    won = conn.execute(statement.returning(contact_emails.c.email_key), claims).scalars()
    return set(won)


def find_or_create_contacts(
    conn: Connection,
    emails: Iterable[str],
    now: datetime,
    *,
    profiles: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, FoundContact]:
    """The contact each e-mail designates (C1), created if none matches, at most one per e-mail (C2).

    Returns ``{email_key: FoundContact}`` for every distinct e-mail. `profiles` (by e-mail key) are the
    recipients' wallet profiles: a created contact is complete (CREATED) when its profile is complete,
    temporary (CREATED_TEMPORARY) otherwise. Existing contacts are returned as they are (EXISTING):
    completing a temporary one is `complete_temporary_contacts`.
    Run it in a READ COMMITTED transaction (the default of `unit_of_work`).
    """
    written: dict[str, str] = {}
    for email in emails:
        key = normalize_email(email)
        if not key:
            raise BadInput("an e-mail to match must not be blank", code="INVALID_EMAIL")
        written.setdefault(key, email.strip())
    if not written:
        return {}
    now = as_utc(now)
    result = {key: FoundContact(row, ContactMatch.EXISTING)
              for key, row in best_contacts(conn, written).items()}
    missing = sorted(key for key in written if key not in result)
    if not missing:
        return result
    planned = {key: _new_contact_values(written[key], key, (profiles or {}).get(key), now) for key in missing}
    statement = insert(contacts).returning(*contacts.c, sort_by_parameter_order=True)
    created = list(conn.execute(statement, [planned[key][0] for key in missing]).mappings())
    won = _claim(conn, [{"email_key": key, "contact_id": row["id"], "created_at": now}
                        for key, row in zip(missing, created, strict=True)])
    lost_ids = []
    for key, row in zip(missing, created, strict=True):
        if key in won:
            result[key] = FoundContact(row, planned[key][1])
        else:
            lost_ids.append(row["id"])
    if lost_ids:
        for start in range(0, len(lost_ids), CHUNK):
            conn.execute(delete(contacts).where(contacts.c.id.in_(lost_ids[start:start + CHUNK])))
        lost = [key for key in missing if key not in won]
        winners = best_contacts(conn, lost)
        for key in lost:
            row = winners.get(key) or _claimed_contact(conn, key)
            result[key] = FoundContact(row, ContactMatch.EXISTING)
    return result


def _claimed_contact(conn: Connection, key: str) -> RowMapping:
    query = select(contacts).join(contact_emails, contact_emails.c.contact_id == contacts.c.id).where(
        contact_emails.c.email_key == key)
    row = conn.execute(query).mappings().first()
    if row is None:  # the winner rolled back after we lost: impossible under ON CONFLICT's wait
        raise RuntimeError(f"the contact claimed for an e-mail disappeared (claim {key!r})")
    return row


def complete_temporary_contacts(conn: Connection, profiles: Mapping[int, Mapping[str, Any]],
                                now: datetime) -> set[int]:
    """Complete temporary contacts from complete wallet profiles (C3, F4); return the ids completed.

    Only contacts still temporary are touched (normal contacts are never modified by the feedback);
    the e-mail is kept, so the contact's claim stays valid. Each completed contact stops being
    temporary and gets an internet account.
    """
    usable = {cid: p for cid, p in profiles.items() if is_complete_profile(p)}
    if not usable:
        return set()
    ids = sorted(usable)
    temporary: list[int] = []
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        query = select(contacts.c.id).where(contacts.c.id.in_(chunk), contacts.c.is_temporary.is_(True))
        temporary.extend(conn.execute(query).scalars())
    if not temporary:
        return set()
    now = as_utc(now)
    params = []
    for cid in temporary:
        fields = contact_fields_from_profile(usable[cid])
        fields.pop("email")
        params.append({"b_id": cid, **{f"b_{name}": value for name, value in fields.items()}})
    names = [name for name in params[0] if name != "b_id"]
    statement = (
        update(contacts)
        .where(contacts.c.id == bindparam("b_id"), contacts.c.is_temporary.is_(True))
        .values({name[2:]: bindparam(name) for name in names})
        .values(is_temporary=False, has_internet_account=True, updated_at=now)
    )
    conn.execute(statement, params)
    return set(temporary)

