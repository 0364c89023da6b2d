"""``/api/audit``: the audit log (O2), newest first, filtered by object type and object."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from tixtrace.backoffice.api.deps import Cursor, Limit, User, after_id, next_cursor
from tixtrace.backoffice.api.documents import AuditPage
from tixtrace.backoffice.api.schemas import audit_json, page
from tixtrace.backoffice.backend import BackendDep
from tixtrace.backoffice.services.audit import list_audit
from tixtrace.backoffice.services.validation import MAX_ID
from tixtrace.kernel.web import WHOLE_NUMBER, documented, error_responses

router = APIRouter(prefix="/api/audit", tags=["audit"], responses=error_responses(400, 401, 422, 429))

ObjectTypeQuery = Annotated[str | None, Query(alias="objectType", max_length=20,
                                              description="interface | schedule | ticket | user")]
ObjectIdQuery = Annotated[int | None, Query(alias="objectId", ge=1, le=MAX_ID,
                                            description="the object's id (needs objectType)"), WHOLE_NUMBER]


@router.get("", summary="The audit log: who changed what, when, before and after (O2); newest first",
            description="Every change made by a person (their user name) or a process (scheduler, cli) to an "
                        "interface, a schedule, a ticket or a user; changes are {field: [before, after]}, a "
                        'password only as ["(secret)", "(secret)"].', **documented(AuditPage))
def get_audit(backend: BackendDep, _user: User, object_type: ObjectTypeQuery = None, object_id: ObjectIdQuery = None,
              cursor: Cursor = None, limit: Limit = 100) -> dict[str, Any]:
    before = after_id(cursor) or None
    with backend.read() as conn:
        rows, last = list_audit(conn, object_type=object_type, object_id=object_id, before_id=before, limit=limit)
    return page([audit_json(row) for row in rows], next_cursor(last))
