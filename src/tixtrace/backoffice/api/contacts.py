"""``/api/contacts``: contacts typed by people, and reading any contact."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from tixtrace.backoffice.api.deps import ContactId, Cursor, Limit, User, after_id, next_cursor
from tixtrace.backoffice.api.documents import ContactOut, ContactPage
from tixtrace.backoffice.api.schemas import ContactIn, contact_json, page
from tixtrace.backoffice.backend import BackendDep
from tixtrace.backoffice.services.contacts import (
    NewContact,
    count_contacts,
    create_contact,
    get_contact,
    list_contacts,
)
from tixtrace.backoffice.services.search import MAX_QUERY
from tixtrace.kernel.web import documented, error_responses

router = APIRouter(prefix="/api/contacts", tags=["contacts"], responses=error_responses(400, 401, 404, 409, 422, 429))


@router.post("", summary="Create a contact", **documented(ContactOut, 201))
def post_contact(body: ContactIn, backend: BackendDep, _user: User) -> dict[str, Any]:
    new = NewContact(**body.model_dump())
    with backend.write() as conn:
        row = create_contact(conn, new, backend.clock.now())
    return contact_json(row) or {}


@router.get("", summary="List contacts: those sharing an e-mail (trimmed, NFKC, lower-cased) when given; with `q`, "
                        "those whose name (first or last name first) or e-mail starts with it, case and accents "
                        "ignored; `total` counts every page", **documented(ContactPage))
def get_contacts(backend: BackendDep, _user: User, email: Annotated[str | None, Query(max_length=320)] = None,
                 q: Annotated[str | None, Query(max_length=MAX_QUERY)] = None,
                 cursor: Cursor = None, limit: Limit = 100) -> dict[str, Any]:
    start = after_id(cursor)
    with backend.read() as conn:
        rows, last = list_contacts(conn, email=email, q=q, after_id=start, limit=limit)
        total = count_contacts(conn, email=email, q=q)
    return {**page([contact_json(row) for row in rows], next_cursor(last)), "total": total}


@router.get("/{contact_id}", summary="One contact", **documented(ContactOut))
def get_one_contact(contact_id: ContactId, backend: BackendDep, _user: User) -> dict[str, Any]:
    with backend.read() as conn:
        return contact_json(get_contact(conn, contact_id)) or {}
