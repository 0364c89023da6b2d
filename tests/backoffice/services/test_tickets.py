"""Every ticket status change goes through ``services.tickets.move_tickets`` (house rule 3), in bulk.

Against both databases: a batch is moved with a fixed number of statements whatever its size, each
moved ticket gets its ``ticket_actions`` row in the same transaction, and a ticket the action does not
allow stays where it is, without a row.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Engine, event, insert, select

from tests.support.backoffice import START
from tixtrace.backoffice.db.tables import ticket_actions, tickets
from tixtrace.backoffice.domain.tickets import TicketAction, TicketStatus
from tixtrace.backoffice.services.contacts import NewContact, create_contact
from tixtrace.backoffice.services.events import NewEvent, create_event
from tixtrace.backoffice.services.tickets import NewTicket, apply_action, create_ticket, move_tickets
from tixtrace.kernel.db import unit_of_work
from tixtrace.kernel.errors import Conflict


def sold(engine: Engine, count: int) -> list[int]:
    """`count` NOT_PRINTED tickets: the first made by the service, the others copied from it in one INSERT."""
    with unit_of_work(engine) as conn:
        create_event(conn, NewEvent("E1", "Match", START, "Stadium", "City", "1000", "FR"), START)
        contact = create_contact(conn, NewContact("INDIVIDUAL", "Lima", "Ana", email="ana@example.com"), START)
        first = create_ticket(conn, NewTicket("E1", contact.id), START)
        copied = {name: getattr(first, name) for name in ("event_id", "cultural_contact_id", "owner_contact_id",
                                                          "status", "created_at", "updated_at")}
        if count > 1:
            conn.execute(insert(tickets), [{**copied, "number": f"N{i}", "barcode": f"B{i}"} for i in range(1, count)])
        return list(conn.execute(select(tickets.c.id).order_by(tickets.c.id)).scalars())


def statuses(engine: Engine) -> dict[int, str]:
    with unit_of_work(engine, write=False) as conn:
        return dict(conn.execute(select(tickets.c.id, tickets.c.status)).all())  # type: ignore[arg-type]


def history(engine: Engine) -> list[tuple[Any, ...]]:
    with unit_of_work(engine, write=False) as conn:
        return [tuple(row) for row in conn.execute(select(
            ticket_actions.c.ticket_id, ticket_actions.c.action, ticket_actions.c.from_status,
            ticket_actions.c.to_status, ticket_actions.c.actor).order_by(ticket_actions.c.id))]


@contextmanager
def statements(engine: Engine) -> Iterator[list[tuple[str, bool]]]:
    """The statements sent to the database meanwhile, as (SQL, executemany)."""
    seen: list[tuple[str, bool]] = []

    def record(conn: Any, cursor: Any, sql: str, parameters: Any, context: Any, executemany: bool) -> None:
        seen.append((sql, executemany))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_printing_a_batch_is_two_statements_and_one_history_row_per_ticket(engine: Engine) -> None:
    ids = sold(engine, 2500)
    with unit_of_work(engine) as conn, statements(engine) as seen:
        moves = move_tickets(conn, ids, TicketAction.PRINT, START, actor="execution 7")

    assert moves.moved == dict.fromkeys(ids, TicketStatus.NOT_PRINTED) and moves.replacements == {}
    assert set(statuses(engine).values()) == {"PRINTED"}
    assert history(engine) == [(i, "PRINT", "NOT_PRINTED", "PRINTED", "execution 7") for i in ids]
    writes = [(sql, many) for sql, many in seen if sql.lstrip().upper().startswith(("UPDATE", "INSERT"))]
    assert len(writes) == 2, writes  # one UPDATE of the tickets, one INSERT of their history
    if engine.dialect.name == "postgresql":  # no executemany: psycopg would send one statement per row
        assert not any(many for _, many in writes)


def test_a_batch_moves_only_what_the_action_allows(engine: Engine) -> None:
    printed, not_printed, cancelled = sold(engine, 3)
    with unit_of_work(engine) as conn:
        move_tickets(conn, [printed], TicketAction.PRINT, START, actor="execution 1")
        move_tickets(conn, [cancelled], TicketAction.CANCEL, START, actor="ana")

    with unit_of_work(engine) as conn:
        again = move_tickets(conn, [printed, not_printed, cancelled], TicketAction.PRINT, START, actor="execution 2")
        control = move_tickets(conn, [printed, cancelled], TicketAction.CONTROL, START, actor="bob")

    assert again.moved == {not_printed: TicketStatus.NOT_PRINTED}
    assert control.moved == {printed: TicketStatus.PRINTED}
    assert statuses(engine) == {printed: "CONTROLLED", not_printed: "PRINTED", cancelled: "CANCELLED"}
    assert history(engine) == [
        (printed, "PRINT", "NOT_PRINTED", "PRINTED", "execution 1"),
        (cancelled, "CANCEL", "NOT_PRINTED", "CANCELLED", "ana"),
        (not_printed, "PRINT", "NOT_PRINTED", "PRINTED", "execution 2"),
        (printed, "CONTROL", "PRINTED", "CONTROLLED", "bob"),
    ]


def test_cancel_records_the_status_each_ticket_left(engine: Engine) -> None:
    printed, not_printed = sold(engine, 2)
    with unit_of_work(engine) as conn:
        move_tickets(conn, [printed], TicketAction.PRINT, START, actor=None)
        moves = move_tickets(conn, [printed, not_printed], TicketAction.CANCEL, START, actor="ana")
    assert moves.moved == {printed: TicketStatus.PRINTED, not_printed: TicketStatus.NOT_PRINTED}
    assert history(engine)[1:] == [(printed, "CANCEL", "PRINTED", "CANCELLED", "ana"),
                                   (not_printed, "CANCEL", "NOT_PRINTED", "CANCELLED", "ana")]


def test_reprint_names_the_new_ticket_on_the_old_ones_history_row(engine: Engine) -> None:
    [old] = sold(engine, 1)
    with unit_of_work(engine) as conn:
        move_tickets(conn, [old], TicketAction.PRINT, START, actor=None)
        new = apply_action(conn, old, TicketAction.REPRINT, START, actor="ana")
    assert (new.status, new.replaces_ticket_id) == ("NOT_PRINTED", old)
    with unit_of_work(engine, write=False) as conn:
        row = conn.execute(select(ticket_actions).where(ticket_actions.c.action == "REPRINT")).mappings().one()
    assert (row["ticket_id"], row["from_status"], row["to_status"], row["related_ticket_id"]) == (
        old, "PRINTED", "INVALIDATED", new.id)


def test_an_action_the_ticket_does_not_allow_is_a_409_and_writes_nothing(engine: Engine) -> None:
    [ticket] = sold(engine, 1)
    with pytest.raises(Conflict) as refused, unit_of_work(engine) as conn:
        apply_action(conn, ticket, TicketAction.CONTROL, START, actor="ana")
    assert refused.value.code == "INVALID_TICKET_TRANSITION"
    assert refused.value.details == {"ticketId": ticket, "status": "NOT_PRINTED", "action": "CONTROL",
                                     "allowedFrom": ["PRINTED"]}
    assert history(engine) == [] and statuses(engine) == {ticket: "NOT_PRINTED"}
