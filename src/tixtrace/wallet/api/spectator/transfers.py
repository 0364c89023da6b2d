"""Spectator transfers (W4-W6)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from tixtrace.kernel.clock import isoformat
from tixtrace.kernel.web import WHOLE_NUMBER, documented, error_responses
from tixtrace.wallet.api.deps import ClockDep, EngineDep, SpectatorDep
from tixtrace.wallet.api.documents import MyTransfers, TransferOut, TransferStarted
from tixtrace.wallet.api.schemas import TransferRequest
from tixtrace.wallet.services import transfers

router = APIRouter(prefix="/spectator", tags=["spectator"], responses=error_responses(400, 401, 403, 404, 409, 422))


@router.post("/tickets/{ticket_id}/transfers",
             summary="Transfer a ticket: PENDING until accepted, or done at once when it goes back",
             **documented(TransferStarted, 201))
def start(ticket_id: str, body: TransferRequest, me: SpectatorDep, db: EngineDep, clock: ClockDep) -> dict[str, Any]:
    transfer = transfers.start_transfer(db, clock, me, ticket_id, body.recipient_email)
    return {"transferId": transfer.transfer_id, "status": transfer.state.value,
            "direction": transfer.direction.value, "expiresAt": isoformat(transfer.expires_at)}


@router.get("/transfers", summary="My incoming and outgoing transfers, oldest first",
            **documented(MyTransfers))
def my_transfers(me: SpectatorDep, db: EngineDep, clock: ClockDep,
                 cursor: Annotated[str | None, Query(max_length=200)] = None,
                 limit: Annotated[int, Query(ge=1, le=500), WHOLE_NUMBER] = 100) -> dict[str, Any]:
    items, next_cursor = transfers.list_transfers(db, clock, me, cursor, limit)
    return {"items": items, "nextCursor": next_cursor}


@router.post("/transfers/{transfer_id}/accept", summary="Accept an incoming transfer (needs first and last name)",
             **documented(TransferOut))
def accept(transfer_id: str, me: SpectatorDep, db: EngineDep, clock: ClockDep) -> dict[str, Any]:
    return transfers.accept(db, clock, me, transfer_id)


@router.post("/transfers/{transfer_id}/reject", summary="Reject an incoming transfer",
             **documented(TransferOut))
def reject(transfer_id: str, me: SpectatorDep, db: EngineDep, clock: ClockDep) -> dict[str, Any]:
    return transfers.reject(db, clock, me, transfer_id)


@router.post("/transfers/{transfer_id}/cancel", summary="Cancel an outgoing transfer",
             **documented(TransferOut))
def cancel(transfer_id: str, me: SpectatorDep, db: EngineDep, clock: ClockDep) -> dict[str, Any]:
    return transfers.cancel(db, clock, me, transfer_id)
