"""The services' typed views rendered as the wallet API's JSON (DESIGN section 7; shapes documented in
documents.py). Only this layer knows the wire names; the /app page renders the same views as HTML."""

from __future__ import annotations

from typing import Any

import orjson

from tixtrace.kernel.clock import isoformat
from tixtrace.wallet.domain.tickets import Transfer
from tixtrace.wallet.services.feed import FeedPage
from tixtrace.wallet.services.organizers import Organizer
from tixtrace.wallet.services.spectators import HolderAssigned, MyTicket, PendingTransfer, Profile, TicketPage
from tixtrace.wallet.services.tickets import BatchResult, TicketDetail
from tixtrace.wallet.services.transfers import TransferPage, TransferView


def profile(view: Profile) -> dict[str, Any]:
    promo, third = view.allow_promo_email, view.allow_third_party_email
    return {
        "title": view.title, "firstName": view.first_name, "lastName": view.last_name, "email": view.email,
        "dateOfBirth": view.date_of_birth, "nationality": view.nationality, "idCardNumber": view.id_card_number,
        "phoneNumber": view.phone_number, "residenceCountry": view.residence_country, "language": view.language,
        "organizerSpectatorPreference": None if promo is None and third is None else {
            "allowPromoEmail": bool(promo), "allowThirdPartyEmail": bool(third)},
    }


def pending_transfer(view: PendingTransfer | None) -> dict[str, Any] | None:
    if view is None:
        return None
    return {"transferId": view.transfer_id, "recipientEmail": view.recipient_email,
            "expiresAt": isoformat(view.expires_at)}


def my_ticket(view: MyTicket) -> dict[str, Any]:
    return {"walletTicketId": view.wallet_ticket_id, "ticketId": view.ticket_id, "status": view.status.value,
            "event": view.event,
            "ticketHolder": view.holder, "transferLevel": view.transfer_level,
            "pendingTransfer": pending_transfer(view.pending)}


def ticket_page(page: TicketPage) -> dict[str, Any]:
    return {"items": [my_ticket(item) for item in page.items], "nextCursor": page.next_cursor}


def holder_assigned(view: HolderAssigned) -> dict[str, Any]:
    return {"walletTicketId": view.wallet_ticket_id, "ticketId": view.ticket_id, "status": view.status.value,
            "ticketHolder": view.holder}


def transfer_started(transfer: Transfer) -> dict[str, Any]:
    return {"transferId": transfer.transfer_id, "status": transfer.state.value,
            "direction": transfer.direction.value, "expiresAt": isoformat(transfer.expires_at)}


def organizer_transfer_done(transfer: Transfer) -> dict[str, Any]:
    return {"transferId": transfer.transfer_id, "status": transfer.state.value,
            "direction": transfer.direction.value, "resolvedAt": isoformat(transfer.resolved_at)}


def transfer(view: TransferView) -> dict[str, Any]:
    return {
        "transferId": view.transfer_id, "ticketId": view.ticket_id, "direction": view.direction,
        "initiatedBy": view.initiated_by, "status": view.status, "senderEmail": view.sender_email,
        "recipientEmail": view.recipient_email, "createdAt": isoformat(view.created_at),
        "expiresAt": isoformat(view.expires_at), "resolvedAt": isoformat(view.resolved_at),
        "failureReason": view.failure_reason, "role": view.role, "event": view.event,
    }


def transfer_page(page: TransferPage) -> dict[str, Any]:
    return {"items": [transfer(item) for item in page.items], "nextCursor": page.next_cursor}


def injection_results(results: list[dict[str, Any]]) -> bytes:
    """The body of an injection answer, ``{"results": [{ticketId, result, error}]}``, as JSON bytes."""
    return orjson.dumps({"results": results})


def batch_results(results: list[BatchResult]) -> dict[str, Any]:
    return {"results": [{"ticketId": r.ticket_id, "result": r.result, "error": r.error} for r in results]}


def ticket_detail(view: TicketDetail) -> dict[str, Any]:
    ticket = view.ticket
    pending = ticket.pending
    return {
        "ticketId": ticket.ticket_id,
        "status": ticket.status.value,
        "event": view.event,
        "walletOwner": view.wallet_owner,
        "originalSpectatorEmail": ticket.original_owner,
        "ticketHolder": ticket.holder,
        "transferLevel": ticket.transfer_level,
        "transfersDone": ticket.transfers_done,
        "maxTransfers": ticket.max_transfers,
        "pendingTransfer": None if pending is None else pending_transfer(
            PendingTransfer(pending.transfer_id, pending.recipient, pending.expires_at)),
        "statusLog": view.status_log,
    }


def settings(organizer: Organizer) -> dict[str, Any]:
    return {"transferTimeoutSeconds": organizer.transfer_timeout_seconds,
            "acceptanceRequired": organizer.acceptance_required}


def feed_page(page: FeedPage) -> str:
    """The diff answer as JSON text: the stored records are embedded as they are (never re-serialized)."""
    return (f'{{"records":[{",".join(page.records)}],"paginationKey":"{page.pagination_key}",'
            f'"hasMore":{"true" if page.has_more else "false"}}}')
