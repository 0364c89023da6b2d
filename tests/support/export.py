"""A canonical export of the back office's feedback state, to compare two back offices (or one before
and after a run) without database ids.

- per ticket number: cultural contact e-mail, owner e-mail, mobile status, wallet owner e-mail, and its
  distribution lines in history order (oldest first: ``initiated_at`` then insertion) as
  ``(action, old contact e-mail | None, new contact e-mail | None, recipient e-mail, status, reason,
  contact match, transfer id)``;
- contacts: a sorted list (a multiset: a duplicate shows) of ``(email_key, is_temporary, first name,
  last name)``.

Both can be restricted (to some ticket numbers, to some e-mail keys) so that a test which shares one
wallet and one back office between many examples compares only the part an example wrote.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select

from tixtrace.backoffice.db.tables import contacts, distribution_lines, tickets
from tixtrace.kernel.db import unit_of_work
from tixtrace.kernel.emails import normalize_email

Line = tuple[str, str | None, str | None, str | None, str, str | None, str | None, str]
ContactKey = tuple[str | None, bool, str | None, str]


@dataclass(frozen=True)
class TicketExport:
    cultural_contact: str | None
    owner: str | None
    mobile_status: str | None
    wallet_owner: str | None
    lines: tuple[Line, ...]


@dataclass(frozen=True)
class Export:
    tickets: dict[str, TicketExport]
    contacts: tuple[ContactKey, ...]


def _email(row: Any) -> str | None:
    return None if row is None else row.email


def _sort_key(contact: ContactKey) -> tuple[str, bool, str, str]:
    email_key, temporary, first, last = contact
    return (email_key or "", temporary, first or "", last)


def export(engine: Engine, numbers: Iterable[str] | None = None,
           email_keys: Iterable[str] | None = None) -> Export:
    """The canonical state; ``numbers`` / ``email_keys`` restrict the tickets / contacts (None: all)."""
    wanted_numbers = sorted(set(numbers)) if numbers is not None else None
    wanted_keys = sorted({normalize_email(key) for key in email_keys}) if email_keys is not None else None
    with unit_of_work(engine, write=False) as conn:
        query = select(tickets.c.id, tickets.c.number, tickets.c.cultural_contact_id, tickets.c.owner_contact_id,
                       tickets.c.mobile_status, tickets.c.wallet_owner)
        if wanted_numbers is not None:
            query = query.where(tickets.c.number.in_(wanted_numbers))
        ticket_rows = conn.execute(query).all()
        ids = [row.id for row in ticket_rows]
        line_rows = conn.execute(
            select(distribution_lines).where(distribution_lines.c.ticket_id.in_(ids))
            .order_by(distribution_lines.c.ticket_id, distribution_lines.c.initiated_at, distribution_lines.c.id)
        ).all() if ids else []
        referenced = {row.cultural_contact_id for row in ticket_rows} | {row.owner_contact_id for row in ticket_rows}
        referenced |= {row.old_contact_id for row in line_rows} | {row.new_contact_id for row in line_rows}
        referenced.discard(None)
        by_id = {row.id: row for row in conn.execute(
            select(contacts.c.id, contacts.c.email).where(contacts.c.id.in_(sorted(referenced))))} if referenced else {}
        contact_query = select(contacts.c.email_key, contacts.c.is_temporary, contacts.c.first_name,
                               contacts.c.last_name)
        if wanted_keys is not None:
            contact_query = contact_query.where(contacts.c.email_key.in_(wanted_keys))
        contact_rows = conn.execute(contact_query).all()
    lines_of: dict[int, list[Line]] = {}
    for row in line_rows:
        lines_of.setdefault(row.ticket_id, []).append((
            row.action, _email(by_id.get(row.old_contact_id)), _email(by_id.get(row.new_contact_id)),
            row.recipient_email, row.status, row.reason, row.contact_match, row.transfer_id,
        ))
    exported = {
        row.number: TicketExport(
            cultural_contact=_email(by_id.get(row.cultural_contact_id)),
            owner=_email(by_id.get(row.owner_contact_id)),
            mobile_status=row.mobile_status,
            wallet_owner=(row.wallet_owner or {}).get("email"),
            lines=tuple(lines_of.get(row.id, ())),
        )
        for row in ticket_rows
    }
    people = tuple(sorted(((row.email_key, bool(row.is_temporary), row.first_name, row.last_name)
                           for row in contact_rows), key=_sort_key))
    return Export(exported, people)
