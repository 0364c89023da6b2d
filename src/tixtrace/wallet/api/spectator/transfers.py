"""Spectator transfers (W4-W6)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from tixtrace.kernel.db import unit_of_work
from tixtrace.kernel.web import WHOLE_NUMBER, documented, error_responses, json_body
from tixtrace.wallet.api import render
from tixtrace.wallet.api.deps import ClockDep, EngineDep, SpectatorDep
from tixtrace.wallet.api.documents import MyTransfers, TransferOut, TransferStarted
from tixtrace.wallet.api.schemas import TicketRef, TransferRequest
from tixtrace.wallet.db.database import action_unit_of_work
from tixtrace.wallet.services import transfers

router = APIRouter(prefix="/spectator", tags=["spectator"], responses=error_responses(400, 401, 403, 404, 409, 422))


@router.post("/tickets/{ticket_id}/transfers",
             summary="Transfer a ticket: PENDING until accepted, or done at once when it goes back",
             **documented(TransferStarted, 201))
def start(ticket_id: TicketRef, body: TransferRequest, me: SpectatorDep, db: EngineDep,
          clock: ClockDep) -> Response:
    with action_unit_of_work(db) as conn:
        started = transfers.start_transfer(conn, clock, me, ticket_id, body.recipient_email)
        return json_body(render.transfer_started(started), 201)


@router.get("/transfers", summary="My incoming and outgoing transfers, oldest first",
            **documented(MyTransfers))
def my_transfers(me: SpectatorDep, db: EngineDep, clock: ClockDep,
                 cursor: Annotated[str | None, Query(max_length=200)] = None,
                 limit: Annotated[int, Query(ge=1, le=500), WHOLE_NUMBER] = 100) -> Response:
    with unit_of_work(db, write=False) as conn:
        return json_body(render.transfer_page(transfers.list_transfers(conn, clock, me, cursor, limit)))


@router.post("/transfers/{transfer_id}/accept", summary="Accept an incoming transfer (needs first and last name)",
             **documented(TransferOut))
def accept(transfer_id: str, me: SpectatorDep, db: EngineDep, clock: ClockDep) -> Response:
    with action_unit_of_work(db) as conn:
        return json_body(render.transfer(transfers.accept(conn, clock, me, transfer_id)))


@router.post("/transfers/{transfer_id}/reject", summary="Reject an incoming transfer",
             **documented(TransferOut))
def reject(transfer_id: str, me: SpectatorDep, db: EngineDep, clock: ClockDep) -> Response:
    with action_unit_of_work(db) as conn:
        return json_body(render.transfer(transfers.reject(conn, clock, me, transfer_id)))


@router.post("/transfers/{transfer_id}/cancel", summary="Cancel an outgoing transfer",
             **documented(TransferOut))
def cancel(transfer_id: str, me: SpectatorDep, db: EngineDep, clock: ClockDep) -> Response:
    with action_unit_of_work(db) as conn:
        return json_body(render.transfer(transfers.cancel(conn, clock, me, transfer_id)))
