"""Data-protection erasure (GDPR) of one contact: the person is gone, the distribution history stays.

Kept apart from contacts.py (as pretix keeps its shredder apart): it reaches into every table that may
hold the person (contacts, their e-mail claim, distribution lines, tickets' wallet profiles, execution
payload dumps) and takes the feedback's contact-writes lock, which nothing else about contacts needs.
`erase_contact` is one unit of work; see its docstring for what is cleared and what is refused.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Text,
    case,
    cast,
    delete,
    false,
    func,
    null,
    or_,
    select,
    update,
)

from tixtrace.backoffice.db.tables import (
    contact_emails,
    contacts,
    distribution_lines,
    executions,
    parked_records,
    tickets,
)
from tixtrace.backoffice.domain.contacts import normalize_email
from tixtrace.backoffice.domain.errors import BackofficeCode
from tixtrace.backoffice.domain.search import name_keys
from tixtrace.backoffice.services.contacts import ContactView
from tixtrace.backoffice.services.distribution import lock_contact_writes
from tixtrace.backoffice.services.views import view_of
from tixtrace.kernel.clock import as_utc
from tixtrace.kernel.errors import Conflict, NotFound

ERASED_FIRST_NAME = "Erased"
ERASED_LAST_NAME = "CONTACT #{id}"

#: the contact fields that describe the person; all set to NULL by an erasure
_PERSONAL_FIELDS = ("title", "email", "email_key", "phone", "mobile_phone", "birth_date", "nationality",
                    "id_number", "country", "language", "allow_promo_email", "allow_third_party_email")


@dataclass(frozen=True)
class Erasure:
    """What `erase_contact` did: the contact as it is now and how many rows it cleared elsewhere."""

    contact: ContactView
    already_erased: bool
    lines_cleared: int = 0
    tickets_cleared: int = 0
    dumps_cleared: int = 0


def _mentions(value: Any, key: str) -> bool:
    """Whether a JSON value holds, anywhere, a text that is the e-mail `key` (normalized, C1)."""
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
      a claim kept would refuse the contact a later transfer to that e-mail needs (every page creating
      it would lose its claim to the erased contact and the run would end ERROR); released, a later transfer
      to the same e-mail creates a new contact, as for a stranger;
    - ``recipient_email`` of the lines whose new contact it is, and of the lines left without a
      contact (F5, a cancelled transfer) that were sent to its e-mail;
    - on the tickets linked to it (cultural contact, owner, buyer, one of its lines) or to its
      e-mail: the stored wallet owner and ticket holder profiles that are the person's (same e-mail,
      or same first and last name), and the last wallet owner e-mail; and the ticket holder of a
      ticket the person holds in the wallet, which they typed (W3). Under W10 the back office may
      never have had the person's name (an accepted recipient who did not open the ticket stays a
      temporary contact, "Pending CREATION"), so the name alone cannot find the holder they typed;
    - the payload dumps of executions that contain its e-mail (dropped whole: they are diagnostics).

    Refused (409) while the erasure would be undone or contradicted by the feedback: a PENDING
    transfer involves the contact (CONTACT_HAS_PENDING_TRANSFER: its outcome would write the person's
    profile back), or a parked record holds its e-mail (CONTACT_IN_PARKED_RECORD: its retry would).
    An unknown id is 404 CONTACT_NOT_FOUND. Erasing an erased contact changes nothing.
    """
    lock_contact_writes(conn)  # a feedback page never decides on this contact while it is erased
    row = conn.execute(select(contacts).where(contacts.c.id == contact_id).with_for_update()).mappings().first()
    if row is None:
        raise NotFound(f"contact {contact_id} does not exist", code=BackofficeCode.CONTACT_NOT_FOUND,
                       details={"contactId": contact_id})
    if row["erased_at"] is not None:
        return Erasure(view_of(ContactView, row), already_erased=True)
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
    values.update(name_keys(values["first_name"], values["last_name"]))
    conn.execute(update(contacts).where(contacts.c.id == contact_id).values(values))
    erased = conn.execute(select(contacts).where(contacts.c.id == contact_id)).mappings().one()
    return Erasure(view_of(ContactView, erased), already_erased=False, lines_cleared=lines,
                   tickets_cleared=cleared_tickets, dumps_cleared=dumps)


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
            code=BackofficeCode.CONTACT_HAS_PENDING_TRANSFER,
            details={"contactId": contact_id, "ticketNumbers": numbers})


def _refuse_if_parked(conn: Connection, contact_id: int, key: str, needles: Sequence[str]) -> None:
    query = select(parked_records.c.record_id, parked_records.c.ticket_number, parked_records.c.record).where(
        _json_like(parked_records.c.record, needles))
    held = sorted({(r.record_id, r.ticket_number) for r in conn.execute(query) if _mentions(r.record, key)})
    if held:
        raise Conflict(
            f"contact {contact_id} appears in {len(held)} parked feedback record(s) (record ids "
            f"{', '.join(str(record_id) for record_id, _ in held[:20])}): fix or remove them first",
            code=BackofficeCode.CONTACT_IN_PARKED_RECORD,
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
        holds = _carries(ticket.wallet_owner, key, names)
        if holds:
            values.update(wallet_owner=null(), last_wallet_owner_email=None)
        if holds or _carries(ticket.ticket_holder, key, names):
            values["ticket_holder"] = null()  # named by the person, or typed by them as the wallet owner (W3)
        if key is not None and _mentions(ticket.last_wallet_owner_email, key):
            values["last_wallet_owner_email"] = None
        if values:  # one statement per ticket: a person holds few tickets, and JSON columns need SQL NULL
            conn.execute(update(tickets).where(tickets.c.id == ticket.id).values(values))
            changed += 1
    return changed
