"""The CSV files the back office gives out: an event's holders and a ticket's distribution history.

Both are made from the services' views, one page at a time (`csv_chunk` turns a page of rows into
text; `services.holders.holder_pages` and `history_pages` read the pages, each in a read-only unit of
its own), so that the API streams them and the command line writes them with constant memory. Every
cell goes through `kernel.csv.safe_cell` (a name such as ``=HYPERLINK(...)`` typed by a spectator
reaches the organizer's spreadsheet as text, never as a formula). Times are RFC 3339 UTC, as in the
JSON; the header row uses the JSON field names, flattened (``culturalContactEmail``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import Engine

from tixtrace.backoffice.services.contacts import ContactView
from tixtrace.backoffice.services.holders import HolderView
from tixtrace.backoffice.services.tickets import LineView, distribution_history
from tixtrace.kernel.clock import isoformat
from tixtrace.kernel.csv import safe_cell
from tixtrace.kernel.db import unit_of_work

#: distribution lines per page of the history file
HISTORY_PAGE = 500

HOLDER_COLUMNS = (
    "ticketNumber", "seat", "status", "mobileStatus",
    "culturalContactFirstName", "culturalContactLastName", "culturalContactEmail",
    "ownerFirstName", "ownerLastName", "ownerEmail",
    "walletOwnerEmail", "ticketHolderFirstName", "ticketHolderLastName", "ticketHolderEmail",
    "pendingTransferRecipientEmail", "pendingTransferExpiresAt", "lastSyncedAt",
)

HISTORY_COLUMNS = (
    "ticketNumber", "action", "initiatedBy", "status", "oldContactFirstName", "oldContactLastName",
    "oldContactEmail", "senderEmail", "newContactFirstName", "newContactLastName", "newContactEmail",
    "recipientEmail", "reason", "transferReason", "contactMatch", "transferId", "initiatedAt", "expiresAt",
    "resolvedAt", "recordedAt",
)


def csv_chunk(rows: Iterable[Sequence[Any]]) -> str:
    """The CSV text of `rows` (CRLF line ends, RFC 4180), every cell made safe."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerows([safe_cell(value) for value in row] for row in rows)
    return buffer.getvalue()


def _person(contact: ContactView | None) -> tuple[str | None, str | None, str | None]:
    if contact is None:
        return None, None, None
    return contact.first_name, contact.last_name, contact.email


def _profile(profile: Any) -> tuple[Any, Any, Any]:
    if not isinstance(profile, dict):
        return None, None, None
    return profile.get("firstName"), profile.get("lastName"), profile.get("email")


def holder_row(view: HolderView) -> tuple[Any, ...]:
    pending = view.pending_transfer
    return (view.ticket_number, view.seat, view.status, view.mobile_status, *_person(view.cultural_contact),
            *_person(view.owner), view.wallet_owner_email, *_profile(view.ticket_holder),
            pending.recipient_email if pending else None, isoformat(pending.expires_at) if pending else None,
            isoformat(view.last_synced_at))


def holders_csv(pages: Iterable[list[HolderView]]) -> Iterator[str]:
    """The header, then one chunk of text per page of holders."""
    yield csv_chunk([HOLDER_COLUMNS])
    for views in pages:
        yield csv_chunk(holder_row(view) for view in views)


def history_row(ticket_number: str, view: LineView) -> tuple[Any, ...]:
    line = view.line
    return (ticket_number, line.action, line.initiated_by, line.status, *_person(view.old_contact),
            line.sender_email, *_person(view.new_contact), line.recipient_email, line.reason,
            line.transfer_reason, line.contact_match, line.transfer_id, isoformat(line.initiated_at),
            isoformat(line.expires_at), isoformat(line.resolved_at), isoformat(line.recorded_at))


def history_csv(ticket_number: str, pages: Iterable[list[LineView]]) -> Iterator[str]:
    """The header, then one chunk of text per page of distribution lines (wallet order)."""
    yield csv_chunk([HISTORY_COLUMNS])
    for views in pages:
        yield csv_chunk(history_row(ticket_number, view) for view in views)


def history_pages(engine: Engine, ticket_id: int, *, page_size: int | None = None) -> Iterator[list[LineView]]:
    """The ticket's distribution lines in wallet order, a page at a time (`HISTORY_PAGE` by default),
    each read in a unit of its own (404 TICKET_NOT_FOUND from the first page when the ticket does not exist)."""
    page_size = page_size or HISTORY_PAGE
    after: tuple[int, int] | None = None
    while True:
        with unit_of_work(engine, write=False) as conn:
            views, last = distribution_history(conn, ticket_id, after=after, limit=page_size)
        if views:
            yield views
        if last is None:
            return
        after = last
