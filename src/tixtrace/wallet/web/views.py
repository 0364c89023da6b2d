"""What the page shows, built from the services' typed views: ticket cards, transfers, times left.

Time left is ``expiresAt - now`` with ``now`` from the app's clock (the sandbox TestClock), never
the machine's time, so a test that advances the clock sees the page count down. Everything here is
a read: listing the tickets is the app syncing (W2, INJECTED → DOWNLOADED), exactly like
``GET /spectator/tickets``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from tixtrace.kernel.clock import Clock, as_utc, isoformat
from tixtrace.wallet.services import spectators, transfers
from tixtrace.wallet.services.spectators import Account, MyTicket
from tixtrace.wallet.services.transfers import TransferView

PAGE_SIZE = 500
MAX_PAGES = 20  # 10,000 tickets or transfers: far beyond one spectator's wallet
PAST_SHOWN = 50

#: statuses in which the owner may still assign a holder or transfer (W3, W4, W8)
ACTIVE = {"INJECTED", "DOWNLOADED", "ASSIGNED", "PENDING_TRANSFER", "TRANSFERRED", "FAILURE_TRANSFER", "FAILURE"}

STATUS_LABELS = {
    "INJECTED": "New", "DOWNLOADED": "In my wallet", "ASSIGNED": "Assigned", "PENDING_TRANSFER": "Transfer pending",
    "TRANSFERRED": "Received", "FAILURE_TRANSFER": "In my wallet", "FAILURE": "In my wallet",
    "CONTROLLED": "Used (controlled)", "DELETION_PENDING": "Being deleted", "DELETED": "Deleted",
}


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return as_utc(datetime.fromisoformat(value))
    except ValueError:
        return None


def when(value: str | None) -> str:
    """``Thu 11 Jun 2026, 19:00 UTC`` for an RFC 3339 time; the text itself when it is not one."""
    moment = parse_time(value)
    if moment is None:
        return value or ""
    return moment.strftime("%a %d %b %Y, %H:%M UTC")


def human_left(seconds: int) -> str:
    if seconds <= 0:
        return "expired"
    if seconds < 60:
        return "less than a minute left"
    hours, minutes = divmod(seconds // 60, 60)
    if hours >= 24:
        days, hours = divmod(hours, 24)
        return f"{days} d {hours} h left"
    return f"{hours} h {minutes:02d} min left" if hours else f"{minutes} min left"


@dataclass(frozen=True)
class TimeLeft:
    seconds: int
    text: str
    until: str


def time_left(expires_at: str | None, now: datetime) -> TimeLeft | None:
    moment = parse_time(expires_at)
    if moment is None:
        return None
    seconds = max(0, int((moment - now).total_seconds()))
    return TimeLeft(seconds, human_left(seconds), moment.strftime("%H:%M UTC, %d %b"))


def person(profile: dict[str, Any] | None) -> str:
    if not profile:
        return ""
    return " ".join(str(part) for part in (profile.get("firstName"), profile.get("lastName")) if part)


@dataclass(frozen=True)
class EventLine:
    """What a card says of a ticket's event: its name, its start, and where."""

    name: str
    when: str
    venue: str


def event_line(event: dict[str, Any] | None) -> EventLine:
    event = event or {}
    address = event.get("address") or {}
    return EventLine(name=event.get("name") or event.get("id") or "Event", when=when(event.get("startTime")),
                     venue=", ".join(part for part in (address.get("site"), address.get("city")) if part))


@dataclass
class TicketCard:
    wallet_ticket_id: str  # what the card's forms send: names this ticket even if another organizer's shares its id
    ticket_id: str
    status: str
    status_label: str
    event: EventLine
    holder: str
    active: bool
    pending: spectators.PendingTransfer | None = None
    pending_left: TimeLeft | None = None


@dataclass
class TransferRow:
    transfer_id: str
    ticket_id: str
    role: str
    status: str
    other: str  # the other party's e-mail
    when: str
    event: EventLine
    outcome: str = ""
    left: TimeLeft | None = None


@dataclass
class WalletView:
    tickets: list[TicketCard] = field(default_factory=list)
    incoming: list[TransferRow] = field(default_factory=list)
    past: list[TransferRow] = field(default_factory=list)
    past_hidden: int = 0
    profile_complete: bool = True


def _all_tickets(conn: Connection, clock: Clock, me: Account) -> list[MyTicket]:
    items: list[MyTicket] = []
    cursor: str | None = None
    for _ in range(MAX_PAGES):
        page = spectators.list_tickets(conn, clock, me, cursor, PAGE_SIZE)
        items += page.items
        cursor = page.next_cursor
        if cursor is None:
            break
    return items


def _all_transfers(conn: Connection, clock: Clock, me: Account) -> list[TransferView]:
    items: list[TransferView] = []
    cursor: str | None = None
    for _ in range(MAX_PAGES):
        page = transfers.list_transfers(conn, clock, me, cursor, PAGE_SIZE)
        items += page.items
        cursor = page.next_cursor
        if cursor is None:
            break
    return items


def ticket_card(item: MyTicket, now: datetime) -> TicketCard:
    event = event_line(item.event)
    pending = item.pending
    status = item.status.value
    return TicketCard(
        wallet_ticket_id=item.wallet_ticket_id, ticket_id=item.ticket_id, status=status,
        status_label=STATUS_LABELS.get(status, status), event=event,
        holder=person(item.holder), active=status in ACTIVE, pending=pending,
        pending_left=time_left(isoformat(pending.expires_at), now) if pending else None,
    )


def outcome(item: TransferView) -> str:
    status, reason = item.status, item.failure_reason
    if status == "ACCEPTED":
        if item.initiated_by == "ORGANIZER":
            return "Moved by the organizer"
        return "Returned at once" if item.direction == "BACKWARD" else "Accepted"
    if status == "REJECTED":
        return "Rejected by the recipient"
    if status == "CANCELLED":
        return "Cancelled by the sender"
    if status == "EXPIRED":
        return "Expired: not accepted in time"
    if reason == "TICKET_CONTROLLED":
        return "Failed: the ticket was controlled"
    if reason == "TICKET_DELETED":
        return "Failed: the ticket was deleted"
    return f"Failed ({reason})" if reason else status.capitalize()


def transfer_row(item: TransferView, now: datetime) -> TransferRow:
    incoming = item.role == "INCOMING"
    row = TransferRow(
        transfer_id=item.transfer_id, ticket_id=item.ticket_id, role=item.role, status=item.status,
        other=item.sender_email if incoming else item.recipient_email,
        when=when(isoformat(item.resolved_at or item.expires_at or item.created_at)), event=event_line(item.event),
    )
    if item.status == "PENDING":
        row.left = time_left(isoformat(item.expires_at), now)
    else:
        row.outcome = outcome(item)
        if item.status == "EXPIRED" and not item.resolved_at:
            row.when = when(isoformat(item.expires_at))
    return row


def wallet_view(conn: Connection, clock: Clock, me: Account) -> WalletView:
    """Tickets (syncing them first, W2: the caller's unit of work writes), then transfers in and past,
    then the profile check."""
    items = _all_tickets(conn, clock, me)
    now = clock.now()
    view = WalletView(tickets=[ticket_card(item, now) for item in items])
    past: list[TransferRow] = []
    for item in _all_transfers(conn, clock, me):
        row = transfer_row(item, now)
        if row.status != "PENDING":
            past.append(row)
        elif row.role == "INCOMING":
            view.incoming.append(row)
        # a pending transfer I sent shows once, on its ticket's card (the sender keeps the ticket, W4)
    past.reverse()  # most recent first
    view.past, view.past_hidden = past[:PAST_SHOWN], max(0, len(past) - PAST_SHOWN)
    if view.incoming:
        view.profile_complete = spectators.get_profile(conn, me).complete
    return view
