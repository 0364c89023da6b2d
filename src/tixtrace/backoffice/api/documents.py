"""The back-office API's response shapes, as the OpenAPI document declares them (DESIGN section 7).

The routes render bodies with the ``*_json`` functions of `tixtrace.backoffice.api.schemas`; these
models only document them (``documented(...)``: no output validation at run time, nothing filtered).
The schemathesis tests hold every answer to them, so a renderer and its model cannot drift apart.
Every field is required (present, null when unknown), as the contract says.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import Field

from tixtrace.kernel.web import ApiResponse


class Venue(ApiResponse):
    site: str
    city: str
    zip: str
    country_code: str


class ContactOut(ApiResponse):
    id: int
    kind: str
    reference: str | None
    title: str | None
    first_name: str | None
    last_name: str
    email: str | None
    phone: str | None
    mobile_phone: str | None
    birth_date: date | None
    nationality: str | None
    id_number: str | None
    country: str | None
    language: str | None
    allow_promo_email: bool | None
    allow_third_party_email: bool | None
    has_internet_account: bool
    is_temporary: bool
    created_at: datetime


class EventOut(ApiResponse):
    id: int
    code: str
    name: str
    start_time: datetime
    end_time: datetime | None
    venue: Venue
    created_at: datetime
    max_transfers: int | None


class TicketOut(ApiResponse):
    id: int
    number: str
    event_code: str
    status: str
    mobile_status: str | None
    cultural_contact: ContactOut
    owner: ContactOut | None
    buyer: ContactOut | None
    wallet_owner: dict[str, Any] | None
    ticket_holder: dict[str, Any] | None
    replaces_ticket_id: int | None
    last_synced_at: datetime | None
    seat: str | None
    price: int | float | None
    currency: str | None
    barcode: str | None
    file_number: str | None
    created_at: datetime


class LineOut(ApiResponse):
    id: int
    ticket_id: int
    action: Literal["DISTRIBUTE", "TAKE_BACK"]
    old_contact: ContactOut | None
    new_contact: ContactOut | None
    sender_email: str | None
    recipient_email: str | None
    status: Literal["PENDING", "CONFIRMED", "CANCELLED"]
    reason: str | None = Field(description="CANCELLED: why the transfer failed; otherwise the organizer's "
                                           "reason of an ORGANIZER transfer")
    failure_reason: str | None
    organizer_reason: str | None
    contact_match: str | None
    transfer_id: str | None
    initiated_by: Literal["SPECTATOR", "ORGANIZER"]
    expires_at: datetime | None
    initiated_at: datetime | None
    resolved_at: datetime | None
    recorded_at: datetime


class OrganizerTransferOut(ApiResponse):
    """The wallet's answer to an organizer transfer; the line comes with the next feedback."""

    ticket_id: int
    ticket_number: str
    interface_id: int
    recipient_email: str
    reason: str
    transfer_id: str
    status: str
    direction: Literal["FORWARD", "BACKWARD"]
    resolved_at: datetime | None


class InterfaceOut(ApiResponse):
    """Never a password."""

    id: int
    name: str
    type: str
    url: str
    login: str
    notification_emails: list[str]
    custom_parameters: str
    parameters: dict[str, Any]
    warnings: list[str]
    created_at: datetime
    updated_at: datetime | None


class LastExecutionOut(ApiResponse):
    id: int
    status: Literal["RUNNING", "OK", "WARNING", "ERROR"]
    started_at: datetime
    ended_at: datetime | None


class ScheduleStateOut(ApiResponse):
    """O4: lagSeconds is now minus the start of the latest run that did all its work (the feedback: read
    the feed to its end), null before the first; lastOkAt is the end of the latest OK execution."""

    last_execution: LastExecutionOut | None
    last_ok_at: datetime | None
    lag_seconds: int | None
    parked_records: int


class ScheduleOut(ApiResponse):
    id: int
    interface_id: int
    function: str
    launch: str
    frequency_minutes: int | None
    starts_at: datetime | None
    ends_at: datetime | None
    batch_size: int
    pagination_key: str | None
    skip_ticket_numbers: list[str]
    event_codes: list[str]
    active: bool
    created_at: datetime
    state: ScheduleStateOut


class AuditOut(ApiResponse):
    """One audit entry (O2): ``changes`` is ``{field: [before, after]}``; a password shows as
    ``["(secret)", "(secret)"]``, never its value."""

    id: int
    at: datetime
    actor: str
    action: str
    object_type: Literal["interface", "schedule", "ticket", "user"]
    object_id: int
    changes: dict[str, list[Any]]


class AuditPage(ApiResponse):
    items: list[AuditOut]
    next_cursor: str | None


class Counters(ApiResponse):
    records_read: int
    tickets_updated: int
    contacts_created: int
    contacts_completed: int
    contacts_removed: int
    lines_created: int
    lines_updated: int
    skipped: int
    failed: int
    parked: int


class LogLineOut(ApiResponse):
    level: str
    ticket_number: str | None
    contact_id: int | None
    message: str


class ExecutionOut(ApiResponse):
    id: int
    schedule_id: int
    function: str
    launched_by: str | None
    status: Literal["RUNNING", "OK", "WARNING", "ERROR"]
    started_at: datetime
    ended_at: datetime | None
    counters: Counters
    log: list[LogLineOut]
    log_count: int


class ExecutionSummaryOut(ApiResponse):
    """An execution in a list: every field but its log."""

    id: int
    schedule_id: int
    function: str
    launched_by: str | None
    status: Literal["RUNNING", "OK", "WARNING", "ERROR"]
    started_at: datetime
    ended_at: datetime | None
    counters: Counters


class ExecutionPage(ApiResponse):
    items: list[ExecutionSummaryOut]
    next_cursor: str | None


class ContactPage(ApiResponse):
    items: list[ContactOut]
    next_cursor: str | None
    total: int = Field(description="how many match, over every page")


class EventPage(ApiResponse):
    items: list[EventOut]
    next_cursor: str | None


class TicketPage(ApiResponse):
    items: list[TicketOut]
    next_cursor: str | None
    total: int = Field(description="how many match, over every page")


class LinePage(ApiResponse):
    items: list[LineOut]
    next_cursor: str | None


class InterfacePage(ApiResponse):
    items: list[InterfaceOut]
    next_cursor: str | None


class SchedulePage(ApiResponse):
    items: list[ScheduleOut]
    next_cursor: str | None


class LogPage(ApiResponse):
    items: list[LogLineOut]
    next_cursor: str | None


class InterfaceOverviewOut(ApiResponse):
    id: int
    name: str
    feature_active: bool
    schedules: list[ScheduleOut]


class OverviewPendingTransferOut(ApiResponse):
    """A pending transfer as the overview lists it (the holders export has its own, shorter one)."""

    id: int
    ticket_id: int
    ticket_number: str
    recipient_email: str | None
    initiated_by: str
    initiated_at: datetime
    expires_at: datetime | None


class PendingTransfersOut(ApiResponse):
    count: int
    items: list[OverviewPendingTransferOut]


class FailedExecutionOut(ApiResponse):
    id: int
    schedule_id: int
    interface_id: int
    function: str
    started_at: datetime
    ended_at: datetime | None


class ExecutionsInErrorOut(ApiResponse):
    since: datetime
    count: int
    items: list[FailedExecutionOut]


class OverviewOut(ApiResponse):
    interfaces: list[InterfaceOverviewOut]
    parked_records: int
    pending_transfers: PendingTransfersOut
    executions_in_error24h: ExecutionsInErrorOut = Field(alias="executionsInError24h")


class PendingTransferOut(ApiResponse):
    recipient_email: str | None
    expires_at: datetime | None


class HolderOut(ApiResponse):
    """One ticket of an event and who has it (the holders export, DESIGN 7)."""

    ticket_number: str
    seat: str | None
    status: str
    mobile_status: str | None
    cultural_contact: ContactOut | None
    owner: ContactOut | None
    wallet_owner_email: str | None
    ticket_holder: dict[str, Any] | None
    pending_transfer: PendingTransferOut | None
    last_synced_at: datetime | None


class HolderPage(ApiResponse):
    items: list[HolderOut]
    next_cursor: str | None
