"""The back-office API's JSON: request bodies (typed, unknown fields refused) and response shapes.

Request models only check types: a string where a string is expected, a whole number where one is
expected (``"1"`` or ``1.0`` is refused, not coerced), times as RFC 3339 strings. What a value must
look like (an e-mail, a country code, lengths) is checked by the services, the same way for the API
and the CSV import. Responses are rendered from the services' views by the ``*_json`` functions: every
field of the shapes of DESIGN section 7 is present, null when unknown; the interface password never is.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import ConfigDict, Field, PlainValidator, StrictBool, StrictFloat, StrictInt, StrictStr, WithJsonSchema
from sqlalchemy import Connection

from tixtrace.backoffice.services.audit import AuditEntry
from tixtrace.backoffice.services.contacts import ContactView
from tixtrace.backoffice.services.events import EventView
from tixtrace.backoffice.services.executions import ExecutionRecord, ExecutionView, LogEntry
from tixtrace.backoffice.services.interfaces import InterfaceView
from tixtrace.backoffice.services.overview import Overview
from tixtrace.backoffice.services.schedule_state import LastExecution, ScheduleState, with_states
from tixtrace.backoffice.services.schedules import ScheduleView
from tixtrace.backoffice.services.tickets import LineView, TicketView
from tixtrace.backoffice.services.validation import MAX_ID, cents_to_price
from tixtrace.kernel.clock import isoformat
from tixtrace.kernel.web import ApiModel


def _rfc3339(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError(f"must be an RFC 3339 date-time string like 2026-06-11T18:00:00Z, got {value!r}")
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not an RFC 3339 date-time like 2026-06-11T18:00:00Z") from None


def _iso_date(value: Any) -> date:
    if not isinstance(value, str) or len(value) != 10:
        raise ValueError(f"must be a date string YYYY-MM-DD, got {value!r}")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a date YYYY-MM-DD") from None


DateTime = Annotated[datetime, PlainValidator(_rfc3339), WithJsonSchema({"type": "string", "format": "date-time"})]
Date = Annotated[date, PlainValidator(_iso_date), WithJsonSchema({"type": "string", "format": "date"})]
Id = Annotated[StrictInt, Field(ge=1, le=MAX_ID)]
Price = StrictInt | StrictFloat | StrictStr


class ContactIn(ApiModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {
            "kind": "INDIVIDUAL", "firstName": "Ana", "lastName": "Lima", "email": "ana@example.com",
            "hasInternetAccount": False,
        },
    ]})

    kind: StrictStr
    first_name: StrictStr | None = None
    last_name: StrictStr
    email: StrictStr
    title: StrictStr | None = None
    phone: StrictStr | None = None
    mobile_phone: StrictStr | None = None
    birth_date: Date | None = None
    nationality: StrictStr | None = None
    id_number: StrictStr | None = None
    country: StrictStr | None = None
    language: StrictStr | None = None
    allow_promo_email: StrictBool | None = None
    allow_third_party_email: StrictBool | None = None
    has_internet_account: StrictBool = False
    reference: StrictStr | None = None


class VenueIn(ApiModel):
    site: StrictStr
    city: StrictStr
    zip: StrictStr
    country_code: StrictStr


class EventIn(ApiModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {
            "code": "WC26-M02", "name": "Second match", "startTime": "2026-06-12T19:00:00Z",
            "venue": {"site": "Estadio Azteca", "city": "Mexico City", "zip": "04650", "countryCode": "MX"},
        },
    ]})

    code: StrictStr
    name: StrictStr
    start_time: DateTime
    end_time: DateTime | None = None
    venue: VenueIn
    #: I3: null or absent = no limit; the range is checked by the service (422 naming value and range)
    max_transfers: Annotated[StrictInt | None, Field(
        description="Spectator transfers allowed per ticket, 0 to 1000; null: no limit.",
        json_schema_extra={"minimum": 0, "maximum": 1000})] = None


class EventPatchIn(ApiModel):
    """``PATCH /api/events/{code}``: only the fields given change (``endTime`` or ``maxTransfers`` null
    clears them); the code is the event's key and cannot change (an unknown field is a 422)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"name": "Opening match", "maxTransfers": 2}]})

    name: StrictStr | None = None
    start_time: DateTime | None = None
    end_time: DateTime | None = None
    venue: VenueIn | None = None
    max_transfers: Annotated[StrictInt | None, Field(
        description="Spectator transfers allowed per ticket injected from now on, 0 to 1000; null: no limit.",
        json_schema_extra={"minimum": 0, "maximum": 1000})] = None

    def changes(self) -> dict[str, Any]:
        """The `NewEvent` fields this body sets (an explicit null included; a null venue or name is
        passed on and refused by the service as required)."""
        given = self.model_fields_set
        found: dict[str, Any] = {name: getattr(self, name)
                                 for name in ("name", "start_time", "end_time", "max_transfers") if name in given}
        if "venue" in given:
            venue = self.venue
            found.update(venue_site=venue.site if venue else None, venue_city=venue.city if venue else None,
                         venue_zip=venue.zip if venue else None,
                         venue_country_code=venue.country_code if venue else None)
        return found


class TransferIn(ApiModel):
    """``POST /api/tickets/{id}/transfer``: an organizer transfer (W7); both fields are checked by the
    service, so that a missing or bad one is a 422 naming it like every other field error."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"recipientEmail": "friend@wc26.example", "reason": "seat change"},
    ]})

    recipient_email: StrictStr | None = None
    reason: StrictStr | None = None


class TicketIn(ApiModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {
            "eventCode": "WC26-M01", "culturalContactId": 1,
        },
    ]})

    event_code: StrictStr
    cultural_contact_id: Id
    buyer_contact_id: Id | None = None
    owner_contact_id: Id | None = None
    number: StrictStr | None = None
    seat: StrictStr | None = None
    price: Price | None = None
    currency: StrictStr | None = None
    barcode: StrictStr | None = None
    file_number: StrictStr | None = None


class InterfaceIn(ApiModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {
            "name": "TIXNGO", "type": "TIXNGO", "url": "http://127.0.0.1:8001/organizer/tickets",
            "login": "admin@organizer.example", "password": "api-key", "notificationEmails": [],
            "customParameters": "TIXNGO_LIFECYCLE_MODE=lifecycle",
        },
    ]})

    name: StrictStr
    type: StrictStr
    url: StrictStr
    login: StrictStr
    password: StrictStr
    notification_emails: list[StrictStr] = Field(default_factory=list, max_length=100)
    custom_parameters: StrictStr = ""


class InterfaceUpdate(InterfaceIn):
    """As `InterfaceIn`; leave the password out to keep the stored one."""

    password: StrictStr | None = None  # type: ignore[assignment]


class ScheduleIn(ApiModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {
            "function": "RETRIEVE_TICKET_STATUS", "launch": "MANUAL",
        },
    ]})

    function: StrictStr
    launch: StrictStr
    frequency_minutes: StrictInt | None = None
    batch_size: StrictInt | None = None
    starts_at: DateTime | None = None
    ends_at: DateTime | None = None
    skip_ticket_numbers: list[StrictStr] = Field(default_factory=list, max_length=10_000)
    event_codes: list[StrictStr] = Field(default_factory=list, max_length=10_000)


class ScheduleUpdate(ApiModel):
    """``PATCH /api/schedules/{id}`` (O1): the fields sent change, the others keep their values;
    ``startsAt``/``endsAt`` null clears the bound. The function and the interface never change."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"launch": "AUTOMATIC", "frequencyMinutes": 5},
                                                              {"active": False}]})

    launch: StrictStr | None = None
    frequency_minutes: StrictInt | None = None
    starts_at: DateTime | None = None
    ends_at: DateTime | None = None
    batch_size: StrictInt | None = None
    skip_ticket_numbers: list[StrictStr] | None = Field(default=None, max_length=10_000)
    event_codes: list[StrictStr] | None = Field(default=None, max_length=10_000)
    active: StrictBool | None = None


# --- responses ----------------------------------------------------------------------------------


def page(items: list[Any], next_cursor: str | None) -> dict[str, Any]:
    return {"items": items, "nextCursor": next_cursor}


def contact_json(row: ContactView | None) -> dict[str, Any] | None:
    if row is None:
        return None
    birth = row.birth_date
    return {
        "id": row.id,
        "kind": row.kind,
        "reference": row.reference,
        "title": row.title,
        "firstName": row.first_name,
        "lastName": row.last_name,
        "email": row.email,
        "phone": row.phone,
        "mobilePhone": row.mobile_phone,
        "birthDate": birth.isoformat() if birth is not None else None,
        "nationality": row.nationality,
        "idNumber": row.id_number,
        "country": row.country,
        "language": row.language,
        "allowPromoEmail": row.allow_promo_email,
        "allowThirdPartyEmail": row.allow_third_party_email,
        "hasInternetAccount": row.has_internet_account,
        "isTemporary": row.is_temporary,
        "createdAt": isoformat(row.created_at),
    }


def event_json(row: EventView) -> dict[str, Any]:
    return {
        "id": row.id,
        "code": row.code,
        "name": row.name,
        "startTime": isoformat(row.start_time),
        "endTime": isoformat(row.end_time),
        "venue": {"site": row.venue_site, "city": row.venue_city, "zip": row.venue_zip,
                  "countryCode": row.venue_country_code},
        "maxTransfers": row.max_transfers,
        "createdAt": isoformat(row.created_at),
    }


def ticket_json(view: TicketView) -> dict[str, Any]:
    row = view.ticket
    return {
        "id": row.id,
        "number": row.number,
        "eventCode": view.event_code,
        "status": row.status,
        "mobileStatus": row.mobile_status,
        "culturalContact": contact_json(view.cultural_contact),
        "owner": contact_json(view.owner),
        "buyer": contact_json(view.buyer),
        "walletOwner": row.wallet_owner,
        "ticketHolder": row.ticket_holder,
        "replacesTicketId": row.replaces_ticket_id,
        "lastSyncedAt": isoformat(row.last_synced_at),
        "seat": row.seat,
        "price": cents_to_price(row.price_cents),
        "currency": row.currency,
        "barcode": row.barcode,
        "fileNumber": row.file_number,
        "createdAt": isoformat(row.created_at),
    }


def line_json(view: LineView) -> dict[str, Any]:
    row = view.line
    return {
        "id": row.id,
        "ticketId": row.ticket_id,
        "action": row.action,
        "oldContact": contact_json(view.old_contact),
        "newContact": contact_json(view.new_contact),
        "senderEmail": row.sender_email,
        "recipientEmail": row.recipient_email,
        "status": row.status,
        # one field for the two reasons a line can have: a W7 transfer is TRANSFERRED at once, so a
        # line never has both (decisions.md); each is also given on its own
        "reason": row.reason if row.status == "CANCELLED" else row.transfer_reason,
        "failureReason": row.reason,
        "organizerReason": row.transfer_reason,
        "contactMatch": row.contact_match,
        "transferId": row.transfer_id,
        "initiatedBy": row.initiated_by,
        "expiresAt": isoformat(row.expires_at),
        "initiatedAt": isoformat(row.initiated_at),
        "resolvedAt": isoformat(row.resolved_at),
        "recordedAt": isoformat(row.recorded_at),
    }


def interface_json(row: InterfaceView) -> dict[str, Any]:
    """An interface as shown: never the password (the view passed in does not even hold it)."""
    return {
        "id": row.id,
        "name": row.name,
        "type": row.type,
        "url": row.url,
        "login": row.login,
        "notificationEmails": list(row.notification_emails),
        "customParameters": row.custom_parameters,
        "parameters": dict(row.parameters),
        "warnings": list(row.warnings),
        "createdAt": isoformat(row.created_at),
        "updatedAt": isoformat(row.updated_at),
    }


def last_execution_json(row: LastExecution | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {"id": row.id, "status": row.status, "startedAt": isoformat(row.started_at),
            "endedAt": isoformat(row.ended_at)}


def schedule_state_json(state: ScheduleState) -> dict[str, Any]:
    return {
        "lastExecution": last_execution_json(state.last_execution),
        "lastOkAt": isoformat(state.last_ok_at),
        "lagSeconds": state.lag_seconds,
        "parkedRecords": state.parked_records,
    }


def schedule_json(row: ScheduleView, state: ScheduleState) -> dict[str, Any]:
    """A schedule with its state (O4); ``state`` comes from `services.schedule_state`, computed in bulk."""
    return {
        "id": row.id,
        "interfaceId": row.interface_id,
        "function": row.function,
        "launch": row.launch,
        "frequencyMinutes": row.frequency_minutes,
        "startsAt": isoformat(row.starts_at),
        "endsAt": isoformat(row.ends_at),
        "batchSize": row.batch_size,
        "paginationKey": row.pagination_key,
        "skipTicketNumbers": list(row.skip_ticket_numbers),
        "eventCodes": list(row.event_codes),
        "active": row.active,
        "createdAt": isoformat(row.created_at),
        "state": schedule_state_json(state),
    }


def schedules_json(conn: Connection, rows: Sequence[ScheduleView], now: datetime) -> list[dict[str, Any]]:
    """Schedules with their states, computed in bulk (two queries however many schedules)."""
    return [schedule_json(item.schedule, item.state) for item in with_states(conn, rows, now)]


def audit_json(row: AuditEntry) -> dict[str, Any]:
    return {
        "id": row.id,
        "at": isoformat(row.at),
        "actor": row.actor,
        "action": row.action,
        "objectType": row.object_type,
        "objectId": row.object_id,
        "changes": dict(row.changes),
    }


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def log_json(row: LogEntry) -> dict[str, Any]:
    return {"level": row.level, "ticketNumber": row.ticket_number, "contactId": row.contact_id,
            "message": row.message}


def execution_json(row: ExecutionRecord, log: list[LogEntry] | None = None, log_count: int | None = None
                   ) -> dict[str, Any]:
    body = {
        "id": row.id,
        "scheduleId": row.schedule_id,
        "function": row.function,
        "launchedBy": row.launched_by,
        "status": row.status,
        "startedAt": isoformat(row.started_at),
        "endedAt": isoformat(row.ended_at),
        "counters": {_camel(name): value for name, value in row.counters().items()},
    }
    if log is not None:
        body["log"] = [log_json(line) for line in log]
        body["logCount"] = log_count if log_count is not None else len(log)
    return body


def execution_view_json(view: ExecutionView) -> dict[str, Any]:
    return execution_json(view.execution, view.log, view.log_count)


def overview_json(view: Overview) -> dict[str, Any]:
    return {
        "interfaces": [{
            "id": interface.id, "name": interface.name, "featureActive": interface.feature_active,
            "schedules": [schedule_json(item.schedule, item.state) for item in interface.schedules],
        } for interface in view.interfaces],
        "parkedRecords": view.parked_records,
        "pendingTransfers": {"count": view.pending_transfers, "items": [{
            "id": line.id, "ticketId": line.ticket_id, "ticketNumber": line.ticket_number,
            "recipientEmail": line.recipient_email, "initiatedBy": line.initiated_by,
            "initiatedAt": isoformat(line.initiated_at), "expiresAt": isoformat(line.expires_at),
        } for line in view.pending_items]},
        "executionsInError24h": {"since": isoformat(view.error_window_start), "count": view.errors_24h, "items": [{
            "id": run.id, "scheduleId": run.schedule_id, "interfaceId": run.interface_id, "function": run.function,
            "startedAt": isoformat(run.started_at), "endedAt": isoformat(run.ended_at),
        } for run in view.error_items]},
    }
