"""Reads the screens need and the services do not offer: searches and the lists of a contact's page.

Each function is one SELECT (joins included), read-only, keyset-paged where it lists: a page costs one
index range, however far the reader is. A search by e-mail is an exact match on the indexed
``email_key`` (NFKC, trimmed, lower-cased, as C1 matches); any other contact text is a case-insensitive
"contains" on the name and the e-mail key.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import ColumnElement, Connection, RowMapping, func, or_, select

from tixtrace.backoffice.db.tables import (
    contacts,
    distribution_lines,
    events,
    interfaces,
    parked_records,
    schedules,
    tickets,
)
from tixtrace.backoffice.domain.contacts import normalize_email

#: the wallet's ticket statuses, in lifecycle order (the mobile status the feedback writes)
MOBILE_STATUSES = ("INJECTED", "DOWNLOADED", "ASSIGNED", "PENDING_TRANSFER", "TRANSFERRED", "FAILURE_TRANSFER",
                   "FAILURE", "CONTROLLED", "DELETION_PENDING", "DELETED")
#: the mobile-status filter value for tickets the feedback never reported on
NEVER_SYNCED = "NONE"

_FULL_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def _page(rows: list[RowMapping], limit: int, key: str = "id") -> tuple[list[RowMapping], Any]:
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1][key] if more and rows else None)


def contact_condition(text: str) -> ColumnElement[bool]:
    """Contacts designated by `text`: the same e-mail (exact, C1 key) or a name / e-mail containing it."""
    if _FULL_EMAIL.fullmatch(text):
        return contacts.c.email_key == normalize_email(text)
    full_name = func.coalesce(contacts.c.first_name, "") + " " + contacts.c.last_name
    return or_(full_name.icontains(text, autoescape=True),
               contacts.c.email_key.contains(normalize_email(text), autoescape=True))


def search_tickets(conn: Connection, *, number: str | None = None, contact: str | None = None,
                   status: str | None = None, mobile_status: str | None = None, after_id: int = 0,
                   limit: int = 50) -> tuple[list[RowMapping], int | None]:
    """A page of tickets (with event code and cultural contact) in id order, and the last id if more.

    `contact` matches the cultural contact or the owner; `mobile_status` `NEVER_SYNCED` = no status yet.
    """
    cultural = contacts.alias("cultural")
    query = (
        select(tickets.c.id, tickets.c.number, tickets.c.status, tickets.c.mobile_status, tickets.c.seat,
               tickets.c.last_synced_at, events.c.code.label("event_code"), events.c.name.label("event_name"),
               cultural.c.id.label("contact_id"), cultural.c.first_name, cultural.c.last_name,
               cultural.c.email, cultural.c.is_temporary)
        .select_from(tickets.join(events, events.c.id == tickets.c.event_id)
                     .join(cultural, cultural.c.id == tickets.c.cultural_contact_id))
        .where(tickets.c.id > after_id)
    )
    if number is not None:
        query = query.where(tickets.c.number == number)
    if status is not None:
        query = query.where(tickets.c.status == status)
    if mobile_status == NEVER_SYNCED:
        query = query.where(tickets.c.mobile_status.is_(None))
    elif mobile_status is not None:
        query = query.where(tickets.c.mobile_status == mobile_status)
    if contact is not None:
        matching = select(contacts.c.id).where(contact_condition(contact))
        query = query.where(or_(tickets.c.cultural_contact_id.in_(matching), tickets.c.owner_contact_id.in_(matching)))
    rows = list(conn.execute(query.order_by(tickets.c.id).limit(limit + 1)).mappings())
    return _page(rows, limit)


def search_contacts(conn: Connection, *, text: str | None = None, temporary_only: bool = False, after_id: int = 0,
                    limit: int = 50) -> tuple[list[RowMapping], int | None]:
    query = select(contacts).where(contacts.c.id > after_id)
    if text is not None:
        query = query.where(contact_condition(text))
    if temporary_only:
        query = query.where(contacts.c.is_temporary.is_(True))
    rows = list(conn.execute(query.order_by(contacts.c.id).limit(limit + 1)).mappings())
    return _page(rows, limit)


def contact_tickets(conn: Connection, contact_id: int, *, limit: int = 100) -> tuple[list[RowMapping], bool]:
    """The tickets whose cultural contact is `contact_id` (first `limit` by id), and whether there are more."""
    query = (select(tickets.c.id, tickets.c.number, tickets.c.status, tickets.c.mobile_status, tickets.c.seat,
                    tickets.c.owner_contact_id, events.c.code.label("event_code"))
             .select_from(tickets.join(events, events.c.id == tickets.c.event_id))
             .where(tickets.c.cultural_contact_id == contact_id)
             .order_by(tickets.c.id).limit(limit + 1))
    rows = list(conn.execute(query).mappings())
    return rows[:limit], len(rows) > limit


def contact_lines(conn: Connection, contact_id: int, *, incoming: bool,
                  limit: int = 100) -> tuple[list[RowMapping], bool]:
    """Distribution lines where the contact is the new contact (`incoming`) or the old one, newest first
    (in wallet order: the recordId that opened each, never a timestamp),
    with the ticket number and the contact on the other side."""
    lines = distribution_lines.c
    mine, theirs = (lines.new_contact_id, lines.old_contact_id) if incoming else (lines.old_contact_id,
                                                                                  lines.new_contact_id)
    other = contacts.alias("other")
    query = (select(distribution_lines, tickets.c.number.label("ticket_number"),
                    other.c.first_name.label("other_first_name"), other.c.last_name.label("other_last_name"),
                    other.c.email.label("other_email"))
             .select_from(distribution_lines.join(tickets, tickets.c.id == lines.ticket_id)
                          .outerjoin(other, other.c.id == theirs))
             .where(mine == contact_id)
             .order_by(lines.opened_record_id.desc(), lines.id.desc()).limit(limit + 1))  # F10: wallet order
    rows = list(conn.execute(query).mappings())
    return rows[:limit], len(rows) > limit


def replaced_by(conn: Connection, ticket_id: int) -> RowMapping | None:
    """The ticket that replaces `ticket_id` (a reprint), if any."""
    query = select(tickets.c.id, tickets.c.number).where(tickets.c.replaces_ticket_id == ticket_id).limit(1)
    return conn.execute(query).mappings().first()


def ticket_number(conn: Connection, ticket_id: int) -> str | None:
    return conn.execute(select(tickets.c.number).where(tickets.c.id == ticket_id)).scalar()


def parked_for_schedule(conn: Connection, schedule_id: int, *, limit: int = 200) -> tuple[list[RowMapping], int]:
    """The records parked on a schedule now (oldest record first, at most `limit`) and how many in all."""
    query = (select(parked_records.c.record_id, parked_records.c.ticket_number, parked_records.c.error,
                    parked_records.c.parked_at)
             .where(parked_records.c.schedule_id == schedule_id)
             .order_by(parked_records.c.record_id).limit(limit))
    rows = list(conn.execute(query).mappings())
    if len(rows) < limit:
        return rows, len(rows)
    total = conn.execute(select(func.count()).select_from(parked_records)
                         .where(parked_records.c.schedule_id == schedule_id)).scalar_one()
    return rows, int(total)


def schedule_counts(conn: Connection, interface_ids: list[int]) -> dict[int, int]:
    """How many schedules each interface has."""
    if not interface_ids:
        return {}
    query = (select(schedules.c.interface_id, func.count())
             .where(schedules.c.interface_id.in_(interface_ids), schedules.c.deleted_at.is_(None))
             .group_by(schedules.c.interface_id))
    return {interface_id: int(count) for interface_id, count in conn.execute(query)}


def schedule_choices(conn: Connection) -> list[RowMapping]:
    """Every schedule with its interface's name, for the executions list's filter and labels (one
    SELECT; schedules are few, a handful per interface)."""
    return list(conn.execute(select(schedules.c.id, schedules.c.function, interfaces.c.name.label("interface_name"))
                             .join(interfaces, interfaces.c.id == schedules.c.interface_id)
                             .order_by(interfaces.c.name, schedules.c.id)).mappings())
