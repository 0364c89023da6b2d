"""Organizer API: injection, the diff feed, delete, control, organizer transfer, ticket detail."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import TypeAdapter, ValidationError

from tixtrace.kernel.clock import isoformat
from tixtrace.kernel.web import WHOLE_NUMBER, documented, error_responses
from tixtrace.wallet.api.deps import ClockDep, EngineDep, OrganizerDep
from tixtrace.wallet.api.documents import BatchResults, DiffPage, InjectionResults, OrganizerTransferDone, TicketDetail
from tixtrace.wallet.api.schemas import (
    ControlRequest,
    DeleteRequest,
    InjectedTicket,
    InjectionRequest,
    OrganizerTransferRequest,
)
from tixtrace.wallet.services import feed, injection
from tixtrace.wallet.services import tickets as tickets_service

router = APIRouter(prefix="/organizer/tickets", tags=["organizer"],
                   responses=error_responses(400, 401, 404, 409, 422))
_ticket = TypeAdapter(InjectedTicket)


def _text(value: str) -> str:
    """``value`` safe to put in a JSON answer: a lone surrogate (valid JSON text, not UTF-8) is escaped."""
    return value.encode("utf-8", "backslashreplace").decode("utf-8")


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    return _text(f"{'.'.join(str(p) for p in err['loc']) or 'ticket'}: {err['msg']}")


def _new_ticket(item: InjectedTicket) -> injection.NewTicket:
    return injection.NewTicket(
        ticket_id=item.ticket_id,
        event=item.event.model_dump(mode="json", by_alias=True),
        purchase=item.purchase_details.model_dump(mode="json", by_alias=True),
        barcode=item.security.barcode,
        spectator=item.spectator_details.model_dump(mode="json", by_alias=True),
        max_transfers=item.transfer_rules.max_transfers if item.transfer_rules else None,
    )


@router.post("", summary="Inject tickets (W1): per-ticket results, idempotent by ticketId",
             **documented(InjectionResults))
def inject(body: InjectionRequest, organizer: OrganizerDep, db: EngineDep, clock: ClockDep) -> dict[str, Any]:
    results: list[dict[str, Any]] = []
    batch: list[injection.NewTicket] = []
    seen: set[str] = set()
    for raw in body.tickets:
        try:
            item = _ticket.validate_python(raw)
        except ValidationError as exc:
            ticket_id = _text(raw["ticketId"]) if isinstance(raw.get("ticketId"), str) else None
            results.append({"ticketId": ticket_id, "result": injection.REJECTED, "error": _first_error(exc)})
            continue
        if item.ticket_id in seen:
            results.append({"ticketId": item.ticket_id, "result": injection.ALREADY_INJECTED, "error": None})
            continue
        seen.add(item.ticket_id)
        batch.append(_new_ticket(item))
        results.append({"ticketId": item.ticket_id, "result": None, "error": None})
    outcome = injection.inject(db, clock, organizer.id, batch) if batch else {}
    for result in results:
        if result["result"] is None:
            result["result"] = outcome[result["ticketId"]]
    return {"results": results}


@router.get("/diff", summary="Lifecycle records after a pagination key, in order (the status log)",
            **documented(DiffPage))
def diff(organizer: OrganizerDep, db: EngineDep, clock: ClockDep,
         pagination_key: Annotated[str | None, Query(alias="paginationKey", max_length=200)] = None,
         batch_size: Annotated[int, Query(alias="batchSize", ge=1, le=feed.MAX_BATCH_SIZE),
                               WHOLE_NUMBER] = 1000) -> Response:
    page = feed.read_feed(db, clock, organizer.id, pagination_key, batch_size)
    body = (f'{{"records":[{",".join(page.records)}],"paginationKey":"{page.pagination_key}",'
            f'"hasMore":{"true" if page.has_more else "false"}}}')
    return Response(body, media_type="application/json")


@router.post("/delete", summary="Delete tickets (W8): DELETION_PENDING, or DELETED if never downloaded",
             **documented(BatchResults))
def delete(body: DeleteRequest, organizer: OrganizerDep, db: EngineDep, clock: ClockDep) -> dict[str, Any]:
    outcome = tickets_service.delete_tickets(db, clock, organizer.id,
                                             [(t.ticket_id, t.show_deleted_ticket) for t in body.tickets])
    return {"results": [{"ticketId": tid, **result} for tid, result in outcome.items()]}


@router.post("/control", summary="Control tickets (W8): CONTROLLED, never transferable again",
             **documented(BatchResults))
def control(body: ControlRequest, organizer: OrganizerDep, db: EngineDep, clock: ClockDep) -> dict[str, Any]:
    outcome = tickets_service.control_tickets(db, clock, organizer.id, [t.ticket_id for t in body.tickets])
    return {"results": [{"ticketId": tid, **result} for tid, result in outcome.items()]}


@router.post("/{ticket_id}/transfer", summary="Organizer transfer (W7): TRANSFERRED at once",
             **documented(OrganizerTransferDone))
def transfer(ticket_id: str, body: OrganizerTransferRequest, organizer: OrganizerDep, db: EngineDep,
             clock: ClockDep) -> dict[str, Any]:
    done = tickets_service.organizer_transfer(db, clock, organizer.id, ticket_id, body.recipient_email, body.reason)
    return {"transferId": done.transfer_id, "status": done.state.value, "direction": done.direction.value,
            "resolvedAt": isoformat(done.resolved_at)}


@router.get("/{ticket_id}", summary="A ticket's current state and its full status log",
            **documented(TicketDetail))
def detail(ticket_id: str, organizer: OrganizerDep, db: EngineDep, clock: ClockDep) -> dict[str, Any]:
    return tickets_service.ticket_detail(db, clock, organizer.id, ticket_id)
