"""Organizer transfers started from the back office (W7, ``POST /api/tickets/{id}/transfer``).

The back office asks the wallet, through the ticket's TIXNGO interface, to move the ticket to a
recipient at once, with a reason. It writes nothing itself: the wallet's status log is the record,
and the feedback brings the transfer back as a CONFIRMED line with ``initiatedBy: ORGANIZER`` and
the reason (F10), like any other transfer, so there is one path from the wallet to the lines.

The ticket's interface: a ticket does not record which interface injected it, so it is the TIXNGO
interface with an injection schedule for the ticket's event (``eventCodes`` empty = every event);
among several, one whose feature is active (its feedback brings the line back), then the oldest
(docs/decisions.md).

Every wallet refusal becomes a 4xx of our own with the wallet's code (409 stays 409: a pending
transfer, a controlled ticket, a recipient who already owns it; 404: the wallet does not know the
ticket; 400/422: the wallet refused the values); an interface whose credentials the wallet refuses is
a 409 ``INTERFACE_REFUSED`` (the operator's setup, not the caller's credentials); a wallet that cannot
be reached is a 503. Never a 500.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import Connection, Engine, select

from tixtrace.backoffice.db.tables import interfaces, schedules
from tixtrace.backoffice.domain.errors import BackofficeCode
from tixtrace.backoffice.domain.parameters import InvalidParameters, parse_parameters
from tixtrace.backoffice.interfaces.tixngo.client import TixngoClient, WalletRefused, WalletUnavailable
from tixtrace.backoffice.services import audit
from tixtrace.backoffice.services.events import get_event
from tixtrace.backoffice.services.interfaces import interface_credentials
from tixtrace.backoffice.services.schedules import ScheduleFunction
from tixtrace.backoffice.services.tickets import TicketStatus, get_ticket
from tixtrace.backoffice.services.validation import Checker
from tixtrace.kernel.clock import Clock
from tixtrace.kernel.db import unit_of_work
from tixtrace.kernel.errors import BadInput, Conflict, NotFound, TixtraceError, Unavailable

#: the wallet keeps up to 500 characters of reason (W7)
REASON_MAX = 500
#: a transfer is asked for in a request: the retry budget stays well under an HTTP timeout
_CLIENT_OPTIONS: dict[str, Any] = {"timeout": 10.0, "max_attempts": 3, "max_total_seconds": 15.0}


@dataclass(frozen=True)
class OrganizerTransfer:
    """What the wallet answered, and through which interface."""

    ticket_id: int
    ticket_number: str
    interface_id: int
    recipient_email: str
    reason: str
    transfer_id: str
    status: str
    direction: str
    resolved_at: str | None

    def as_json(self) -> dict[str, Any]:
        return {"ticketId": self.ticket_id, "ticketNumber": self.ticket_number, "interfaceId": self.interface_id,
                "recipientEmail": self.recipient_email, "reason": self.reason, "transferId": self.transfer_id,
                "status": self.status, "direction": self.direction, "resolvedAt": self.resolved_at}


def checked_request(recipient_email: Any, reason: Any) -> tuple[str, str]:
    """The recipient's e-mail and the reason, cleaned, or 422 naming each bad field."""
    checker = Checker()
    email = checker.email("recipientEmail", recipient_email, required=True)
    text = checker.text("reason", reason, max_length=REASON_MAX, required=True)
    checker.raise_if_any()
    assert email is not None and text is not None
    return email, text


def ticket_interface(conn: Connection, ticket_id: int) -> tuple[str, int]:
    """The ticket's number and the interface to move it through; 404 unknown ticket, 409 when the
    ticket is not a printed (injected, live) one or no interface injects its event."""
    ticket = get_ticket(conn, ticket_id)
    if ticket.status != TicketStatus.PRINTED.value or ticket.injected_at is None:
        raise Conflict(f"ticket {ticket.number} is {ticket.status}: only a PRINTED ticket, injected in the "
                       "wallet, can be transferred by the organizer", code=BackofficeCode.TICKET_NOT_TRANSFERABLE,
                       details={"ticketId": ticket_id, "status": ticket.status})
    event_code = get_event(conn, ticket.event_id).code
    rows = conn.execute(select(interfaces.c.id, interfaces.c.custom_parameters, schedules.c.event_codes)
                        .select_from(schedules.join(interfaces, interfaces.c.id == schedules.c.interface_id))
                        .where(schedules.c.function == ScheduleFunction.TICKETS_INJECTION.value,
                               interfaces.c.type == "TIXNGO")
                        .order_by(interfaces.c.id)).all()
    candidates = sorted({(not _feature_active(row.custom_parameters), row.id)
                         for row in rows if not row.event_codes or event_code in row.event_codes})
    if not candidates:
        raise Conflict(f"no TIXNGO interface injects event {event_code}: nothing to send the transfer through",
                       code=BackofficeCode.NO_INTERFACE_FOR_TICKET,
                       details={"ticketId": ticket_id, "eventCode": event_code})
    return str(ticket.number), candidates[0][1]


def _feature_active(text: str) -> bool:
    try:
        return parse_parameters(text).feature_active
    except InvalidParameters:  # saved under older rules: its feedback would not run either
        return False


def transfer_ticket(engine: Engine, ticket_id: int, recipient_email: Any, reason: Any, *, actor: str, clock: Clock,
                    transport: httpx.BaseTransport | None = None,
                    client_options: dict[str, Any] | None = None) -> OrganizerTransfer:
    """W7 through the ticket's interface. Reads in one unit of work, then calls the wallet outside any
    transaction (house rule 4); the ticket itself is not written here (the feedback records the
    outcome). Once the wallet has accepted, the audit entry (O2: who asked, the recipient, the reason,
    the wallet's transferId) is written in a unit of its own: there is no back-office change to share
    a transaction with, and a refused transfer leaves no entry."""
    email, text = checked_request(recipient_email, reason)
    with unit_of_work(engine, write=False) as conn:
        number, interface_id = ticket_interface(conn, ticket_id)
        credentials = interface_credentials(conn, interface_id)
    options = {**_CLIENT_OPTIONS, **(client_options or {})}
    try:
        with TixngoClient(credentials.url, credentials.login, credentials.password, transport=transport,
                          **options) as client:
            body = client.transfer(number, email, text)
    except WalletRefused as exc:
        raise _refusal(exc, number, interface_id) from None
    except WalletUnavailable:
        raise Unavailable(f"the wallet could not be reached to transfer ticket {number}; nothing changed in the "
                          "back office; check the ticket's distribution history after the next feedback before "
                          "trying again", code=BackofficeCode.WALLET_UNAVAILABLE,
                          details={"ticketNumber": number, "interfaceId": interface_id}) from None
    done = OrganizerTransfer(ticket_id, number, interface_id, email, text, str(body.get("transferId")),
                             str(body.get("status")), str(body.get("direction")), body.get("resolvedAt"))
    with unit_of_work(engine) as conn:
        audit.record(conn, actor=actor, action=audit.Action.TRANSFER, object_type=audit.ObjectType.TICKET,
                     object_id=ticket_id, changes={"recipientEmail": [None, email], "reason": [None, text],
                                                   "transferId": [None, done.transfer_id]}, at=clock.now())
    return done


def _refusal(exc: WalletRefused, number: str, interface_id: int) -> TixtraceError:
    status = int(exc.details.get("status", 0))
    wallet_code = str(exc.details.get("walletCode", "WALLET_REFUSED"))
    details = {"ticketNumber": number, "interfaceId": interface_id, "walletStatus": status, "walletCode": wallet_code}
    message = f"the wallet refused the transfer of ticket {number}: {exc.message.split(': ', 1)[-1]}"
    if status == 404:
        return NotFound(message, code=BackofficeCode.TICKET_NOT_IN_WALLET, details=details)
    if status in (401, 403):
        return Conflict(f"the wallet refused the credentials of interface {interface_id}; check its login and "
                        "password", code=BackofficeCode.INTERFACE_REFUSED, details=details)
    if status in (400, 422):
        return BadInput(message, code=wallet_code, details=details)
    return Conflict(message, code=wallet_code, details=details)
