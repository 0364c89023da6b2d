"""The holders export (``/api/events/{code}/holders`` and ``.csv``) and a ticket's distribution history as CSV.

A module of its own, beside ``api/events.py`` and ``api/tickets.py``: these are reports over the
services' views, not actions on an event or a ticket. The JSON is a list envelope with a keyset cursor;
the CSV files are streamed (`StreamingResponse` over `services.exports`, a page of 1,000 tickets at a
time, each read in its own unit), so their memory does not grow with the event. What can be refused
(an unknown event or ticket) is checked before the first byte is sent: a refusal is the error envelope,
never a half-written file.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter
from starlette.responses import StreamingResponse

from tixtrace.backoffice.api.deps import Cursor, Limit, TicketId, User, after_id, next_cursor
from tixtrace.backoffice.api.documents import HolderPage
from tixtrace.backoffice.api.schemas import contact_json, page
from tixtrace.backoffice.backend import BackendDep
from tixtrace.backoffice.services.exports import history_csv, history_pages, holders_csv
from tixtrace.backoffice.services.holders import HolderView, event_by_code, holder_pages, holders_page
from tixtrace.backoffice.services.tickets import get_ticket
from tixtrace.kernel.clock import isoformat
from tixtrace.kernel.web import documented, error_responses

router = APIRouter(tags=["exports"], responses=error_responses(400, 401, 404, 422, 429))

CSV_TYPE = "text/csv; charset=utf-8"
_CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"description": "CSV (UTF-8, a header row; a cell starting with = + - @ or a tab is prefixed with ')",
          "content": {"text/csv": {"schema": {"type": "string"}}}}}


def holder_json(view: HolderView) -> dict[str, Any]:
    pending = view.pending_transfer
    return {
        "ticketNumber": view.ticket_number,
        "seat": view.seat,
        "status": view.status,
        "mobileStatus": view.mobile_status,
        "culturalContact": contact_json(view.cultural_contact),
        "owner": contact_json(view.owner),
        "walletOwnerEmail": view.wallet_owner_email,
        "ticketHolder": view.ticket_holder,
        "pendingTransfer": {"recipientEmail": pending.recipient_email, "expiresAt": isoformat(pending.expires_at)}
        if pending is not None else None,
        "lastSyncedAt": isoformat(view.last_synced_at),
    }


def attachment(name: str) -> dict[str, str]:
    """The header that makes a browser save the file as `name` (reduced to safe characters)."""
    return {"Content-Disposition": f'attachment; filename="{re.sub(r"[^A-Za-z0-9._-]", "_", name)}"'}


@router.get("/api/events/{code}/holders",
            summary="Every ticket of the event with its cultural contact, owner, wallet owner, holder and pending "
                    "transfer, in ticket id order", **documented(HolderPage))
def get_holders(code: str, backend: BackendDep, _user: User, cursor: Cursor = None,
                limit: Limit = 100) -> dict[str, Any]:
    start = after_id(cursor)
    with backend.read() as conn:
        event = event_by_code(conn, code)
        views, last = holders_page(conn, event.id, after_id=start, limit=limit)
    return page([holder_json(view) for view in views], next_cursor(last))


@router.get("/api/events/{code}/holders.csv", summary="The event's holders as CSV, streamed",
            response_class=StreamingResponse, responses=_CSV_RESPONSE)
def get_holders_csv(code: str, backend: BackendDep, _user: User) -> StreamingResponse:
    with backend.read() as conn:
        event = event_by_code(conn, code)
    return StreamingResponse(holders_csv(holder_pages(backend.engine, event.id)), media_type=CSV_TYPE,
                             headers=attachment(f"holders-{event.code}.csv"))


@router.get("/api/tickets/{ticket_id}/distribution-history.csv",
            summary="The ticket's distribution lines in wallet order, as CSV", response_class=StreamingResponse,
            responses=_CSV_RESPONSE)
def get_history_csv(ticket_id: TicketId, backend: BackendDep, _user: User) -> StreamingResponse:
    with backend.read() as conn:
        ticket = get_ticket(conn, ticket_id)
    return StreamingResponse(history_csv(ticket.number, history_pages(backend.engine, ticket.id)),
                             media_type=CSV_TYPE, headers=attachment(f"distribution-history-{ticket.number}.csv"))
