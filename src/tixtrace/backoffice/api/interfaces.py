"""``/api/interfaces``: TIXNGO interfaces (the password is accepted, never returned) and their schedules."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from tixtrace.backoffice.api.deps import Ctx, Cursor, InterfaceId, Limit, User, after_id, next_cursor
from tixtrace.backoffice.api.schemas import (
    InterfaceIn,
    InterfaceUpdate,
    ScheduleIn,
    interface_json,
    page,
    schedule_json,
)
from tixtrace.backoffice.services.interfaces import (
    NewInterface,
    create_interface,
    get_interface,
    list_interfaces,
    update_interface,
)
from tixtrace.backoffice.services.schedules import NewSchedule, create_schedule, list_schedules

router = APIRouter(prefix="/api/interfaces", tags=["interfaces"])


@router.post("", status_code=201, summary="Create an interface; 422 INVALID_CUSTOM_PARAMETERS lists bad lines")
def post_interface(body: InterfaceIn, ctx: Ctx, _user: User) -> dict[str, Any]:
    with ctx.write() as conn:
        return interface_json(create_interface(conn, NewInterface(**body.model_dump()), ctx.clock.now()))


@router.get("", summary="List interfaces")
def get_interfaces(ctx: Ctx, _user: User, cursor: Cursor = None, limit: Limit = 100) -> dict[str, Any]:
    start = after_id(cursor)
    with ctx.read() as conn:
        rows, last = list_interfaces(conn, after_id=start, limit=limit)
    return page([interface_json(row) for row in rows], next_cursor(last))


@router.get("/{interface_id}", summary="One interface (without its password)")
def get_one_interface(interface_id: InterfaceId, ctx: Ctx, _user: User) -> dict[str, Any]:
    with ctx.read() as conn:
        return interface_json(get_interface(conn, interface_id))


@router.put("/{interface_id}", summary="Replace an interface's settings; omit the password to keep it")
def put_interface(interface_id: InterfaceId, body: InterfaceUpdate, ctx: Ctx, _user: User) -> dict[str, Any]:
    with ctx.write() as conn:
        row = update_interface(conn, interface_id, NewInterface(**body.model_dump()), ctx.clock.now())
        return interface_json(row)


@router.post("/{interface_id}/schedules", status_code=201, summary="Add a schedule (one function) to the interface")
def post_schedule(interface_id: InterfaceId, body: ScheduleIn, ctx: Ctx, _user: User) -> dict[str, Any]:
    with ctx.write() as conn:
        row = create_schedule(conn, interface_id, NewSchedule(**body.model_dump()), ctx.clock.now())
        return schedule_json(row)


@router.get("/{interface_id}/schedules", summary="The interface's schedules")
def get_schedules(interface_id: InterfaceId, ctx: Ctx, _user: User, cursor: Cursor = None,
                  limit: Limit = 100) -> dict[str, Any]:
    start = after_id(cursor)
    with ctx.read() as conn:
        rows, last = list_schedules(conn, interface_id, after_id=start, limit=limit)
    return page([schedule_json(row) for row in rows], next_cursor(last))
