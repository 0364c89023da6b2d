"""Finding contacts and tickets from what an operator types (DESIGN 7: ``q=``), through indexes only.

A contact is found by a prefix of its folded name, first name first or last name first
(``search_name``, ``search_name_reversed``: `domain.search.name_keys`, written with the name), or by a
prefix of its C1 e-mail key; a ticket by a prefix of its number or barcode (spaces ignored), by its
cultural contact or owner, or by the recipient of a transfer still pending on it (the line's new
contact, which the feedback creates, temporary, for an unknown e-mail).

Every condition is a prefix of an indexed column, written as the database can use the index for it:
``LIKE 'p%'`` on PostgreSQL (the indexes use ``text_pattern_ops``, so this holds under any collation),
and the range ``p <= column < prefix_bound(p)`` on SQLite (whose LIKE is case-insensitive and would
scan). Alternatives are a UNION of such index ranges, never an OR over a scan.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, CompoundSelect, Connection, Select, and_, literal, select, union

from tixtrace.backoffice.db.tables import contacts, distribution_lines, tickets
from tixtrace.backoffice.domain.contacts import normalize_email
from tixtrace.backoffice.domain.search import compact_number, fold_name, prefix_bound

#: the longest text a search takes (the longest column it is compared with)
MAX_QUERY = 320


def starts_with(conn: Connection, column: ColumnElement[str], prefix: str) -> ColumnElement[bool]:
    """``column`` starts with the non-empty `prefix`, in a form the column's index serves."""
    if conn.dialect.name == "postgresql":
        return column.startswith(prefix, autoescape=True)
    return and_(column >= prefix, column < prefix_bound(prefix))


def contact_selects(conn: Connection, text: str) -> list[Select[tuple[int]]]:
    """SELECTs of the ids of the contacts `text` designates, to unite ([] when it designates none:
    nothing left once folded). With an ``@``, only e-mails are compared."""
    email = normalize_email(text)
    selects = [select(contacts.c.id).where(starts_with(conn, contacts.c.email_key, email))] if email else []
    name = fold_name(text)
    if "@" not in text and name:
        selects += [select(contacts.c.id).where(starts_with(conn, column, name))
                    for column in (contacts.c.search_name, contacts.c.search_name_reversed)]
    return selects


def matching_contacts(conn: Connection, text: str) -> ColumnElement[bool]:
    """The condition on ``contacts`` of a free-text search."""
    selects = contact_selects(conn, text)
    return contacts.c.id.in_(_united(selects)) if selects else literal(False)


def ticket_selects(conn: Connection, text: str, *, numbers: bool = True,
                   people: bool = True) -> list[Select[tuple[int]]]:
    """SELECTs of the ids of the tickets `text` designates: by a prefix of the number or barcode
    (spaces ignored) when `numbers`; when `people`, by its cultural contact or owner, or by the
    recipient of a transfer pending on it."""
    selects: list[Select[tuple[int]]] = []
    digits = compact_number(text)
    if numbers and digits:
        selects += [select(tickets.c.id).where(starts_with(conn, column, digits))
                    for column in (tickets.c.number, tickets.c.barcode)]
    found = contact_selects(conn, text) if people else []
    if found:
        ids = _united(found)
        selects += [select(tickets.c.id).where(tickets.c.cultural_contact_id.in_(ids)),
                    select(tickets.c.id).where(tickets.c.owner_contact_id.in_(ids)),
                    select(distribution_lines.c.ticket_id).where(distribution_lines.c.new_contact_id.in_(ids),
                                                                  distribution_lines.c.status == "PENDING")]
    return selects


def matching_tickets(conn: Connection, text: str, *, numbers: bool = True,
                     people: bool = True) -> ColumnElement[bool]:
    """The condition on ``tickets`` of a free-text search (see `ticket_selects`)."""
    selects = ticket_selects(conn, text, numbers=numbers, people=people)
    return tickets.c.id.in_(_united(selects)) if selects else literal(False)


def _united(selects: list[Select[tuple[int]]]) -> Select[tuple[int]] | CompoundSelect:
    return selects[0] if len(selects) == 1 else union(*selects)
