"""``/api/tickets``: tickets, the operator's actions on them and their distribution history."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from tixtrace.backoffice.api.deps import Cursor, Limit, TicketId, User, after_id, next_cursor
from tixtrace.backoffice.api.documents import LinePage, OrganizerTransferOut, TicketOut, TicketPage
from tixtrace.backoffice.api.schemas import TicketIn, TransferIn, line_json, page, ticket_json
from tixtrace.backoffice.backend import BackendDep
from tixtrace.backoffice.domain.tickets import TicketAction
from tixtrace.backoffice.interfaces.tixngo.transfers import transfer_ticket
from tixtrace.backoffice.services.search import MAX_QUERY
from tixtrace.backoffice.services.tickets import (
    NewTicket,
    apply_action,
    count_tickets,
    create_ticket,
    distribution_history,
    get_ticket,
    list_tickets,
    ticket_views,
)
from tixtrace.kernel.cursors import decode_position_cursor, encode_position_cursor
from tixtrace.kernel.web import documented, error_responses, relayed_error_responses

router = APIRouter(prefix="/api/tickets", tags=["tickets"], responses=error_responses(400, 401, 404, 409, 422, 429))


@router.post("", summary="Create a NOT_PRINTED ticket", **documented(TicketOut, 201))
def post_ticket(body: TicketIn, backend: BackendDep, user: User) -> dict[str, Any]:
    new = NewTicket(**body.model_dump())
    with backend.write() as conn:
        row = create_ticket(conn, new, backend.clock.now(), actor=user)
        return ticket_json(ticket_views(conn, [row])[0])


@router.get("", summary="List tickets: by exact number, status, event, or free text `q` (a prefix of the number "
                        "or barcode, spaces ignored; a name or e-mail of the cultural contact, the owner or a "
                        "pending transfer's recipient, case and accents ignored); `total` counts every page",
            **documented(TicketPage))
def get_tickets(backend: BackendDep, _user: User, number: Annotated[str | None, Query(max_length=50)] = None,
                status: Annotated[str | None, Query(max_length=20)] = None,
                q: Annotated[str | None, Query(max_length=MAX_QUERY)] = None,
                event_code: Annotated[str | None, Query(alias="eventCode", max_length=50)] = None,
                cursor: Cursor = None, limit: Limit = 100) -> dict[str, Any]:
    start = after_id(cursor)
    filters = {"number": number, "status": status, "q": q, "event_code": event_code}
    with backend.read() as conn:
        rows, last = list_tickets(conn, **filters, after_id=start, limit=limit)
        items = [ticket_json(view) for view in ticket_views(conn, rows)]
        total = count_tickets(conn, **filters)
    return {**page(items, next_cursor(last)), "total": total}


@router.get("/{ticket_id}", summary="One ticket with its contacts and what the wallet last said",
            **documented(TicketOut))
def get_one_ticket(ticket_id: TicketId, backend: BackendDep, _user: User) -> dict[str, Any]:
    with backend.read() as conn:
        return ticket_json(ticket_views(conn, [get_ticket(conn, ticket_id)])[0])


def _act(backend: BackendDep, ticket_id: int, action: TicketAction, user: str) -> dict[str, Any]:
    with backend.write() as conn:
        row = apply_action(conn, ticket_id, action, backend.clock.now(), actor=user)
        return ticket_json(ticket_views(conn, [row])[0])


@router.post("/{ticket_id}/cancel", summary="NOT_PRINTED or PRINTED → CANCELLED", **documented(TicketOut))
def cancel(ticket_id: TicketId, backend: BackendDep, user: User) -> dict[str, Any]:
    return _act(backend, ticket_id, TicketAction.CANCEL, user)


@router.post("/{ticket_id}/invalidate", summary="NOT_PRINTED or PRINTED → INVALIDATED", **documented(TicketOut))
def invalidate(ticket_id: TicketId, backend: BackendDep, user: User) -> dict[str, Any]:
    return _act(backend, ticket_id, TicketAction.INVALIDATE, user)


@router.post("/{ticket_id}/control", summary="PRINTED → CONTROLLED", **documented(TicketOut))
def control(ticket_id: TicketId, backend: BackendDep, user: User) -> dict[str, Any]:
    return _act(backend, ticket_id, TicketAction.CONTROL, user)


@router.post("/{ticket_id}/reprint",
             summary="PRINTED → INVALIDATED, and a new NOT_PRINTED ticket replacing it (returned)",
             **documented(TicketOut, 201))
def reprint(ticket_id: TicketId, backend: BackendDep, user: User) -> dict[str, Any]:
    return _act(backend, ticket_id, TicketAction.REPRINT, user)

#: a refusal of the wallet (400, 409, 422) keeps the wallet's own code (``details.walletCode`` too)
_RELAYED = relayed_error_responses(400, 409, 422, description="Refused by the wallet: its code, passed on")


@router.post("/{ticket_id}/transfer",
             summary="Organizer transfer (W7) in the wallet, through the ticket's interface; the next feedback "
                     "brings it back as a line with initiatedBy ORGANIZER and the reason",
             **documented(OrganizerTransferOut, 201, also={**error_responses(503), **_RELAYED}))
def transfer(ticket_id: TicketId, body: TransferIn, backend: BackendDep, user: User) -> dict[str, Any]:
    return transfer_ticket(backend.engine, ticket_id, body.recipient_email, body.reason, actor=user,
                           clock=backend.clock).as_json()


@router.get("/{ticket_id}/distribution-history",
            summary="The ticket's distribution lines in wallet order (the recordId that opened each transfer)",
            **documented(LinePage))
def history(ticket_id: TicketId, backend: BackendDep, _user: User, cursor: Cursor = None,
            limit: Limit = 100) -> dict[str, Any]:
    position = decode_position_cursor(cursor)
    with backend.read() as conn:
        views, last = distribution_history(conn, ticket_id, after=position, limit=limit)
    return page([line_json(view) for view in views], encode_position_cursor(last) if last else None)
