"""Wire shapes of the wallet API (DESIGN section 7), separate from the tables.

Request models refuse unknown fields and name the offending field in the 422 envelope.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Path
from pydantic import AfterValidator, ConfigDict, Field, StrictBool, StrictInt, StringConstraints

from tixtrace.kernel.clock import MAX_ADVANCE_SECONDS
from tixtrace.kernel.web import ApiModel
from tixtrace.wallet.services.profiles import Country, Email, SpectatorDetails, Text

# Numbers are numbers: ``true`` or ``"5"`` is refused (422), not read as 1 or 5; an integer is a valid float.
Number = Annotated[float, Field(strict=True)]


class Address(ApiModel):
    site: Text
    city: Text
    zip: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)]
    country_code: Country


class Event(ApiModel):
    id: Text
    name: Text
    start_time: datetime
    expiration_date: datetime | None = None
    address: Address


class PurchaseDetails(ApiModel):
    file_number: Annotated[str, StringConstraints(max_length=50)] | None = None
    purchase_date: datetime | None = None
    price: Annotated[Number, Field(ge=0)] | None = None
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] | None = None


class Security(ApiModel):
    barcode: Text


class TransferRules(ApiModel):
    max_transfers: Annotated[StrictInt, Field(ge=0, le=1000)] | None = None


def _reachable_ticket_id(value: str) -> str:
    """W13: ``.`` and ``..`` fit the pattern but are path segments, not ids, in a spectator's URL."""
    if value in {".", ".."}:
        raise ValueError("ticketId must not be '.' or '..' (W13)")
    return value


#: W13: what a ticket id may be, so that every wallet route can name it in its path (and so that it
#: never looks like a walletTicketId, W12)
TicketId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64,
                                            pattern=r"^[A-Za-z0-9._-]+$"),
                     AfterValidator(_reachable_ticket_id),
                     Field(description="1 to 64 characters of A-Z a-z 0-9 . _ -, not '.' or '..' (W13)")]


#: W12: the ticket of a spectator route is its walletTicketId, or a ticketId naming one ticket of the spectator
TicketRef = Annotated[str, Path(description="walletTicketId (from GET /spectator/tickets), or a ticketId "
                                            "when only one ticket of yours has it (else 409 AMBIGUOUS_TICKET_ID)")]


class InjectedTicket(ApiModel):
    ticket_id: TicketId
    event: Event
    purchase_details: PurchaseDetails = PurchaseDetails()
    security: Security
    spectator_details: SpectatorDetails
    transfer_rules: TransferRules | None = None


class InjectionRequest(ApiModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"tickets": [{
        "ticketId": "T-100", "security": {"barcode": "BC-T-100"},
        "event": {"id": "WC26-M01", "name": "Opening match", "startTime": "2026-06-11T19:00:00Z",
                  "address": {"site": "Estadio Azteca", "city": "Mexico City", "zip": "04650", "countryCode": "MX"}},
        "spectatorDetails": {"firstName": "Ana", "lastName": "Lima", "email": "ana@wc26.example"}}]}]})

    tickets: Annotated[list[dict[str, Any]], Field(min_length=1, max_length=10_000)] = Field(
        description="Tickets to inject (1 to 10,000), each an InjectedTicket; each is validated on its own "
                    "and refused alone (result REJECTED) when invalid.")


class DeleteItem(ApiModel):
    ticket_id: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    show_deleted_ticket: StrictBool
    reason: Annotated[str, StringConstraints(max_length=500)] | None = None


class DeleteRequest(ApiModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"tickets": [{"ticketId": "T-9", "showDeletedTicket": False}]},
    ]})

    tickets: Annotated[list[DeleteItem], Field(min_length=1, max_length=10_000)]


class ControlItem(ApiModel):
    ticket_id: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    controlled_at: datetime | None = None


class ControlRequest(ApiModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"tickets": [{"ticketId": "T-9"}]}]})

    tickets: Annotated[list[ControlItem], Field(min_length=1, max_length=10_000)]


class OrganizerTransferRequest(ApiModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"recipientEmail": "friend@wc26.example", "reason": "seat change"},
    ]})

    recipient_email: Email
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class SettingsUpdate(ApiModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"transferTimeoutSeconds": 3600, "acceptanceRequired": True},
    ]})

    transfer_timeout_seconds: StrictInt | None = None
    acceptance_required: StrictBool | None = None


class SessionRequest(ApiModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"email": "fan@wc26.example"}]})

    email: Email


class TransferRequest(ApiModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"recipientEmail": "friend@wc26.example"}]})

    recipient_email: Email


class ClockAdvance(ApiModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"seconds": 60}]})

    #: the range is checked by ``check_advance``, whose 422 names the value and the limit (W9)
    seconds: Annotated[Number, Field(
        description=f"More than 0, at most {MAX_ADVANCE_SECONDS} (366 days).",
        json_schema_extra={"exclusiveMinimum": 0, "maximum": MAX_ADVANCE_SECONDS})]
