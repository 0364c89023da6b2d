"""The spectator's tickets: listing them is the app syncing (W2); assigning a holder (W3)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from tixtrace.kernel.db import unit_of_work
from tixtrace.kernel.web import WHOLE_NUMBER, documented, error_responses, json_body
from tixtrace.wallet.api import render
from tixtrace.wallet.api.deps import ClockDep, EngineDep, SpectatorDep
from tixtrace.wallet.api.documents import HolderAssigned, MyTickets
from tixtrace.wallet.api.schemas import TicketRef
from tixtrace.wallet.db.database import action_unit_of_work
from tixtrace.wallet.services import spectators
from tixtrace.wallet.services.profiles import Holder

router = APIRouter(prefix="/spectator/tickets", tags=["spectator"],
                   responses=error_responses(400, 401, 403, 404, 409, 422))


@router.get("", summary="My tickets (marks INJECTED ones DOWNLOADED)",
            **documented(MyTickets))
def my_tickets(me: SpectatorDep, db: EngineDep, clock: ClockDep,
               cursor: Annotated[str | None, Query(max_length=200)] = None,
               limit: Annotated[int, Query(ge=1, le=500), WHOLE_NUMBER] = 100) -> Response:
    with unit_of_work(db) as conn:  # listing is syncing (W2): a write
        return json_body(render.ticket_page(spectators.list_tickets(conn, clock, me, cursor, limit)))


@router.post("/{ticket_id}/holder", summary="Assign the ticket to a holder (status ASSIGNED)",
             **documented(HolderAssigned))
def holder(ticket_id: TicketRef, body: Holder, me: SpectatorDep, db: EngineDep, clock: ClockDep) -> Response:
    with action_unit_of_work(db) as conn:
        return json_body(render.holder_assigned(spectators.assign_holder(conn, clock, me, ticket_id, body.wire())))
