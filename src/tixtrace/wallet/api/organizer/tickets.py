"""Organizer API: injection, the diff feed, delete, control, organizer transfer, ticket detail."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import TypeAdapter, ValidationError

from tixtrace.kernel.db import unit_of_work
from tixtrace.kernel.web import WHOLE_NUMBER, documented, error_responses
from tixtrace.wallet.api import render
from tixtrace.wallet.api.deps import ClockDep, EngineDep, OrganizerDep
from tixtrace.wallet.api.documents import BatchResults, DiffPage, InjectionResults, OrganizerTransferDone, TicketDetail
from tixtrace.wallet.api.schemas import (
    ControlRequest,
    DeleteRequest,
    InjectedTicket,
    InjectionRequest,
    OrganizerTransferRequest,
)
from tixtrace.wallet.db.database import action_unit_of_work
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
    """The validated ticket as the service takes it: its wire form, dumped once (one serializer call)."""
    wire = item.model_dump(mode="json", by_alias=True)
    rules = wire["transferRules"]
    return injection.NewTicket(
        ticket_id=wire["ticketId"], event=wire["event"], purchase=wire["purchaseDetails"],
        barcode=wire["security"]["barcode"], spectator=wire["spectatorDetails"],
        max_transfers=rules["maxTransfers"] if rules else None,
    )


@router.post("", summary="Inject tickets (W1): per-ticket results, idempotent by ticketId",
             **documented(InjectionResults))
def inject(body: InjectionRequest, organizer: OrganizerDep, db: EngineDep, clock: ClockDep) -> Response:
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
    outcome: dict[str, str] = {}
    if batch:
        with unit_of_work(db) as conn:
            outcome = injection.inject(conn, clock, organizer.id, batch)
    for result in results:
        if result["result"] is None:
            result["result"] = outcome[result["ticketId"]]
    # rendered here (orjson, in C): FastAPI's generic encoder walks every value in Python, 20 ms a batch
    return Response(render.injection_results(results), media_type="application/json")


@router.get("/diff", summary="Lifecycle records after a pagination key, in order (the status log)",
            description="paginationKey: the one the last page answered (none: from the start). A key names the "
                        "wallet and the organizer it was issued to (W11): another wallet's, another organizer's, "
                        "one beyond your newest record or a malformed one is 422 INVALID_CURSOR.",
            **documented(DiffPage))
def diff(organizer: OrganizerDep, db: EngineDep, clock: ClockDep,
         pagination_key: Annotated[str | None, Query(alias="paginationKey", max_length=200)] = None,
         batch_size: Annotated[int, Query(alias="batchSize", ge=1, le=feed.MAX_BATCH_SIZE),
                               WHOLE_NUMBER] = 1000) -> Response:
    key = feed.parse_key(pagination_key, batch_size)  # a malformed key is refused before anything
    # the one read that writes first (W6), in a unit of its own and only when something is overdue
    # (or, once per database, to create the wallet's instance id that keys name, W11)
    with unit_of_work(db, write=False) as conn:
        wallet = feed.instance_id(conn)
        due = feed.expiries_due(conn, clock, organizer.id)
    if wallet is None or due:
        with unit_of_work(db) as conn:
            wallet = feed.ensure_instance(conn)
            if due:
                feed.materialize_expiries(conn, clock, organizer.id)
    with unit_of_work(db, write=False) as conn:
        page = feed.read_page(conn, wallet, organizer.id, key, batch_size)
    return Response(render.feed_page(page), media_type="application/json")


@router.post("/delete", summary="Delete tickets (W8): DELETION_PENDING, or DELETED if never downloaded",
             **documented(BatchResults))
def delete(body: DeleteRequest, organizer: OrganizerDep, db: EngineDep, clock: ClockDep) -> dict[str, Any]:
    with unit_of_work(db) as conn:
        return render.batch_results(tickets_service.delete_tickets(
            conn, clock, organizer.id, [(t.ticket_id, t.show_deleted_ticket) for t in body.tickets]))


@router.post("/control", summary="Control tickets (W8): CONTROLLED, never transferable again",
             **documented(BatchResults))
def control(body: ControlRequest, organizer: OrganizerDep, db: EngineDep, clock: ClockDep) -> dict[str, Any]:
    with unit_of_work(db) as conn:
        return render.batch_results(tickets_service.control_tickets(conn, clock, organizer.id,
                                                                    [t.ticket_id for t in body.tickets]))


@router.post("/{ticket_id}/transfer", summary="Organizer transfer (W7): TRANSFERRED at once",
             **documented(OrganizerTransferDone))
def transfer(ticket_id: str, body: OrganizerTransferRequest, organizer: OrganizerDep, db: EngineDep,
             clock: ClockDep) -> dict[str, Any]:
    with action_unit_of_work(db) as conn:
        return render.organizer_transfer_done(tickets_service.organizer_transfer(
            conn, clock, organizer.id, ticket_id, body.recipient_email, body.reason))


@router.get("/{ticket_id}", summary="A ticket's current state and its full status log",
            **documented(TicketDetail))
def detail(ticket_id: str, organizer: OrganizerDep, db: EngineDep, clock: ClockDep) -> dict[str, Any]:
    with unit_of_work(db) as conn:
        return render.ticket_detail(tickets_service.ticket_detail(conn, clock, organizer.id, ticket_id))
