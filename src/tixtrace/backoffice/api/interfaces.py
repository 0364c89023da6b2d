"""``/api/interfaces``: TIXNGO interfaces (the password is accepted, never returned) and their schedules."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from tixtrace.backoffice.api.deps import MAX_SMALL_ID, Cursor, InterfaceId, Limit, User, after_id, next_cursor
from tixtrace.backoffice.api.documents import InterfaceOut, InterfacePage, ScheduleOut, SchedulePage
from tixtrace.backoffice.api.schemas import (
    InterfaceIn,
    InterfaceUpdate,
    ScheduleIn,
    interface_json,
    page,
    schedules_json,
)
from tixtrace.backoffice.backend import BackendDep
from tixtrace.backoffice.services.interfaces import (
    NewInterface,
    create_interface,
    get_interface,
    list_interfaces,
    update_interface,
)
from tixtrace.backoffice.services.schedules import NewSchedule, create_schedule, list_schedules
from tixtrace.kernel.web import documented, error_responses

router = APIRouter(prefix="/api/interfaces", tags=["interfaces"],
                   responses=error_responses(400, 401, 404, 409, 422, 429))


@router.post("", summary="Create an interface; 422 INVALID_CUSTOM_PARAMETERS lists bad lines",
             **documented(InterfaceOut, 201))
def post_interface(body: InterfaceIn, backend: BackendDep, user: User) -> dict[str, Any]:
    with backend.write() as conn:
        return interface_json(create_interface(conn, NewInterface(**body.model_dump()), backend.clock.now(),
                                               actor=user))


@router.get("", summary="List interfaces", **documented(InterfacePage))
def get_interfaces(backend: BackendDep, _user: User, cursor: Cursor = None, limit: Limit = 100) -> dict[str, Any]:
    start = after_id(cursor, MAX_SMALL_ID)
    with backend.read() as conn:
        rows, last = list_interfaces(conn, after_id=start, limit=limit)
    return page([interface_json(row) for row in rows], next_cursor(last))


@router.get("/{interface_id}", summary="One interface (without its password)", **documented(InterfaceOut))
def get_one_interface(interface_id: InterfaceId, backend: BackendDep, _user: User) -> dict[str, Any]:
    with backend.read() as conn:
        return interface_json(get_interface(conn, interface_id))


@router.put("/{interface_id}", summary="Replace an interface's settings; omit the password to keep it "
            "(422 PASSWORD_REQUIRED when the URL's scheme, host or port changes)", **documented(InterfaceOut))
def put_interface(interface_id: InterfaceId, body: InterfaceUpdate, backend: BackendDep, user: User) -> dict[str, Any]:
    with backend.write() as conn:
        row = update_interface(conn, interface_id, NewInterface(**body.model_dump()), backend.clock.now(),
                               actor=user)
        return interface_json(row)


@router.post("/{interface_id}/schedules", summary="Add a schedule (one function) to the interface",
             **documented(ScheduleOut, 201))
def post_schedule(interface_id: InterfaceId, body: ScheduleIn, backend: BackendDep, user: User) -> dict[str, Any]:
    with backend.write() as conn:
        row = create_schedule(conn, interface_id, NewSchedule(**body.model_dump()), backend.clock.now(),
                              actor=user)
        return schedules_json(conn, [row], backend.clock.now())[0]


@router.get("/{interface_id}/schedules", summary="The interface's schedules", **documented(SchedulePage))
def get_schedules(interface_id: InterfaceId, backend: BackendDep, _user: User, cursor: Cursor = None,
                  limit: Limit = 100) -> dict[str, Any]:
    start = after_id(cursor, MAX_SMALL_ID)
    with backend.read() as conn:
        rows, last = list_schedules(conn, interface_id, after_id=start, limit=limit)
        return page(schedules_json(conn, rows, backend.clock.now()), next_cursor(last))
