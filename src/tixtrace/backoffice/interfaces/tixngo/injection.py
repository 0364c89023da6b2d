"""Tickets external printing (injection, I1-I2): NOT_PRINTED tickets go to the wallet.

Tickets are taken in id order, ``ticketIterationSize`` per wallet call (optionally only the
schedule's events). Each accepted ticket (INJECTED, or ALREADY_INJECTED after a crash) is marked
PRINTED, with its PRINT history row (``services.tickets.move_tickets``, one statement per batch), in
the transaction that follows the call; a refused one stays NOT_PRINTED and is logged with the
wallet's reason. I2: with the feature active and overlaySpectatorDetailsWithLastOwner not true the
execution warns (as the feedback does); a reprint whose last wallet owner has no name falls back to
the cultural contact with an INFO line naming the ticket. Re-running never injects twice: the wallet is idempotent by
``ticketId`` and the selection only sees NOT_PRINTED tickets.

O3: the log says what was selected (one line: tickets, wallet calls, event filter) and one line per
ticket printed (or injected but cancelled meanwhile), by its number.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, and_, select, update
from sqlalchemy.orm import aliased

from tixtrace.backoffice.db.tables import contacts, events, tickets
from tixtrace.backoffice.domain.executions import LogLevel
from tixtrace.backoffice.domain.tickets import TicketAction, TicketStatus
from tixtrace.backoffice.interfaces.tixngo.run import Run
from tixtrace.backoffice.services.tickets import move_tickets
from tixtrace.kernel.clock import isoformat
from tixtrace.kernel.db import unit_of_work


def spectator_details(contact: Any) -> dict[str, Any]:
    """A contact as the wallet's spectatorDetails (the inverse of mapping C3)."""
    details: dict[str, Any] = {
        "title": contact.title, "firstName": contact.first_name, "lastName": contact.last_name,
        "email": contact.email, "dateOfBirth": contact.birth_date.isoformat() if contact.birth_date else None,
        "nationality": contact.nationality, "idCardNumber": contact.id_number,
        "phoneNumber": contact.mobile_phone or contact.phone, "residenceCountry": contact.country,
        "language": contact.language,
    }
    if contact.allow_promo_email is not None or contact.allow_third_party_email is not None:
        details["organizerSpectatorPreference"] = {"allowPromoEmail": bool(contact.allow_promo_email),
                                                   "allowThirdPartyEmail": bool(contact.allow_third_party_email)}
    return {key: value for key, value in details.items() if value is not None}


def _page(conn: Connection, ctx: Run, after: int, size: int) -> list[Any]:
    replaced = aliased(tickets)
    condition = and_(tickets.c.status == TicketStatus.NOT_PRINTED.value, tickets.c.id > after)
    codes = list(ctx.schedule.event_codes or ())
    if codes:
        condition = and_(condition, events.c.code.in_(codes))
    query = (
        select(tickets, events.c.code, events.c.name.label("event_name"), events.c.start_time, events.c.end_time,
               events.c.venue_site, events.c.venue_city, events.c.venue_zip, events.c.venue_country_code,
               events.c.max_transfers,
               *[c.label(f"cc_{c.name}") for c in contacts.c],
               replaced.c.wallet_owner.label("replaced_wallet_owner"))
        .join(events, events.c.id == tickets.c.event_id)
        .join(contacts, contacts.c.id == tickets.c.cultural_contact_id)
        .outerjoin(replaced, replaced.c.id == tickets.c.replaces_ticket_id)
        .where(condition).order_by(tickets.c.id).limit(size)
    )
    return list(conn.execute(query).all())


class _Prefixed:
    """Attribute access to the ``cc_``-prefixed contact columns of a joined row."""

    def __init__(self, row: Any) -> None:
        self._row = row

    def __getattr__(self, name: str) -> Any:
        return getattr(self._row, f"cc_{name}")


def _last_owner(row: Any) -> dict[str, Any] | None:
    """The replaced ticket's last wallet owner as spectatorDetails, when known with an e-mail and a name."""
    if row.replaces_ticket_id is None or not row.replaced_wallet_owner:
        return None
    last_owner = {k: v for k, v in dict(row.replaced_wallet_owner).items() if v is not None}
    if last_owner.get("email") and last_owner.get("firstName") and last_owner.get("lastName"):
        return last_owner
    return None


def falls_back_to_the_cultural_contact(row: Any, *, overlay: bool) -> bool:
    """I2: a reprint meant for the last wallet owner (overlay false) whose last owner is known but
    without an e-mail or a name goes to the cultural contact instead; the run logs it."""
    return not overlay and row.replaces_ticket_id is not None and bool(row.replaced_wallet_owner) \
        and _last_owner(row) is None


def payload(row: Any, *, overlay: bool) -> dict[str, Any]:
    """I1 payload; I2: a reprint goes to the replaced ticket's last wallet owner unless overlay=true;
    I3: the event's maxTransfers, when it sets one, as transferRules.maxTransfers."""
    spectator = spectator_details(_Prefixed(row))
    last_owner = None if overlay else _last_owner(row)
    if last_owner is not None:
        spectator = last_owner
    price = row.price_cents / 100 if row.price_cents is not None else None
    purchase = {"fileNumber": row.file_number, "price": price, "currency": row.currency}
    event = {"id": row.code, "name": row.event_name, "startTime": isoformat(row.start_time),
             "address": {"site": row.venue_site, "city": row.venue_city, "zip": row.venue_zip,
                         "countryCode": row.venue_country_code}}
    if row.end_time is not None:
        event["expirationDate"] = isoformat(row.end_time)
    body: dict[str, Any] = {"ticketId": row.number, "event": event,
                            "purchaseDetails": {k: v for k, v in purchase.items() if v is not None},
                            "security": {"barcode": row.barcode}, "spectatorDetails": spectator}
    if row.max_transfers is not None:  # I3: no transferRules at all means no limit
        body["transferRules"] = {"maxTransfers": row.max_transfers}
    return body


def run(ctx: Run) -> None:
    size = ctx.parameters.ticket_iteration_size
    overlay = ctx.parameters.overlay_spectator_details_with_last_owner
    if ctx.parameters.feature_active and not overlay:  # I2: the injection warns too, not only the feedback
        ctx.log(LogLevel.WARNING, "enableTicketDistributionToCulturalContact is active but "
                                  "overlaySpectatorDetailsWithLastOwner is not true: add "
                                  "overlaySpectatorDetailsWithLastOwner=true so that injected and reprinted "
                                  "tickets go to their cultural contact")
    after, selected, calls = 0, 0, 0
    try:
        while True:
            rows = _inject_page(ctx, after, size, overlay=overlay)
            if not rows:  # went through every ticket it selected (O4)
                ctx.caught_up = True
                return
            selected, calls, after = selected + len(rows), calls + 1, rows[-1].id
    finally:  # written by the runner's last flush, whether the run ends OK or failed; an idle run says nothing
        events = ", ".join(ctx.schedule.event_codes or ()) or "every event"
        if selected:
            ctx.log(LogLevel.INFO, f"selected {selected} NOT_PRINTED ticket(s) of {events} in {calls} wallet "
                                   f"call(s) of up to {size}")


def _inject_page(ctx: Run, after: int, size: int, *, overlay: bool) -> list[Any]:
    """Inject the next page of NOT_PRINTED tickets after id ``after``; returns the page (empty: done)."""
    with unit_of_work(ctx.engine) as conn:
        rows = _page(conn, ctx, after, size)
        # sent, maybe: marked before the call, so a crash after the wallet took the tickets, or a
        # cancel racing this run, still leaves them to push cancelled (which tolerates NOT_FOUND)
        _set_injected_at(conn, [row.id for row in rows], ctx.clock.now())
    if not rows:
        return rows
    for row in rows:  # no personal data in the log (DESIGN section 10): the ticket number says which
        if falls_back_to_the_cultural_contact(row, overlay=overlay):
            ctx.log(LogLevel.INFO, "reprint: the last wallet owner of the replaced ticket has no name or "
                                   "e-mail; spectatorDetails taken from the cultural contact", row.number)
    results = {r["ticketId"]: r for r in ctx.client.inject([payload(row, overlay=overlay) for row in rows])}
    accepted, refused = [], []
    for row in rows:
        result = results.get(row.number, {"result": "REJECTED", "error": "no result from the wallet"})
        if result["result"] in ("INJECTED", "ALREADY_INJECTED"):
            accepted.append(row)
        else:
            refused.append(row.id)
            ctx.count("failed")
            ctx.log(LogLevel.WARNING, f"refused by the wallet: {result.get('error')}", row.number)
    before = ctx.report()  # a write that fails takes its "printed" lines with it
    try:
        _mark_page(ctx, rows, accepted, refused, results)
    except Exception:
        ctx.restore(before)
        raise
    return rows


def _mark_page(ctx: Run, rows: list[Any], accepted: list[Any], refused: list[int], results: dict[str, Any]) -> None:
    """After the call: accepted tickets PRINTED (one line each, O3), refused ones no longer injected."""
    with unit_of_work(ctx.engine) as conn:
        now = ctx.clock.now()
        # PRINTED unless cancelled meanwhile (it stays injected: push cancelled deletes it)
        moves = move_tickets(conn, [row.id for row in accepted], TicketAction.PRINT, now,
                             actor=f"execution {ctx.execution_id}")
        _set_injected_at(conn, refused, None)  # never reached the wallet
        for row in accepted:
            how = "already in the wallet" if results[row.number]["result"] == "ALREADY_INJECTED" else "injected"
            if row.id in moves.moved:
                ctx.detail(f"ticket {row.id} printed: {how}", row.number)
            else:
                ctx.detail(f"ticket {row.id} {how} but no longer NOT_PRINTED (cancelled meanwhile): push cancelled "
                           "deletes it from the wallet", row.number)
        ctx.count("records_read", len(rows))
        ctx.count("tickets_updated", len(accepted))
        ctx.flush(conn)


def _set_injected_at(conn: Connection, ids: list[int], value: Any) -> None:
    if ids:
        conn.execute(update(tickets).where(tickets.c.id.in_(ids)).values(injected_at=value))
