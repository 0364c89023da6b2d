"""Tickets: creation, the operator's actions (cancel, invalidate, control, reprint) and their reading.

Status machine (back office, not the wallet's mobile status):

    NOT_PRINTED --cancel--> CANCELLED        NOT_PRINTED --invalidate--> INVALIDATED
    PRINTED     --cancel--> CANCELLED        PRINTED     --invalidate--> INVALIDATED
    PRINTED     --control--> CONTROLLED      PRINTED     --reprint--> INVALIDATED  (+ a new NOT_PRINTED
                                                                                    ticket replacing it)

CANCELLED, INVALIDATED and CONTROLLED are final. Any other move is a 409 ``INVALID_TICKET_TRANSITION``
naming the status and the action. A move is one conditional UPDATE (``WHERE status = <the status read>``),
so two operators acting at once cannot both win. Every action writes its ``ticket_actions`` row (who,
when, from, to) in the same transaction (house rule 3).

Reprint: the old ticket becomes INVALIDATED (so push-cancelled later deletes it from the wallet) and a
new NOT_PRINTED ticket with a new number and barcode, the same event, seat, price and contacts,
records ``replaces_ticket_id``; injection sends it to the last wallet owner of the old one (I2).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, RowMapping, and_, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from tixtrace.backoffice.db.tables import distribution_lines, ticket_actions, tickets
from tixtrace.backoffice.domain.contacts import ContactKind
from tixtrace.backoffice.services.contacts import get_contacts
from tixtrace.backoffice.services.events import event_codes, events_by_code
from tixtrace.backoffice.services.validation import Checker, FieldProblem, refuse
from tixtrace.kernel.clock import as_utc
from tixtrace.kernel.errors import Conflict, NotFound


class TicketStatus(StrEnum):
    NOT_PRINTED = "NOT_PRINTED"
    PRINTED = "PRINTED"
    CANCELLED = "CANCELLED"
    INVALIDATED = "INVALIDATED"
    CONTROLLED = "CONTROLLED"


class TicketAction(StrEnum):
    CANCEL = "CANCEL"
    INVALIDATE = "INVALIDATE"
    CONTROL = "CONTROL"
    REPRINT = "REPRINT"


#: action -> (statuses it may start from, status it leads to)
TRANSITIONS: dict[TicketAction, tuple[frozenset[TicketStatus], TicketStatus]] = {
    TicketAction.CANCEL: (frozenset({TicketStatus.NOT_PRINTED, TicketStatus.PRINTED}), TicketStatus.CANCELLED),
    TicketAction.INVALIDATE: (frozenset({TicketStatus.NOT_PRINTED, TicketStatus.PRINTED}),
                              TicketStatus.INVALIDATED),
    TicketAction.CONTROL: (frozenset({TicketStatus.PRINTED}), TicketStatus.CONTROLLED),
    TicketAction.REPRINT: (frozenset({TicketStatus.PRINTED}), TicketStatus.INVALIDATED),
}


@dataclass(frozen=True)
class NewTicket:
    event_code: str | None
    cultural_contact_id: int | None
    buyer_contact_id: int | None = None
    owner_contact_id: int | None = None
    number: str | None = None
    seat: str | None = None
    price: Any = None
    currency: str | None = None
    barcode: str | None = None
    file_number: str | None = None


@dataclass(frozen=True)
class TicketView:
    """A ticket with what its JSON shows: event code and the three contacts (None when unknown)."""

    ticket: RowMapping
    event_code: str
    cultural_contact: RowMapping | None
    owner: RowMapping | None
    buyer: RowMapping | None


@dataclass(frozen=True)
class LineView:
    line: RowMapping
    old_contact: RowMapping | None
    new_contact: RowMapping | None


def new_number() -> str:
    """A ticket number nobody typed: 16 random digits (collisions are refused by the unique index)."""
    return str(10**15 + secrets.randbelow(9 * 10**15))


def new_barcode() -> str:
    return str(10**17 + secrets.randbelow(9 * 10**17))


def ticket_values(new: NewTicket, checker: Checker) -> dict[str, Any]:
    """Column values of `new` that need no database, its problems recorded in `checker`."""
    return {
        "event_code": checker.code("eventCode", new.event_code, required=True),
        "cultural_contact_id": checker.identifier("culturalContactId", new.cultural_contact_id, required=True),
        "buyer_contact_id": checker.identifier("buyerContactId", new.buyer_contact_id),
        "owner_contact_id": checker.identifier("ownerContactId", new.owner_contact_id),
        "number": checker.code("number", new.number),
        "seat": checker.text("seat", new.seat, max_length=50),
        "price_cents": checker.price_cents("price", new.price),
        "currency": checker.currency("currency", new.currency),
        "barcode": checker.code("barcode", new.barcode, max_length=100),
        "file_number": checker.text("fileNumber", new.file_number, max_length=50),
    }


def resolve_references(conn: Connection, values: dict[str, Any]) -> list[FieldProblem]:
    """Replace ``event_code`` by ``event_id`` and check the contacts exist; the problems found."""
    problems: list[FieldProblem] = []
    event = events_by_code(conn, [values["event_code"]]).get(values["event_code"])
    if event is None:
        problems.append(FieldProblem("eventCode", values["event_code"],
                                     f"eventCode {values['event_code']!r} is not a known event"))
    fields = {"cultural_contact_id": "culturalContactId", "buyer_contact_id": "buyerContactId",
              "owner_contact_id": "ownerContactId"}
    found = get_contacts(conn, [values[c] for c in fields if values[c] is not None])
    for column, field in fields.items():
        cid = values[column]
        if cid is not None and cid not in found:
            problems.append(FieldProblem(field, cid, f"{field} {cid} is not a known contact"))
    cultural = found.get(values["cultural_contact_id"])
    if cultural is not None and cultural["kind"] == ContactKind.STRUCTURE:
        problems.append(FieldProblem("culturalContactId", cultural["id"],
                                     f"culturalContactId {cultural['id']} is a STRUCTURE; "
                                     "the cultural contact attends: INDIVIDUAL or RELAY"))
    values["event_id"] = event["id"] if event is not None else None
    return problems


def finish_values(values: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Row to insert from checked values whose references are resolved."""
    now = as_utc(now)
    row = {k: v for k, v in values.items() if k != "event_code"}
    row["number"] = row["number"] or new_number()
    row["barcode"] = row["barcode"] or new_barcode()
    row["owner_contact_id"] = row["owner_contact_id"] or row["cultural_contact_id"]
    if row["price_cents"] is not None and row["currency"] is None:
        row["currency"] = "EUR"
    row.update(status=TicketStatus.NOT_PRINTED.value, created_at=now, updated_at=now)
    return row


def create_ticket(conn: Connection, new: NewTicket, now: datetime, *, actor: str | None = None) -> RowMapping:
    """Create a NOT_PRINTED ticket; 422 naming bad fields and unknown event or contacts, 409 if the
    number is taken. The owner defaults to the cultural contact (the person the wallet will hold it for)."""
    checker = Checker()
    values = ticket_values(new, checker)
    checker.raise_if_any()
    problems = resolve_references(conn, values)
    if problems:
        raise refuse(problems, code="UNKNOWN_REFERENCE")
    row = finish_values(values, now)
    if conn.execute(select(tickets.c.id).where(tickets.c.number == row["number"])).first():
        raise _number_taken(row["number"])
    try:
        created = conn.execute(insert(tickets).returning(*tickets.c), row).mappings().one()
    except IntegrityError as exc:  # a concurrent insert of the same number
        raise _number_taken(row["number"]) from exc
    return created


def _number_taken(number: str) -> Conflict:
    return Conflict(f"ticket number {number!r} is already used", code="TICKET_NUMBER_TAKEN",
                    details={"number": number})


def _record(conn: Connection, ticket_id: int, action: str, from_status: str | None, to_status: str,
            actor: str | None, now: datetime, related: int | None = None) -> None:
    conn.execute(insert(ticket_actions).values(
        ticket_id=ticket_id, action=action, from_status=from_status, to_status=to_status,
        related_ticket_id=related, actor=actor, at=as_utc(now)))


def get_ticket(conn: Connection, ticket_id: int) -> RowMapping:
    row = conn.execute(select(tickets).where(tickets.c.id == ticket_id)).mappings().first()
    if row is None:
        raise NotFound(f"ticket {ticket_id} does not exist", code="TICKET_NOT_FOUND",
                       details={"ticketId": ticket_id})
    return row


def list_tickets(conn: Connection, *, number: str | None = None, status: str | None = None,
                 after_id: int = 0, limit: int = 100) -> tuple[list[RowMapping], int | None]:
    """A page of tickets in id order, filtered by number or status, and the last id if there are more."""
    checker = Checker()
    query = select(tickets).where(tickets.c.id > after_id)
    if number is not None:
        query = query.where(tickets.c.number == checker.text("number", number, max_length=50))
    if status is not None:
        if status not in {s.value for s in TicketStatus}:
            checker.fail("status", status, f"status {status!r} must be one of {', '.join(TicketStatus)}")
        query = query.where(tickets.c.status == status)
    checker.raise_if_any()
    rows = list(conn.execute(query.order_by(tickets.c.id).limit(limit + 1)).mappings())
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1]["id"] if more else None)


def ticket_views(conn: Connection, rows: Iterable[RowMapping]) -> list[TicketView]:
    """Views of `rows` with two queries in all (events, contacts), whatever the number of tickets."""
    rows = list(rows)
    codes = event_codes(conn, [row["event_id"] for row in rows])
    ids = [row[c] for row in rows for c in ("cultural_contact_id", "owner_contact_id", "buyer_contact_id")]
    people = get_contacts(conn, [cid for cid in ids if cid is not None])
    return [
        TicketView(
            ticket=row,
            event_code=codes[row["event_id"]],
            cultural_contact=people.get(row["cultural_contact_id"]),
            owner=people.get(row["owner_contact_id"]),
            buyer=people.get(row["buyer_contact_id"]) if row["buyer_contact_id"] else None,
        )
        for row in rows
    ]


def apply_action(conn: Connection, ticket_id: int, action: TicketAction, now: datetime, *,
                 actor: str | None = None) -> RowMapping:
    """Move a ticket by `action` (see the module's status machine); for REPRINT return the new ticket.

    404 TICKET_NOT_FOUND, 409 INVALID_TICKET_TRANSITION (details: ticketId, status, action, allowedFrom).
    """
    allowed, target = TRANSITIONS[action]
    now = as_utc(now)
    current = get_ticket(conn, ticket_id)
    moved = None
    if current["status"] in allowed:
        moved = conn.execute(
            update(tickets)
            .where(tickets.c.id == ticket_id, tickets.c.status == current["status"])
            .values(status=target.value, updated_at=now)
            .returning(*tickets.c)
        ).mappings().first()
    if moved is None:
        current = get_ticket(conn, ticket_id)  # another operator may have moved it meanwhile
        raise Conflict(
            f"ticket {ticket_id} is {current['status']}: {action.lower()} needs a ticket that is "
            + " or ".join(sorted(allowed)),
            code="INVALID_TICKET_TRANSITION",
            details={"ticketId": ticket_id, "status": current["status"], "action": action.value,
                     "allowedFrom": sorted(allowed)},
        )
    previous = current["status"]
    if action is not TicketAction.REPRINT:
        _record(conn, ticket_id, action.value, previous, target.value, actor, now)
        return moved
    replacement = _reprint(conn, moved, now)
    _record(conn, ticket_id, action.value, previous, target.value, actor, now, related=replacement["id"])
    return replacement


def _reprint(conn: Connection, old: RowMapping, now: datetime) -> RowMapping:
    copied = ("event_id", "seat", "price_cents", "currency", "file_number", "buyer_contact_id",
              "cultural_contact_id", "owner_contact_id")
    row = {column: old[column] for column in copied}
    row.update(number=new_number(), barcode=new_barcode(), status=TicketStatus.NOT_PRINTED.value,
               replaces_ticket_id=old["id"], created_at=now, updated_at=now)
    return conn.execute(insert(tickets).returning(*tickets.c), row).mappings().one()


# --- distribution history ---------------------------------------------------------------------


def distribution_history(conn: Connection, ticket_id: int, *, after: tuple[int, int] | None = None,
                         limit: int = 100) -> tuple[list[LineView], tuple[int, int] | None]:
    """A page of the ticket's distribution lines in wallet order (F10: the recordId that opened each
    line, then id; never a timestamp), and the key of the last one if there are more (`after` takes
    it back)."""
    get_ticket(conn, ticket_id)
    lines = distribution_lines.c
    query = select(distribution_lines).where(lines.ticket_id == ticket_id)
    if after is not None:
        opened, last_id = after
        query = query.where(or_(lines.opened_record_id > opened,
                                and_(lines.opened_record_id == opened, lines.id > last_id)))
    rows = list(conn.execute(query.order_by(lines.opened_record_id, lines.id).limit(limit + 1)).mappings())
    more = len(rows) > limit
    rows = rows[:limit]
    people = get_contacts(conn, [cid for row in rows for cid in (row["old_contact_id"], row["new_contact_id"])
                                 if cid is not None])
    views = [LineView(row, people.get(row["old_contact_id"]) if row["old_contact_id"] else None,
                      people.get(row["new_contact_id"]) if row["new_contact_id"] else None) for row in rows]
    last = rows[-1] if more else None
    return views, ((last["opened_record_id"], last["id"]) if last else None)
