"""Ticket screens: the searchable list and the ticket information page with its three tabs.

Tabs are plain links (``?tab=mobile``) that work without JavaScript; with htmx the same links fetch
``/tickets/{id}/tabs/{tab}`` (the tab bar and the panel) and push the ``?tab=`` address.

The page of a PRINTED ticket offers an organizer transfer (W7): the form posts to
``/tickets/{id}/transfer``, which asks the wallet like ``POST /api/tickets/{id}/transfer`` does and
comes back to the distribution tab with the wallet's answer or its refusal.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from sqlalchemy import Connection
from starlette.responses import Response

from tixtrace.backoffice.backend import BackendDep
from tixtrace.backoffice.domain.errors import BackofficeCode
from tixtrace.backoffice.domain.tickets import TicketStatus
from tixtrace.backoffice.interfaces.tixngo.transfers import REASON_MAX, transfer_ticket
from tixtrace.backoffice.services.events import get_event
from tixtrace.backoffice.services.tickets import distribution_history, get_ticket, pending_line, ticket_views
from tixtrace.backoffice.web import queries
from tixtrace.backoffice.web.pages import PostedForm, WebUser, path_id, query_text, redirect, render, with_query
from tixtrace.kernel.cursors import decode_int_cursor, decode_position_cursor, encode_cursor, encode_position_cursor
from tixtrace.kernel.errors import BadInput, Conflict, NotFound, Unavailable
from tixtrace.kernel.flash import Flash

router = APIRouter(include_in_schema=False)

PAGE = 50
HISTORY_PAGE = 100
TABS = ("general", "mobile", "distribution")
Text = Annotated[str | None, Query(max_length=500)]


@router.get("/tickets")
def ticket_list(request: Request, backend: BackendDep, user: WebUser, number: Text = None, contact: Text = None,
                status: Text = None, mobile_status: Text = None, cursor: Text = None) -> Response:
    filters = {
        "number": query_text(number, "number", 50),
        "contact": query_text(contact, "contact", 320),
        "status": status if status in {s.value for s in TicketStatus} else None,
        "mobile_status": mobile_status if mobile_status in (*queries.MOBILE_STATUSES, queries.NEVER_SYNCED) else None,
    }
    with backend.read() as conn:
        rows, last = queries.search_tickets(conn, **filters, after_id=decode_int_cursor(cursor), limit=PAGE)
    next_url = with_query("/tickets", **filters, cursor=encode_cursor(last)) if last is not None else None
    return render(request, "tickets/list.html", {
        "nav": "tickets", "tickets": rows, "filters": filters, "next_url": next_url,
        "first_url": with_query("/tickets", **filters) if cursor else None,
        "statuses": [s.value for s in TicketStatus], "mobile_statuses": queries.MOBILE_STATUSES,
        "never_synced": queries.NEVER_SYNCED,
    })


def _tab_context(conn: Connection, ticket_id: int, tab: str, cursor: str | None, now: datetime) -> dict[str, Any]:
    ticket = get_ticket(conn, ticket_id)
    view = ticket_views(conn, [ticket])[0]
    context: dict[str, Any] = {
        "nav": "tickets", "tab": tab, "tabs": TABS, "ticket": ticket, "view": view,
        "event": get_event(conn, ticket.event_id),
        "replaces_number": queries.ticket_number(conn, ticket.replaces_ticket_id)
        if ticket.replaces_ticket_id else None,
        "replaced_by": queries.replaced_by(conn, ticket_id),
        "lines": [], "history_next": None, "reason_max": REASON_MAX,
        "transferable": ticket.status == TicketStatus.PRINTED.value and ticket.injected_at is not None,
        "now": now, "pending": pending_line(conn, ticket_id) if tab == "mobile" else None,
    }
    if tab == "distribution":
        lines, last = distribution_history(conn, ticket_id, after=decode_position_cursor(cursor), limit=HISTORY_PAGE)
        context["lines"] = lines
        if last is not None:
            context["history_next"] = with_query(f"/tickets/{ticket_id}", tab="distribution",
                                                 cursor=encode_position_cursor(last))
    return context


@router.get("/tickets/{ticket_id}")
def ticket_page(request: Request, ticket_id: str, backend: BackendDep, user: WebUser, tab: Text = None,
                cursor: Text = None) -> Response:
    tid = path_id(ticket_id, "ticket")
    with backend.read() as conn:
        context = _tab_context(conn, tid, tab if tab in TABS else "general", cursor, backend.clock.now())
    return render(request, "tickets/detail.html", context)


@router.post("/tickets/{ticket_id}/transfer")
def organizer_transfer(request: Request, ticket_id: str, backend: BackendDep, form: PostedForm) -> Response:
    tid = path_id(ticket_id, "ticket")
    back = f"/tickets/{tid}?tab=distribution"
    try:
        done = transfer_ticket(backend.engine, tid, form.get("recipient_email"), form.get("reason"))
    except (BadInput, Conflict, NotFound, Unavailable) as exc:
        return redirect(request, back, flash=Flash("error", exc.message))
    return redirect(request, back, flash=Flash(
        "success", f"The wallet moved ticket {done.ticket_number} to {done.recipient_email} (transfer "
                   f"{done.transfer_id}); its line appears with the next Retrieve ticket status run."))


@router.get("/tickets/{ticket_id}/tabs/{tab}")
def ticket_tab(request: Request, ticket_id: str, tab: str, backend: BackendDep, user: WebUser,
               cursor: Text = None) -> Response:
    """The tab bar and one panel (an htmx fragment)."""
    tid = path_id(ticket_id, "ticket")
    if tab not in TABS:
        raise NotFound(f"a ticket has no tab {tab!r}", code=BackofficeCode.TAB_NOT_FOUND)
    with backend.read() as conn:
        context = _tab_context(conn, tid, tab, cursor, backend.clock.now())
    return render(request, "tickets/_tabs.html", context, partial=True)
