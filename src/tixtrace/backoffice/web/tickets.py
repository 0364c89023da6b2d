"""Ticket screens: the searchable list and the ticket information page with its four tabs.

The list filters by number or barcode prefix, contact, event and statuses, shows the total and sorts
by its column headers; filtered by an event, it offers that event's holders file (the API's
``/api/events/{code}/holders.csv``, which the screens' session may download).

Tabs are plain links (``?tab=mobile``) that work without JavaScript; with htmx the same links fetch
``/tickets/{id}/tabs/{tab}`` (the tab bar and the panel) and push the ``?tab=`` address. The History tab
lists the ticket's status moves (``ticket_actions``: who, what, when). The page's action bar (what the
ticket's status allows) and its confirmation pages are `web/ticket_actions.py`'s.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from sqlalchemy import Connection
from starlette.responses import Response

from tixtrace.backoffice.backend import BackendDep
from tixtrace.backoffice.domain.errors import BackofficeCode
from tixtrace.backoffice.domain.tickets import TicketStatus
from tixtrace.backoffice.services.audit import ObjectType
from tixtrace.backoffice.services.events import get_event
from tixtrace.backoffice.services.tickets import (
    action_history,
    distribution_history,
    get_ticket,
    pending_line,
    ticket_views,
)
from tixtrace.backoffice.web import queries
from tixtrace.backoffice.web.audit import object_entries
from tixtrace.backoffice.web.pages import WebUser, path_id, query_text, render, with_query
from tixtrace.backoffice.web.ticket_actions import action_bar
from tixtrace.kernel.cursors import decode_position_cursor, encode_position_cursor
from tixtrace.kernel.errors import NotFound

router = APIRouter(include_in_schema=False)

PAGE = 50
HISTORY_PAGE = 100
TABS = ("general", "mobile", "distribution", "history")
Text = Annotated[str | None, Query(max_length=500)]


@router.get("/tickets")
def ticket_list(request: Request, backend: BackendDep, user: WebUser, number: Text = None, contact: Text = None,
                event: Text = None, status: Text = None, mobile_status: Text = None, sort: Text = None,
                cursor: Text = None) -> Response:
    filters = {
        "number": query_text(number, "number", 100),
        "contact": query_text(contact, "contact", 320),
        "event": query_text(event, "event", 50),
        "status": status if status in {s.value for s in TicketStatus} else None,
        "mobile_status": mobile_status if mobile_status in (*queries.MOBILE_STATUSES, queries.NEVER_SYNCED) else None,
    }
    chosen = queries.parse_sort(sort, queries.TICKET_SORTS)
    with backend.read() as conn:
        listing = queries.search_tickets(conn, **filters, sort=chosen, cursor=cursor, limit=PAGE)
        events = queries.event_choices(conn)
    next_url = with_query("/tickets", **filters, sort=chosen, cursor=listing.next_cursor) \
        if listing.next_cursor else None
    return render(request, "tickets/list.html", {
        "nav": "tickets", "tickets": listing.rows, "total": listing.total, "filters": filters, "next_url": next_url,
        "first_url": with_query("/tickets", **filters, sort=chosen) if cursor else None,
        "sort": chosen, "sort_url": lambda key: with_query("/tickets", **filters, sort=_toggle(chosen, key)),
        "statuses": [s.value for s in TicketStatus], "mobile_statuses": queries.MOBILE_STATUSES,
        "never_synced": queries.NEVER_SYNCED, "events": events,
        "holders_url": f"/api/events/{quote(filters['event'], safe='')}/holders.csv" if filters["event"] else None,
    })


def _toggle(current: str | None, key: str) -> str:
    """The sort a column header links to: ascending, or descending when it is already ascending."""
    return f"-{key}" if current == key else key


def _tab_context(conn: Connection, ticket_id: int, tab: str, cursor: str | None, now: datetime) -> dict[str, Any]:
    ticket = get_ticket(conn, ticket_id)
    view = ticket_views(conn, [ticket])[0]
    context: dict[str, Any] = {
        "nav": "tickets", "tab": tab, "tabs": TABS, "ticket": ticket, "view": view,
        "event": get_event(conn, ticket.event_id),
        "replaces_number": queries.ticket_number(conn, ticket.replaces_ticket_id)
        if ticket.replaces_ticket_id else None,
        "replaced_by": queries.replaced_by(conn, ticket_id),
        "parked": queries.parked_for_ticket(conn, ticket.number),
        "lines": [], "history_next": None, "actions": action_bar(ticket), "moves": [],
        "now": now, "pending": pending_line(conn, ticket_id) if tab == "mobile" else None,
    }
    if tab == "history":
        context["moves"] = action_history(conn, ticket_id)
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
        context.update(object_entries(conn, ObjectType.TICKET, tid))
    return render(request, "tickets/detail.html", context)


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
