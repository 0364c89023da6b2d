"""Tickets: creation, every move of their status, and their reading.

Every status change goes through `move_tickets` (house rule 3): the operator's actions (cancel,
invalidate, control, reprint: `apply_action`, one ticket) and injection's PRINT (a batch of up to
10,000 accepted tickets). The status machine itself is domain/tickets.py. A batch costs a fixed
number of statements whatever its size: one conditional UPDATE per status the action may start from
(``WHERE id IN <batch> AND status = <that status>``, so two writers acting at once cannot both move a
ticket) and one INSERT of the ``ticket_actions`` rows (who, when, from, to) of the tickets it moved,
in the caller's transaction. A ticket that is no longer in a status the action starts from is left
alone: the batch reports what it moved, and `apply_action` turns "not moved" into a 409
``INVALID_TICKET_TRANSITION`` naming the status and the action.

Reprint: the old ticket becomes INVALIDATED (so push-cancelled later deletes it from the wallet) and a
new NOT_PRINTED ticket with a new number and barcode, the same event, seat, price and contacts,
records ``replaces_ticket_id``; injection sends it to the last wallet owner of the old one (I2). Its
action row names the new ticket (``related_ticket_id``).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from tixtrace.backoffice.db.tables import distribution_lines, events, ticket_actions, tickets
from tixtrace.backoffice.domain.contacts import ContactKind
from tixtrace.backoffice.domain.errors import BackofficeCode
from tixtrace.backoffice.domain.tickets import TRANSITIONS, TicketAction, TicketStatus
from tixtrace.backoffice.services import audit
from tixtrace.backoffice.services.contacts import ContactView, get_contacts
from tixtrace.backoffice.services.events import event_codes, events_by_code
from tixtrace.backoffice.services.search import MAX_QUERY, matching_tickets
from tixtrace.backoffice.services.validation import Checker, FieldProblem, refuse
from tixtrace.backoffice.services.views import view_of
from tixtrace.kernel.bulk import bulk_insert, one_of
from tixtrace.kernel.clock import as_utc
from tixtrace.kernel.errors import Conflict, NotFound


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
class TicketRecord:
    """A ticket as services return it (every column): status, contacts' ids, what the feedback learnt."""

    id: int
    number: str
    event_id: int
    seat: str | None
    price_cents: int | None
    currency: str | None
    barcode: str
    file_number: str | None
    status: str
    buyer_contact_id: int | None
    cultural_contact_id: int
    owner_contact_id: int
    replaces_ticket_id: int | None
    mobile_status: str | None
    wallet_owner: Any
    ticket_holder: Any
    last_wallet_owner_email: str | None
    last_synced_at: datetime | None
    injected_at: datetime | None
    push_cancelled_at: datetime | None
    push_controlled_at: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class TicketView:
    """A ticket with what its JSON shows: event code and the three contacts (None when unknown)."""

    ticket: TicketRecord
    event_code: str
    cultural_contact: ContactView | None
    owner: ContactView | None
    buyer: ContactView | None


@dataclass(frozen=True)
class LineRecord:
    """A distribution line (every column): one transfer of a ticket as the feedback recorded it."""

    id: int
    ticket_id: int
    transfer_id: str
    action: str
    old_contact_id: int | None
    new_contact_id: int | None
    recipient_email: str | None
    status: str
    reason: str | None
    contact_match: str | None
    initiated_at: datetime
    resolved_at: datetime | None
    recorded_at: datetime
    updated_at: datetime
    opened_record_id: int
    sender_email: str | None
    initiated_by: str
    transfer_reason: str | None
    expires_at: datetime | None


@dataclass(frozen=True)
class LineView:
    line: LineRecord
    old_contact: ContactView | None
    new_contact: ContactView | None


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
    if cultural is not None and cultural.kind == ContactKind.STRUCTURE:
        problems.append(FieldProblem("culturalContactId", cultural.id,
                                     f"culturalContactId {cultural.id} is a STRUCTURE; "
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


def create_ticket(conn: Connection, new: NewTicket, now: datetime, *, actor: str | None = None) -> TicketRecord:
    """Create a NOT_PRINTED ticket; 422 naming bad fields and unknown event or contacts, 409 if the
    number is taken. The owner defaults to the cultural contact (the person the wallet will hold it for)."""
    checker = Checker()
    values = ticket_values(new, checker)
    checker.raise_if_any()
    problems = resolve_references(conn, values)
    if problems:
        raise refuse(problems, code=BackofficeCode.UNKNOWN_REFERENCE)
    row = finish_values(values, now)
    if conn.execute(select(tickets.c.id).where(tickets.c.number == row["number"])).first():
        raise _number_taken(row["number"])
    try:
        created = conn.execute(insert(tickets).returning(*tickets.c), row).mappings().one()
    except IntegrityError as exc:  # a concurrent insert of the same number
        raise _number_taken(row["number"]) from exc
    return view_of(TicketRecord, created)


def _number_taken(number: str) -> Conflict:
    return Conflict(f"ticket number {number!r} is already used", code=BackofficeCode.TICKET_NUMBER_TAKEN,
                    details={"number": number})


def get_ticket(conn: Connection, ticket_id: int) -> TicketRecord:
    row = conn.execute(select(tickets).where(tickets.c.id == ticket_id)).mappings().first()
    if row is None:
        raise NotFound(f"ticket {ticket_id} does not exist", code=BackofficeCode.TICKET_NOT_FOUND,
                       details={"ticketId": ticket_id})
    return view_of(TicketRecord, row)


def ticket_conditions(conn: Connection, *, number: str | None = None, status: str | None = None,
                      q: str | None = None, event_code: str | None = None) -> list[ColumnElement[bool]]:
    """The WHERE of a ticket list: exact `number`, `status`, free text `q` (services/search.py: number
    or barcode prefix, cultural contact, owner, pending recipient) and `event_code`; 422 on bad values."""
    checker = Checker()
    conditions: list[ColumnElement[bool]] = []
    if number is not None:
        conditions.append(tickets.c.number == checker.text("number", number, max_length=50))
    if status is not None:
        if status not in {s.value for s in TicketStatus}:
            checker.fail("status", status, f"status {status!r} must be one of {', '.join(TicketStatus)}")
        conditions.append(tickets.c.status == status)
    if q is not None:
        text = checker.text("q", q, max_length=MAX_QUERY)
        if text:
            conditions.append(matching_tickets(conn, text))
    if event_code is not None:
        code = checker.text("eventCode", event_code, max_length=50)
        conditions.append(tickets.c.event_id.in_(select(events.c.id).where(events.c.code == code)))
    checker.raise_if_any()
    return conditions


def list_tickets(conn: Connection, *, number: str | None = None, status: str | None = None, q: str | None = None,
                 event_code: str | None = None, after_id: int = 0,
                 limit: int = 100) -> tuple[list[TicketRecord], int | None]:
    """A page of tickets in id order, filtered (`ticket_conditions`), and the last id if there are more."""
    conditions = ticket_conditions(conn, number=number, status=status, q=q, event_code=event_code)
    query = select(tickets).where(tickets.c.id > after_id, *conditions)
    rows = list(conn.execute(query.order_by(tickets.c.id).limit(limit + 1)).mappings())
    more = len(rows) > limit
    rows = rows[:limit]
    return [view_of(TicketRecord, row) for row in rows], (rows[-1]["id"] if more else None)


def count_tickets(conn: Connection, *, number: str | None = None, status: str | None = None, q: str | None = None,
                  event_code: str | None = None) -> int:
    """How many tickets `list_tickets` would list over all its pages."""
    conditions = ticket_conditions(conn, number=number, status=status, q=q, event_code=event_code)
    return int(conn.execute(select(func.count()).select_from(tickets).where(*conditions)).scalar_one())


def ticket_views(conn: Connection, records: Iterable[TicketRecord]) -> list[TicketView]:
    """Views of `records` with two queries in all (events, contacts), whatever the number of tickets."""
    records = list(records)
    codes = event_codes(conn, [ticket.event_id for ticket in records])
    ids = [cid for ticket in records
           for cid in (ticket.cultural_contact_id, ticket.owner_contact_id, ticket.buyer_contact_id)]
    people = get_contacts(conn, [cid for cid in ids if cid is not None])
    return [
        TicketView(
            ticket=ticket,
            event_code=codes[ticket.event_id],
            cultural_contact=people.get(ticket.cultural_contact_id),
            owner=people.get(ticket.owner_contact_id),
            buyer=people.get(ticket.buyer_contact_id) if ticket.buyer_contact_id else None,
        )
        for ticket in records
    ]


@dataclass(frozen=True)
class Moves:
    """What `move_tickets` did: the status each moved ticket left, and the new ticket of each reprint."""

    moved: dict[int, TicketStatus]
    replacements: dict[int, int]


def move_tickets(conn: Connection, ticket_ids: Sequence[int], action: TicketAction, now: datetime, *,
                 actor: str | None) -> Moves:
    """Move the tickets `action` allows to move, each with its ``ticket_actions`` row; the others stay.

    One UPDATE per status the action starts from and one INSERT of history rows, whatever the number
    of tickets (REPRINT also inserts the new tickets, one per moved ticket). No action leads to a
    status it starts from (domain/tickets.py), so no ticket moves twice.
    """
    if not ticket_ids:
        return Moves({}, {})
    transition = TRANSITIONS[action]
    now = as_utc(now)
    ids = sorted(set(ticket_ids))
    moved: dict[int, TicketStatus] = {}
    for source in sorted(transition.allowed_from):
        statement = (update(tickets).where(one_of(conn, tickets.c.id, ids), tickets.c.status == source.value)
                     .values(status=transition.to.value, updated_at=now).returning(tickets.c.id))
        moved.update(dict.fromkeys(conn.execute(statement).scalars(), source))
    replacements = _reprint(conn, sorted(moved), now) if action is TicketAction.REPRINT else {}
    bulk_insert(conn, ticket_actions, [
        {"ticket_id": ticket_id, "action": action.value, "from_status": source.value,
         "to_status": transition.to.value, "related_ticket_id": replacements.get(ticket_id), "actor": actor,
         "at": now}
        for ticket_id, source in sorted(moved.items())])
    return Moves(moved, replacements)


def apply_action(conn: Connection, ticket_id: int, action: TicketAction, now: datetime, *,
                 actor: str) -> TicketRecord:
    """Move one ticket by an operator's `action`; the ticket as it is now, or for REPRINT the new ticket.
    The move writes its audit entry (O2) in the same transaction: the status before and after, and
    for REPRINT the new ticket's id.

    404 TICKET_NOT_FOUND, 409 INVALID_TICKET_TRANSITION (details: ticketId, status, action, allowedFrom).
    """
    get_ticket(conn, ticket_id)
    moves = move_tickets(conn, [ticket_id], action, now, actor=actor)
    if ticket_id not in moves.moved:
        allowed = sorted(TRANSITIONS[action].allowed_from)
        current = get_ticket(conn, ticket_id)
        raise Conflict(
            f"ticket {ticket_id} is {current.status}: {action.lower()} needs a ticket that is "
            + " or ".join(allowed),
            code=BackofficeCode.INVALID_TICKET_TRANSITION,
            details={"ticketId": ticket_id, "status": current.status, "action": action.value,
                     "allowedFrom": allowed},
        )
    changes: dict[str, list[Any]] = {"status": [moves.moved[ticket_id].value, TRANSITIONS[action].to.value]}
    if ticket_id in moves.replacements:
        changes["replacedByTicketId"] = [None, moves.replacements[ticket_id]]
    audit.record(conn, actor=actor, action=audit.Action(action.value), object_type=audit.ObjectType.TICKET,
                 object_id=ticket_id, changes=changes, at=now)
    return get_ticket(conn, moves.replacements.get(ticket_id, ticket_id))


def _reprint(conn: Connection, old_ids: list[int], now: datetime) -> dict[int, int]:
    """A new NOT_PRINTED ticket replacing each of `old_ids`; old id → new id."""
    if not old_ids:
        return {}
    copied = ("event_id", "seat", "price_cents", "currency", "file_number", "buyer_contact_id",
              "cultural_contact_id", "owner_contact_id")
    olds = conn.execute(select(tickets.c.id, *[tickets.c[name] for name in copied])
                        .where(one_of(conn, tickets.c.id, old_ids)).order_by(tickets.c.id)).mappings().all()
    rows = [{**{name: old[name] for name in copied}, "number": new_number(), "barcode": new_barcode(),
             "status": TicketStatus.NOT_PRINTED.value, "replaces_ticket_id": old["id"], "created_at": now,
             "updated_at": now} for old in olds]
    created = conn.execute(insert(tickets).returning(tickets.c.id, sort_by_parameter_order=True), rows).scalars()
    return {old["id"]: new_id for old, new_id in zip(olds, created, strict=True)}


# --- action history ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TicketActionView:
    """One ``ticket_actions`` row: who moved the ticket (None: injection, or before actors were kept),
    what, when, and for a reprint the new ticket."""

    id: int
    action: str
    from_status: str
    to_status: str
    actor: str | None
    at: datetime
    related_ticket_id: int | None
    related_ticket_number: str | None


def action_history(conn: Connection, ticket_id: int) -> list[TicketActionView]:
    """The ticket's status moves, oldest first, in one query. Unpaged: a ticket has at most two (PRINT,
    then one move to a final status; domain/tickets.py). 404 TICKET_NOT_FOUND."""
    get_ticket(conn, ticket_id)
    related = tickets.alias("related")
    query = (select(ticket_actions, related.c.number.label("related_ticket_number"))
             .select_from(ticket_actions.outerjoin(related, related.c.id == ticket_actions.c.related_ticket_id))
             .where(ticket_actions.c.ticket_id == ticket_id).order_by(ticket_actions.c.id))
    return [view_of(TicketActionView, row) for row in conn.execute(query).mappings()]


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
    views = [LineView(view_of(LineRecord, row), people.get(row["old_contact_id"]) if row["old_contact_id"] else None,
                      people.get(row["new_contact_id"]) if row["new_contact_id"] else None) for row in rows]
    last = rows[-1] if more else None
    return views, ((last["opened_record_id"], last["id"]) if last else None)


def pending_line(conn: Connection, ticket_id: int) -> LineRecord | None:
    """The ticket's transfer waiting for its recipient (its PENDING line), None when there is none. The
    wallet allows one pending transfer per ticket (W4); should two lines be PENDING, the latest opened
    is the one shown. One indexed query (ticket_id, opened_record_id)."""
    lines = distribution_lines.c
    row = conn.execute(select(distribution_lines).where(lines.ticket_id == ticket_id, lines.status == "PENDING")
                       .order_by(lines.opened_record_id.desc(), lines.id.desc()).limit(1)).mappings().first()
    return view_of(LineRecord, row) if row is not None else None
