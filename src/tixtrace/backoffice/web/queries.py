"""Reads the screens need and the services do not offer: searches and the lists of a contact's page.

Each function is one SELECT (joins included; a list adds its count), read-only, keyset-paged where it
lists: a page starts after the (sort value, id) of the last row of the previous one, however far the
reader is. Texts are matched as services/search.py does for the API: prefixes of indexed keys (folded
names, C1 e-mail keys, ticket numbers and barcodes), never a scan with ``lower()``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, RowMapping, Select, and_, func, or_, select

from tixtrace.backoffice.db.tables import (
    contacts,
    distribution_lines,
    events,
    interfaces,
    parked_records,
    schedules,
    tickets,
)
from tixtrace.backoffice.services.search import matching_contacts, matching_tickets
from tixtrace.kernel.cursors import MAX_INT_KEY, decode_cursor, encode_cursor
from tixtrace.kernel.errors import BadInput, KernelCode

#: the wallet's ticket statuses, in lifecycle order (the mobile status the feedback writes)
MOBILE_STATUSES = ("INJECTED", "DOWNLOADED", "ASSIGNED", "PENDING_TRANSFER", "TRANSFERRED", "FAILURE_TRANSFER",
                   "FAILURE", "CONTROLLED", "DELETION_PENDING", "DELETED")
#: the mobile-status filter value for tickets the feedback never reported on
NEVER_SYNCED = "NONE"

#: the sortable columns of the two lists (``sort=name`` ascending, ``sort=-name`` descending), each a
#: non-null expression so that a keyset position (value, id) orders every row
TICKET_SORTS: dict[str, ColumnElement[Any]] = {
    "number": tickets.c.number, "event": events.c.code, "status": tickets.c.status,
    "mobile": func.coalesce(tickets.c.mobile_status, ""),
}
CONTACT_SORTS: dict[str, ColumnElement[Any]] = {
    "name": contacts.c.search_name_reversed, "email": func.coalesce(contacts.c.email_key, ""),
}


@dataclass(frozen=True)
class Listing:
    """A page of a screen's list: its rows, the cursor of the next page, and how many match in all."""

    rows: list[RowMapping]
    next_cursor: str | None
    total: int


def parse_sort(value: str | None, sorts: dict[str, ColumnElement[Any]]) -> str | None:
    """The sort a screen was asked for (``name`` or ``-name``), None (id order) when unknown."""
    if value and value.lstrip("-") in sorts:
        return value
    return None


def _keyset(query: Select[Any], order: ColumnElement[Any], key: ColumnElement[int], descending: bool,
            cursor: str | None) -> Select[Any]:
    """`query` ordered by (order, key), after the position in `cursor` (encoded by `_listing`)."""
    position = decode_cursor(cursor)
    if position is not None:
        if not (isinstance(position, list) and len(position) == 2 and _storable(position[0])
                and _storable(position[1]) and isinstance(position[1], int)):
            raise BadInput(f"cursor {cursor!r} is not a value this server issued; pass back the one from the "
                           "last page", code=KernelCode.INVALID_CURSOR, details={"parameter": "cursor"})
        value, last = position
        after = (or_(order < value, and_(order == value, key < last)) if descending
                 else or_(order > value, and_(order == value, key > last)))
        query = query.where(after)
    if descending:
        return query.order_by(order.desc(), key.desc())
    return query.order_by(order, key)


def _storable(value: Any) -> bool:
    """A cursor value both databases can bind: a BIGINT, or a short text without NUL."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return abs(value) <= MAX_INT_KEY
    return isinstance(value, str) and len(value) <= 400 and "\x00" not in value


def _listing(conn: Connection, query: Select[Any], count: Select[Any], limit: int) -> Listing:
    rows = list(conn.execute(query.limit(limit + 1)).mappings())
    more = len(rows) > limit
    rows = rows[:limit]
    cursor = encode_cursor([rows[-1]["sort_key"], rows[-1]["id"]]) if more and rows else None
    return Listing(rows, cursor, int(conn.execute(count).scalar_one()))


def search_tickets(conn: Connection, *, number: str | None = None, contact: str | None = None,
                   event: str | None = None, status: str | None = None, mobile_status: str | None = None,
                   sort: str | None = None, cursor: str | None = None, limit: int = 50) -> Listing:
    """A page of tickets (with event code and cultural contact) and how many match.

    `number` is a prefix of the number or barcode (spaces ignored); `contact` a name or e-mail of the
    cultural contact, the owner or a pending transfer's recipient (services/search.py: indexed prefixes,
    case and accents ignored); `event` an event code; `mobile_status` `NEVER_SYNCED` = no status yet.
    """
    cultural = contacts.alias("cultural")
    conditions: list[ColumnElement[bool]] = []
    if number is not None:
        conditions.append(matching_tickets(conn, number, people=False))
    if contact is not None:
        conditions.append(matching_tickets(conn, contact, numbers=False))
    if event is not None:
        conditions.append(events.c.code == event)
    if status is not None:
        conditions.append(tickets.c.status == status)
    if mobile_status == NEVER_SYNCED:
        conditions.append(tickets.c.mobile_status.is_(None))
    elif mobile_status is not None:
        conditions.append(tickets.c.mobile_status == mobile_status)
    order = TICKET_SORTS[sort.lstrip("-")] if sort else tickets.c.id
    joined = tickets.join(events, events.c.id == tickets.c.event_id)
    query: Select[Any] = (
        select(tickets.c.id, tickets.c.number, tickets.c.status, tickets.c.mobile_status, tickets.c.seat,
               tickets.c.last_synced_at, events.c.code.label("event_code"), events.c.name.label("event_name"),
               cultural.c.id.label("contact_id"), cultural.c.first_name, cultural.c.last_name,
               cultural.c.email, cultural.c.is_temporary, order.label("sort_key"))
        .select_from(joined.join(cultural, cultural.c.id == tickets.c.cultural_contact_id))
        .where(*conditions)
    )
    query = _keyset(query, order, tickets.c.id, bool(sort and sort.startswith("-")), cursor)
    count = select(func.count()).select_from(joined).where(*conditions)
    return _listing(conn, query, count, limit)


def search_contacts(conn: Connection, *, text: str | None = None, temporary_only: bool = False,
                    sort: str | None = None, cursor: str | None = None, limit: int = 50) -> Listing:
    """A page of contacts whose name or e-mail starts with `text` (case and accents ignored), and how many."""
    conditions: list[ColumnElement[bool]] = []
    if text is not None:
        conditions.append(matching_contacts(conn, text))
    if temporary_only:
        conditions.append(contacts.c.is_temporary.is_(True))
    order = CONTACT_SORTS[sort.lstrip("-")] if sort else contacts.c.id
    query: Select[Any] = select(contacts, order.label("sort_key")).where(*conditions)
    query = _keyset(query, order, contacts.c.id, bool(sort and sort.startswith("-")), cursor)
    count = select(func.count()).select_from(contacts).where(*conditions)
    return _listing(conn, query, count, limit)


def event_choices(conn: Connection, *, limit: int = 500) -> list[RowMapping]:
    """The events a list can be filtered by (code and name), the latest first."""
    query = select(events.c.code, events.c.name).order_by(events.c.start_time.desc(), events.c.id.desc())
    return list(conn.execute(query.limit(limit)).mappings())


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
    """The records parked on a schedule now (oldest record first, at most `limit`) and how many in all,
    each with the id of its ticket (None for a ticket the back office does not know)."""
    query = (select(parked_records.c.record_id, parked_records.c.ticket_number, parked_records.c.error,
                    parked_records.c.parked_at, tickets.c.id.label("ticket_id"))
             .select_from(parked_records.outerjoin(tickets, tickets.c.number == parked_records.c.ticket_number))
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


def parked_for_ticket(conn: Connection, ticket_number: str, *, limit: int = 100) -> list[RowMapping]:
    """The records of a ticket parked now, on any schedule (oldest record first, at most `limit`)."""
    query = (select(parked_records.c.schedule_id, parked_records.c.record_id, parked_records.c.error,
                    parked_records.c.parked_at, schedules.c.interface_id)
             .select_from(parked_records.join(schedules, schedules.c.id == parked_records.c.schedule_id))
             .where(parked_records.c.ticket_number == ticket_number)
             .order_by(parked_records.c.schedule_id, parked_records.c.record_id).limit(limit))
    return list(conn.execute(query).mappings())


def schedule_choices(conn: Connection) -> list[RowMapping]:
    """Every schedule with its interface's name, for the executions list's filter and labels (one
    SELECT; schedules are few, a handful per interface)."""
    return list(conn.execute(select(schedules.c.id, schedules.c.function, interfaces.c.name.label("interface_name"))
                             .join(interfaces, interfaces.c.id == schedules.c.interface_id)
                             .order_by(interfaces.c.name, schedules.c.id)).mappings())
