"""Contact screens: the searchable list and the contact page (its tickets and distribution lines)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from tixtrace.backoffice.backend import BackendDep
from tixtrace.backoffice.services.contacts import get_contact
from tixtrace.backoffice.web import queries
from tixtrace.backoffice.web.pages import WebUser, path_id, query_text, render, with_query

router = APIRouter(include_in_schema=False)

PAGE = 50
Text = Annotated[str | None, Query(max_length=500)]


@router.get("/contacts")
def contact_list(request: Request, backend: BackendDep, user: WebUser, q: Text = None, temporary: Text = None,
                 sort: Text = None, cursor: Text = None) -> Response:
    text = query_text(q, "search", 320)
    temporary_only = temporary in ("1", "on", "true")
    chosen = queries.parse_sort(sort, queries.CONTACT_SORTS)
    with backend.read() as conn:
        listing = queries.search_contacts(conn, text=text, temporary_only=temporary_only, sort=chosen,
                                          cursor=cursor, limit=PAGE)
    filters = {"q": text, "temporary": "1" if temporary_only else None}
    return render(request, "contacts/list.html", {
        "nav": "contacts", "contacts": listing.rows, "total": listing.total, "q": text or "",
        "temporary_only": temporary_only, "sort": chosen,
        "sort_url": lambda key: with_query("/contacts", **filters, sort=f"-{key}" if chosen == key else key),
        "next_url": with_query("/contacts", **filters, sort=chosen, cursor=listing.next_cursor)
        if listing.next_cursor else None,
        "first_url": with_query("/contacts", **filters, sort=chosen) if cursor else None,
    })


@router.get("/contacts/{contact_id}")
def contact_page(request: Request, contact_id: str, backend: BackendDep, user: WebUser) -> Response:
    cid = path_id(contact_id, "contact")
    with backend.read() as conn:
        contact = get_contact(conn, cid)
        tickets, more_tickets = queries.contact_tickets(conn, cid)
        lines_in, more_in = queries.contact_lines(conn, cid, incoming=True)
        lines_out, more_out = queries.contact_lines(conn, cid, incoming=False)
    return render(request, "contacts/detail.html", {
        "nav": "contacts", "contact": contact, "tickets": tickets, "more_tickets": more_tickets,
        "lines_in": lines_in, "more_in": more_in, "lines_out": lines_out, "more_out": more_out,
    })
