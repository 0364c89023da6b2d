"""The wallet API's response shapes, as the OpenAPI document declares them (DESIGN section 7).

The routes build their bodies with ``render.py`` from the services' typed views (the diff feed even
writes its JSON text directly); these models only document them (``documented(...)``: nothing
validated or filtered at run time). The schemathesis tests hold every answer to them. Fields are
required (present, null when unknown) unless the route may leave them out.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from tixtrace.kernel.web import ApiResponse


class PreferenceOut(ApiResponse):
    allow_promo_email: bool
    allow_third_party_email: bool


class ProfileOut(ApiResponse):
    """A wallet profile: the spectatorDetails fields (an unknown person has only an e-mail)."""

    title: str | None
    first_name: str | None
    last_name: str | None
    email: str | None
    date_of_birth: str | None
    nationality: str | None
    id_card_number: str | None
    phone_number: str | None
    residence_country: str | None
    language: str | None
    organizer_spectator_preference: PreferenceOut | None


class InjectionResult(ApiResponse):
    ticket_id: str | None
    result: Literal["INJECTED", "ALREADY_INJECTED", "REJECTED"]
    error: str | None


class InjectionResults(ApiResponse):
    results: list[InjectionResult]


class BatchResult(ApiResponse):
    """Per ticket of a delete or control batch: its new status, UNCHANGED, NOT_FOUND or REFUSED."""

    ticket_id: str
    result: str
    error: str | None


class BatchResults(ApiResponse):
    results: list[BatchResult]


class DiffPage(ApiResponse):
    records: list[dict[str, Any]]
    pagination_key: str
    has_more: bool


class PendingTransfer(ApiResponse):
    transfer_id: str
    recipient_email: str
    expires_at: datetime | None


class TicketDetail(ApiResponse):
    ticket_id: str
    status: str
    event: dict[str, Any]
    wallet_owner: dict[str, Any] | None
    original_spectator_email: str | None
    ticket_holder: dict[str, Any] | None
    transfer_level: int
    transfers_done: int
    max_transfers: int | None
    pending_transfer: PendingTransfer | None
    status_log: list[dict[str, Any]]


class OrganizerTransferDone(ApiResponse):
    transfer_id: str
    status: str
    direction: Literal["FORWARD", "BACKWARD"]
    resolved_at: datetime | None


class SettingsOut(ApiResponse):
    transfer_timeout_seconds: int
    acceptance_required: bool


class SessionOut(ApiResponse):
    token: str


class MyTicket(ApiResponse):
    """``walletTicketId`` names the ticket in the wallet whatever organizer issued it (W12); every
    spectator route taking a ticket accepts it where a ``ticketId`` goes."""

    wallet_ticket_id: str
    ticket_id: str
    status: str
    event: dict[str, Any]
    ticket_holder: dict[str, Any] | None
    transfer_level: int
    pending_transfer: PendingTransfer | None


class MyTickets(ApiResponse):
    items: list[MyTicket]
    next_cursor: str | None


class HolderAssigned(ApiResponse):
    wallet_ticket_id: str
    ticket_id: str
    status: Literal["ASSIGNED"]
    ticket_holder: dict[str, Any]


class TransferStarted(ApiResponse):
    transfer_id: str
    status: str
    direction: Literal["FORWARD", "BACKWARD"]
    expires_at: datetime | None


class TransferOut(ApiResponse):
    transfer_id: str
    ticket_id: str
    direction: Literal["FORWARD", "BACKWARD"]
    initiated_by: Literal["SPECTATOR", "ORGANIZER"]
    status: str
    sender_email: str
    recipient_email: str
    created_at: datetime
    expires_at: datetime | None
    resolved_at: datetime | None
    failure_reason: str | None
    role: Literal["INCOMING", "OUTGOING"]


class MyTransfers(ApiResponse):
    items: list[TransferOut]
    next_cursor: str | None


class ClockOut(ApiResponse):
    now: datetime
