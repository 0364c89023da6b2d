"""The user page: a back-office user (never the password hash) and the audit entries about it (O2)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from tixtrace.backoffice.backend import BackendDep
from tixtrace.backoffice.services.audit import ObjectType
from tixtrace.backoffice.services.users import get_user
from tixtrace.backoffice.web.audit import object_entries
from tixtrace.backoffice.web.pages import WebUser, path_id, render

router = APIRouter(include_in_schema=False)


@router.get("/users/{user_id}")
def user_page(request: Request, user_id: str, backend: BackendDep, user: WebUser) -> Response:
    uid = path_id(user_id, "user")
    with backend.read() as conn:
        shown = get_user(conn, uid)
        entries = object_entries(conn, ObjectType.USER, uid)
    return render(request, "users/detail.html", {"nav": "audit", "shown": shown, **entries})
