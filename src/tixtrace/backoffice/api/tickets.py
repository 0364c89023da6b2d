"""``/api/tickets``: tickets, the operator's actions on them and their distribution history."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from tixtrace.backoffice.api.deps import Ctx, Cursor, Limit, TicketId, User, after_id, next_cursor
from tixtrace.backoffice.api.documents import LinePage, OrganizerTransferOut, TicketOut, TicketPage
from tixtrace.backoffice.api.schemas import TicketIn, TransferIn, line_json, page, ticket_json
from tixtrace.backoffice.interfaces.tixngo.transfers import transfer_ticket
from tixtrace.backoffice.services.tickets import (
    NewTicket,
    TicketAction,
    apply_action,
    create_ticket,
    distribution_history,
    get_ticket,
    list_tickets,
    ticket_views,
)
from tixtrace.backoffice.services.validation import MAX_ID
from tixtrace.kernel.cursors import decode_cursor, encode_cursor
from tixtrace.kernel.errors import BadInput
from tixtrace.kernel.web import documented, error_responses

router = APIRouter(prefix="/api/tickets", tags=["tickets"], responses=error_responses(400, 401, 404, 409, 422, 429))


@router.post("", summary="Create a NOT_PRINTED ticket", **documented(TicketOut, 201))
def post_ticket(body: TicketIn, ctx: Ctx, user: User) -> dict[str, Any]:
    new = NewTicket(**body.model_dump())
    with ctx.write() as conn:
        row = create_ticket(conn, new, ctx.clock.now(), actor=user)
        return ticket_json(ticket_views(conn, [row])[0])


@router.get("", summary="List tickets (by number or status when given)", **documented(TicketPage))
def get_tickets(ctx: Ctx, _user: User, number: Annotated[str | None, Query(max_length=50)] = None,
                status: Annotated[str | None, Query(max_length=20)] = None,
                cursor: Cursor = None, limit: Limit = 100) -> dict[str, Any]:
    start = after_id(cursor)
    with ctx.read() as conn:
        rows, last = list_tickets(conn, number=number, status=status, after_id=start, limit=limit)
        items = [ticket_json(view) for view in ticket_views(conn, rows)]
    return page(items, next_cursor(last))


@router.get("/{ticket_id}", summary="One ticket with its contacts and what the wallet last said",
            **documented(TicketOut))
def get_one_ticket(ticket_id: TicketId, ctx: Ctx, _user: User) -> dict[str, Any]:
    with ctx.read() as conn:
        return ticket_json(ticket_views(conn, [get_ticket(conn, ticket_id)])[0])


def _act(ctx: Ctx, ticket_id: int, action: TicketAction, user: str) -> dict[str, Any]:
    with ctx.write() as conn:
        row = apply_action(conn, ticket_id, action, ctx.clock.now(), actor=user)
        return ticket_json(ticket_views(conn, [row])[0])


@router.post("/{ticket_id}/cancel", summary="NOT_PRINTED or PRINTED → CANCELLED", **documented(TicketOut))
def cancel(ticket_id: TicketId, ctx: Ctx, user: User) -> dict[str, Any]:
    return _act(ctx, ticket_id, TicketAction.CANCEL, user)


@router.post("/{ticket_id}/invalidate", summary="NOT_PRINTED or PRINTED → INVALIDATED", **documented(TicketOut))
def invalidate(ticket_id: TicketId, ctx: Ctx, user: User) -> dict[str, Any]:
    return _act(ctx, ticket_id, TicketAction.INVALIDATE, user)


@router.post("/{ticket_id}/control", summary="PRINTED → CONTROLLED", **documented(TicketOut))
def control(ticket_id: TicketId, ctx: Ctx, user: User) -> dict[str, Any]:
    return _act(ctx, ticket_id, TicketAction.CONTROL, user)


@router.post("/{ticket_id}/reprint",
             summary="PRINTED → INVALIDATED, and a new NOT_PRINTED ticket replacing it (returned)",
             **documented(TicketOut, 201))
def reprint(ticket_id: TicketId, ctx: Ctx, user: User) -> dict[str, Any]:
    return _act(ctx, ticket_id, TicketAction.REPRINT, user)


@router.post("/{ticket_id}/transfer",
             summary="Organizer transfer (W7) in the wallet, through the ticket's interface; the next feedback "
                     "brings it back as a line with initiatedBy ORGANIZER and the reason",
             **documented(OrganizerTransferOut, 201, also=error_responses(503)))
def transfer(ticket_id: TicketId, body: TransferIn, ctx: Ctx, _user: User) -> dict[str, Any]:
    return transfer_ticket(ctx.engine, ticket_id, body.recipient_email, body.reason).as_json()


def _history_position(cursor: str | None) -> tuple[int, int] | None:
    """The (opened recordId, id) of the last line of the previous page (F10: wallet order). Lines
    read before migration 0006 carry negative positions (kept in id order before every later one)."""
    key = decode_cursor(cursor)
    if key is None:
        return None
    try:
        opened, last_id = key
        for value in (opened, last_id):
            if not isinstance(value, int) or isinstance(value, bool) or not -MAX_ID <= value <= MAX_ID:
                raise ValueError
        if last_id <= 0:
            raise ValueError
        return opened, last_id
    except (TypeError, ValueError):
        raise BadInput(f"cursor {cursor!r} is not a value this server issued; pass back the one from the last page",
                       code="INVALID_CURSOR", details={"parameter": "cursor", "value": cursor}) from None


@router.get("/{ticket_id}/distribution-history",
            summary="The ticket's distribution lines in wallet order (the recordId that opened each transfer)",
            **documented(LinePage))
def history(ticket_id: TicketId, ctx: Ctx, _user: User, cursor: Cursor = None,
            limit: Limit = 100) -> dict[str, Any]:
    position = _history_position(cursor)
    with ctx.read() as conn:
        views, last = distribution_history(conn, ticket_id, after=position, limit=limit)
    return page([line_json(view) for view in views], encode_cursor(list(last)) if last else None)
