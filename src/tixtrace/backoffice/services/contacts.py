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

`erase_contact` is the data-protection erasure (one unit of work): the person is gone, the
distribution history stays (see its docstring for what is cleared and what is refused).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    Connection,
    RowMapping,
    Text,
    bindparam,
    case,
    cast,
    delete,
    false,
    func,
    insert,
    null,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from tixtrace.backoffice.db.tables import (
    contact_emails,
    contacts,
    distribution_lines,
    executions,
    parked_records,
    tickets,
)
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
from tixtrace.backoffice.services.distribution import lock_contact_writes
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



# --- data protection: erasure ---------------------------------------------------------------------

ERASED_FIRST_NAME = "Erased"
ERASED_LAST_NAME = "CONTACT #{id}"

#: the contact fields that describe the person; all set to NULL by an erasure
_PERSONAL_FIELDS = ("title", "email", "email_key", "phone", "mobile_phone", "birth_date", "nationality",
                    "id_number", "country", "language", "allow_promo_email", "allow_third_party_email")


@dataclass(frozen=True)
class Erasure:
    """What `erase_contact` did: the contact as it is now and how many rows it cleared elsewhere."""

    contact: RowMapping
    already_erased: bool
    lines_cleared: int = 0
    tickets_cleared: int = 0
    dumps_cleared: int = 0


def _mentions(value: Any, key: str) -> bool:
    """Whether a JSON value holds, anywhere, a text that is the e-mail `key` (trimmed, case-folded)."""
    if isinstance(value, str):
        return normalize_email(value) == key
    if isinstance(value, Mapping):
        return any(_mentions(item, key) for item in value.values())
    if isinstance(value, list):
        return any(_mentions(item, key) for item in value)
    return False


def _carries(profile: Any, key: str | None, names: tuple[str, str] | None) -> bool:
    """Whether a stored wallet profile is the erased person's: same e-mail key, or same first and last name."""
    if not isinstance(profile, Mapping):
        return False
    if key is not None and _mentions(profile.get("email"), key):
        return True
    first, last = profile.get("firstName"), profile.get("lastName")
    if names is None or not isinstance(first, str) or not isinstance(last, str):
        return False
    return (first.strip().casefold(), last.strip().casefold()) == names


def _json_like(column: Any, needles: Sequence[str]) -> Any:
    """Rows whose JSON/text column contains one of `needles` (lower-cased), as a cheap SQL pre-filter."""
    text = func.lower(cast(column, Text))
    return or_(*(text.contains(needle, autoescape=True) for needle in needles))


def _needles(email: str | None, key: str | None) -> list[str]:
    """The forms an e-mail takes in stored JSON (escaped as json.dumps writes it) and in plain text."""
    forms = {form for form in (email, key) if form}
    needles = {form.lower() for form in forms} | {json.dumps(form)[1:-1].lower() for form in forms}
    return sorted(needles)


def erase_contact(conn: Connection, contact_id: int, now: datetime) -> Erasure:
    """Erase a contact's personal data (GDPR) in one unit of work, keeping the distribution history.

    The contact row stays, so every ticket and distribution line that points at it still does (the
    history keeps its shape: same lines, same links); what described the person is cleared:
    - the contact: first name "Erased", last name "CONTACT #id", every other personal field NULL
      (e-mail and its matching key included), no internet account, not temporary, ``erased_at`` set.
      With no e-mail key it can never be matched again (C1), and not being temporary it is never
      completed again by the feedback (C3 touches temporary contacts only);
    - its e-mail claim (``contact_emails``, C2) is released: the claim holds the e-mail itself, and
      a claim kept would make a later transfer to that e-mail resolve to the erased contact (the
      feedback falls back on the claim's owner when it loses a claim); released, a later transfer
      to the same e-mail creates a new contact, as for a stranger;
    - ``recipient_email`` of the lines whose new contact it is, and of the lines left without a
      contact (F5, a cancelled transfer) that were sent to its e-mail;
    - on the tickets linked to it (cultural contact, owner, buyer, one of its lines) or to its
      e-mail: the stored wallet owner and ticket holder profiles that are the person's (same e-mail,
      or same first and last name), and the last wallet owner e-mail;
    - the payload dumps of executions that contain its e-mail (dropped whole: they are diagnostics).

    Refused (409) while the erasure would be undone or contradicted by the feedback: a PENDING
    transfer involves the contact (CONTACT_HAS_PENDING_TRANSFER: its outcome would write the person's
    profile back), or a parked record holds its e-mail (CONTACT_IN_PARKED_RECORD: its retry would).
    An unknown id is 404 CONTACT_NOT_FOUND. Erasing an erased contact changes nothing.
    """
    lock_contact_writes(conn)  # a feedback page never decides on this contact while it is erased
    row = conn.execute(select(contacts).where(contacts.c.id == contact_id).with_for_update()).mappings().first()
    if row is None:
        raise NotFound(f"contact {contact_id} does not exist", code="CONTACT_NOT_FOUND",
                       details={"contactId": contact_id})
    if row["erased_at"] is not None:
        return Erasure(row, already_erased=True)
    key = row["email_key"] or (normalize_email(row["email"]) if row["email"] else None)
    _refuse_if_pending(conn, contact_id)
    if key is not None:
        _refuse_if_parked(conn, contact_id, key, _needles(row["email"], key))
    now = as_utc(now)
    names = ((row["first_name"] or "").strip().casefold(), row["last_name"].strip().casefold()) \
        if row["first_name"] else None
    lines = _clear_lines(conn, contact_id, key, row["email"])
    cleared_tickets = _clear_tickets(conn, contact_id, key, names, _needles(row["email"], key) if key else [])
    dumps = 0
    if key is not None:
        dumped = _json_like(executions.c.dumped_calls, _needles(row["email"], key))
        dumps = int(conn.execute(update(executions).where(dumped).values(dumped_calls=None)).rowcount)
    conn.execute(delete(contact_emails).where(contact_emails.c.contact_id == contact_id))
    values: dict[str, Any] = {name: None for name in _PERSONAL_FIELDS}
    values.update(first_name=ERASED_FIRST_NAME, last_name=ERASED_LAST_NAME.format(id=contact_id),
                  has_internet_account=False, is_temporary=False, erased_at=now, updated_at=now)
    conn.execute(update(contacts).where(contacts.c.id == contact_id).values(values))
    erased = conn.execute(select(contacts).where(contacts.c.id == contact_id)).mappings().one()
    return Erasure(erased, already_erased=False, lines_cleared=lines, tickets_cleared=cleared_tickets,
                   dumps_cleared=dumps)


def _refuse_if_pending(conn: Connection, contact_id: int) -> None:
    query = select(distribution_lines.c.ticket_id).where(
        distribution_lines.c.status == "PENDING",
        or_(distribution_lines.c.new_contact_id == contact_id, distribution_lines.c.old_contact_id == contact_id))
    ticket_ids = sorted(set(conn.scalars(query)))
    if ticket_ids:
        numbers = sorted(conn.scalars(select(tickets.c.number).where(tickets.c.id.in_(ticket_ids[:20]))))
        raise Conflict(
            f"contact {contact_id} is part of a pending transfer (tickets {', '.join(numbers)}): "
            "erase it once the transfer is confirmed or cancelled and the feedback has run",
            code="CONTACT_HAS_PENDING_TRANSFER", details={"contactId": contact_id, "ticketNumbers": numbers})


def _refuse_if_parked(conn: Connection, contact_id: int, key: str, needles: Sequence[str]) -> None:
    query = select(parked_records.c.record_id, parked_records.c.ticket_number, parked_records.c.record).where(
        _json_like(parked_records.c.record, needles))
    held = sorted({(r.record_id, r.ticket_number) for r in conn.execute(query) if _mentions(r.record, key)})
    if held:
        raise Conflict(
            f"contact {contact_id} appears in {len(held)} parked feedback record(s) (record ids "
            f"{', '.join(str(record_id) for record_id, _ in held[:20])}): fix or remove them first",
            code="CONTACT_IN_PARKED_RECORD",
            details={"contactId": contact_id, "recordIds": [record_id for record_id, _ in held[:20]]})


def _clear_lines(conn: Connection, contact_id: int, key: str | None, email: str | None) -> int:
    """Clear the person's e-mail from the lines: as recipient (by contact, or by e-mail once the contact
    is gone) and as the sender kept on the line (F3); one statement, the number of lines changed."""
    lines = distribution_lines.c
    wanted = [lines.new_contact_id == contact_id]
    sent: ColumnElement[bool] = false()
    if key is not None:
        forms = sorted({form.lower() for form in (key, email or key)})
        wanted.append((lines.new_contact_id.is_(None)) & func.lower(func.trim(lines.recipient_email)).in_(forms))
        sent = func.lower(func.trim(lines.sender_email)).in_(forms)
    received = or_(*wanted)
    statement = (update(distribution_lines)
                 .where(or_(received & lines.recipient_email.is_not(None), sent & lines.sender_email.is_not(None)))
                 .values(recipient_email=case((received, None), else_=lines.recipient_email),
                         sender_email=case((sent, None), else_=lines.sender_email)))
    return int(conn.execute(statement).rowcount)


def _clear_tickets(conn: Connection, contact_id: int, key: str | None, names: tuple[str, str] | None,
                   needles: Sequence[str]) -> int:
    """Clear the person's stored wallet profiles on the tickets linked to the contact or its e-mail."""
    line_tickets = select(distribution_lines.c.ticket_id).where(or_(
        distribution_lines.c.new_contact_id == contact_id, distribution_lines.c.old_contact_id == contact_id))
    linked = [tickets.c.cultural_contact_id == contact_id, tickets.c.owner_contact_id == contact_id,
              tickets.c.buyer_contact_id == contact_id, tickets.c.id.in_(line_tickets)]
    if key is not None:
        linked += [func.lower(func.trim(tickets.c.last_wallet_owner_email)).in_(sorted({key, *needles})),
                   _json_like(tickets.c.wallet_owner, needles), _json_like(tickets.c.ticket_holder, needles)]
    query = select(tickets.c.id, tickets.c.wallet_owner, tickets.c.ticket_holder,
                   tickets.c.last_wallet_owner_email).where(or_(*linked))
    changed = 0
    for ticket in conn.execute(query).all():
        values: dict[str, Any] = {}
        if _carries(ticket.wallet_owner, key, names):
            values.update(wallet_owner=null(), last_wallet_owner_email=None)
        if _carries(ticket.ticket_holder, key, names):
            values["ticket_holder"] = null()
        if key is not None and _mentions(ticket.last_wallet_owner_email, key):
            values["last_wallet_owner_email"] = None
        if values:  # one statement per ticket: a person holds few tickets, and JSON columns need SQL NULL
            conn.execute(update(tickets).where(tickets.c.id == ticket.id).values(values))
            changed += 1
    return changed
