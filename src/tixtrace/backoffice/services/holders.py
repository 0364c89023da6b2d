"""Who holds each ticket of an event (DESIGN 7: ``/api/events/{code}/holders``), for match-day access control.

One holder per ticket: its cultural contact and owner (back office), the wallet owner's e-mail and the
ticket holder (what the feedback last learnt from the wallet), and the transfer pending on it, if any.

Read in keyset pages of tickets in id order (``ix_tickets_event_id_id``: a page costs one index range
however far the reader is), each page with three queries whatever its size (the tickets, their
contacts, their pending lines). `holder_pages` reads an event page after page, each page in a read-only
unit of its own, so that an export of 100,000 tickets holds neither a long transaction nor more than one
page in memory: it is what the CSV download and ``tixtrace backoffice export-holders`` stream. A ticket
is listed once (the keyset never goes back), and tickets created during the export after the page it
would fall in are listed too (ids grow).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from tixtrace.backoffice.db.tables import distribution_lines, tickets
from tixtrace.backoffice.domain.errors import BackofficeCode
from tixtrace.backoffice.services.contacts import ContactView, get_contacts
from tixtrace.backoffice.services.events import EventView, events_by_code
from tixtrace.backoffice.services.validation import Checker
from tixtrace.backoffice.services.views import view_of
from tixtrace.kernel.bulk import one_of
from tixtrace.kernel.db import unit_of_work
from tixtrace.kernel.errors import NotFound

#: tickets per page of an export (three queries each)
EXPORT_PAGE = 1000


@dataclass(frozen=True)
class PendingTransfer:
    recipient_email: str | None
    expires_at: datetime | None


@dataclass(frozen=True)
class HolderView:
    """One ticket of an event and who has it."""

    ticket_id: int
    ticket_number: str
    seat: str | None
    status: str
    mobile_status: str | None
    cultural_contact: ContactView | None
    owner: ContactView | None
    wallet_owner_email: str | None
    ticket_holder: Any  # the wallet's profile, as the feedback stored it
    pending_transfer: PendingTransfer | None
    last_synced_at: datetime | None


def event_by_code(conn: Connection, code: str) -> EventView:
    """The event of `code`; 422 when it cannot be a code (the shape events are created with), 404
    EVENT_NOT_FOUND naming it when no event has it."""
    checker = Checker()
    checker.code("eventCode", code, required=True)
    checker.raise_if_any()
    row = events_by_code(conn, [code]).get(code)
    if row is None:
        raise NotFound(f"event {code!r} does not exist", code=BackofficeCode.EVENT_NOT_FOUND,
                       details={"eventCode": code})
    return view_of(EventView, row)


def count_holders(conn: Connection, event_id: int) -> int:
    return int(conn.execute(select(func.count()).select_from(tickets).where(tickets.c.event_id == event_id))
               .scalar_one())


def holders_page(conn: Connection, event_id: int, *, after_id: int = 0,
                 limit: int = EXPORT_PAGE) -> tuple[list[HolderView], int | None]:
    """The holders of the event's tickets with ids above `after_id` (at most `limit`, id order), and
    the last id when there are more."""
    query = (select(tickets.c.id, tickets.c.number, tickets.c.seat, tickets.c.status, tickets.c.mobile_status,
                    tickets.c.cultural_contact_id, tickets.c.owner_contact_id, tickets.c.wallet_owner,
                    tickets.c.last_wallet_owner_email, tickets.c.ticket_holder, tickets.c.last_synced_at)
             .where(tickets.c.event_id == event_id, tickets.c.id > after_id)
             .order_by(tickets.c.id).limit(limit + 1))
    rows = list(conn.execute(query).mappings())
    more = len(rows) > limit
    rows = rows[:limit]
    if not rows:
        return [], None
    people = get_contacts(conn, {cid for row in rows for cid in (row["cultural_contact_id"], row["owner_contact_id"])})
    pending = _pending_transfers(conn, [row["id"] for row in rows])
    views = [HolderView(
        ticket_id=row["id"], ticket_number=row["number"], seat=row["seat"], status=row["status"],
        mobile_status=row["mobile_status"], cultural_contact=people.get(row["cultural_contact_id"]),
        owner=people.get(row["owner_contact_id"]),
        wallet_owner_email=row["last_wallet_owner_email"] or (row["wallet_owner"] or {}).get("email"),
        ticket_holder=row["ticket_holder"], pending_transfer=pending.get(row["id"]),
        last_synced_at=row["last_synced_at"]) for row in rows]
    return views, (rows[-1]["id"] if more else None)


def _pending_transfers(conn: Connection, ticket_ids: list[int]) -> dict[int, PendingTransfer]:
    """The transfer pending on each ticket (the latest in wallet order, should there be two)."""
    lines = distribution_lines.c
    query = (select(lines.ticket_id, lines.recipient_email, lines.expires_at)
             .where(one_of(conn, lines.ticket_id, ticket_ids), lines.status == "PENDING")
             .order_by(lines.ticket_id, lines.opened_record_id, lines.id))
    return {row.ticket_id: PendingTransfer(row.recipient_email, row.expires_at) for row in conn.execute(query)}


def holder_pages(engine: Engine, event_id: int, *, page_size: int | None = None) -> Iterator[list[HolderView]]:
    """Every holder of the event, a page at a time (`EXPORT_PAGE` tickets by default), each page read in
    a read-only unit of its own."""
    page_size = page_size or EXPORT_PAGE
    after = 0
    while True:
        with unit_of_work(engine, write=False) as conn:
            views, last = holders_page(conn, event_id, after_id=after, limit=page_size)
        if views:
            yield views
        if last is None:
            return
        after = last
