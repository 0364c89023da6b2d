"""The audit log screen (O2): every change, newest first, filtered by object type and id.

The same partial (``audit/_entries.html``) shows an object's entries on its own page (interface,
schedule, ticket, user); `object_entries` is what those pages call. A bad filter (an unknown type, an
id that is not a whole number, an id without a type) shows the message above an empty list (422),
never an error page.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from sqlalchemy import Connection
from starlette.responses import Response

from tixtrace.backoffice.backend import BackendDep
from tixtrace.backoffice.services.audit import AuditEntry, ObjectType, list_audit
from tixtrace.backoffice.services.validation import MAX_ID
from tixtrace.backoffice.web.pages import WebUser, render, with_query
from tixtrace.kernel.cursors import decode_int_cursor, encode_cursor
from tixtrace.kernel.errors import BadInput

router = APIRouter(include_in_schema=False)

PAGE = 50
#: entries shown on an object's own page; the rest are on /audit filtered on it
PREVIEW = 20

Filter = Annotated[str | None, Query(max_length=30)]


def object_entries(conn: Connection, object_type: ObjectType, object_id: int) -> dict[str, Any]:
    """The context of the ``audit/_entries.html`` partial for one object's page."""
    entries, more = list_audit(conn, object_type=object_type, object_id=object_id, limit=PREVIEW)
    return {"audit_entries": entries,
            "audit_more": with_query("/audit", objectType=object_type.value, objectId=object_id) if more else None}


@router.get("/audit")
def audit_list(request: Request, backend: BackendDep, user: WebUser, objectType: Filter = None,  # noqa: N803
               objectId: Filter = None, cursor: Annotated[str | None, Query(max_length=500)] = None) -> Response:  # noqa: N803
    kind = (objectType or "").strip() or None
    raw_id = (objectId or "").strip()
    error = None
    object_id: int | None = None
    if raw_id:
        if not raw_id.isascii() or not raw_id.isdigit() or len(raw_id) > 19 or not 1 <= int(raw_id) <= MAX_ID:
            error = f"Id: {raw_id!r} must be a whole number from 1"
        else:
            object_id = int(raw_id)
    before = decode_int_cursor(cursor) or None
    entries: list[AuditEntry] = []
    last = None
    if error is None:
        try:
            with backend.read() as conn:
                entries, last = list_audit(conn, object_type=kind, object_id=object_id, before_id=before, limit=PAGE)
        except BadInput as exc:
            problems = exc.details.get("errors", [])
            error = "; ".join(str(problem.get("message")) for problem in problems) or exc.message
    filters = {"objectType": kind, "objectId": raw_id}
    return render(request, "audit/list.html", {
        "nav": "audit", "audit_entries": entries, "audit_more": None, "object_types": [t.value for t in ObjectType],
        "object_type": kind, "object_id": raw_id, "error": error,
        "next_url": with_query("/audit", **filters, cursor=encode_cursor(last)) if last else None,
        "first_url": with_query("/audit", **filters) if cursor else None,
    }, status=422 if error else 200)
