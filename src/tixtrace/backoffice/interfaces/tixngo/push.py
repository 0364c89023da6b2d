"""Push cancelled and push controlled: back-office decisions the wallet must learn.

Tickets CANCELLED or INVALIDATED (resp. CONTROLLED) in the back office, injected before and not yet
processed by that function, are deleted (resp. controlled) in the wallet, ``ticketIterationSize``
per call, and marked processed after the call. Both wallet calls are idempotent, so a crash between
the call and the mark only repeats a harmless call.

O3: the log says what was selected (one line: tickets, statuses, wallet calls) and one line per
ticket deleted (resp. controlled) in the wallet, by its number.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Column, bindparam, select, update

from tixtrace.backoffice.db.tables import tickets
from tixtrace.backoffice.domain.executions import LogLevel
from tixtrace.backoffice.domain.tickets import CONTROLLED_IN_WALLET, DELETED_IN_WALLET, TicketStatus
from tixtrace.backoffice.interfaces.tixngo.run import Run
from tixtrace.kernel.db import unit_of_work


def _push(ctx: Run, statuses: tuple[TicketStatus, ...], marker: Column[Any],
          call: Callable[[list[str]], list[dict[str, Any]]], done_as: str) -> None:
    size = ctx.parameters.ticket_iteration_size
    after, selected, calls = 0, 0, 0
    try:
        while True:
            rows = _push_page(ctx, statuses, marker, call, done_as, after, size)
            if not rows:  # went through every ticket it selected (O4)
                ctx.caught_up = True
                return
            selected, calls, after = selected + len(rows), calls + 1, rows[-1].id
    finally:  # written by the runner's last flush, whether the run ends OK or failed; an idle run says nothing
        if selected:
            ctx.log(LogLevel.INFO, f"selected {selected} injected {' or '.join(statuses)} ticket(s) not yet "
                                   f"{done_as} in the wallet, in {calls} wallet call(s) of up to {size}")


def _push_page(ctx: Run, statuses: tuple[TicketStatus, ...], marker: Column[Any],
               call: Callable[[list[str]], list[dict[str, Any]]], done_as: str, after: int, size: int) -> list[Any]:
    """Push the next page of tickets after id ``after``; returns the page (empty: done)."""
    with unit_of_work(ctx.engine, write=False) as conn:
        rows = list(conn.execute(select(tickets.c.id, tickets.c.number).where(
            tickets.c.status.in_([status.value for status in statuses]), tickets.c.injected_at.is_not(None),
            marker.is_(None), tickets.c.id > after).order_by(tickets.c.id).limit(size)).all())
    if not rows:
        return rows
    results = {r["ticketId"]: r for r in call([row.number for row in rows])}
    done, changed = [], []
    for row in rows:
        result = results.get(row.number, {"result": "REFUSED", "error": "no result from the wallet"})
        if result["result"] == "REFUSED":
            ctx.count("failed")
            ctx.log(LogLevel.WARNING, f"refused by the wallet: {result.get('error')}", row.number)
            continue
        if result["result"] == "NOT_FOUND":
            ctx.log(LogLevel.WARNING, "the wallet does not know this ticket; marked processed", row.number)
        else:
            changed.append(row)
        done.append(row.id)
    before = ctx.report()  # a write that fails takes its lines with it
    try:
        with unit_of_work(ctx.engine) as conn:
            now = ctx.clock.now()
            if done:
                conn.execute(update(tickets).where(tickets.c.id == bindparam("b_id")),
                             [{"b_id": pk, marker.name: now, "updated_at": now} for pk in done])
            for row in changed:
                ctx.detail(f"ticket {row.id} {done_as} in the wallet", row.number)
            ctx.count("records_read", len(rows))
            ctx.count("tickets_updated", len(done))
            ctx.flush(conn)
    except Exception:
        ctx.restore(before)
        raise
    return rows


def run_cancelled(ctx: Run) -> None:
    _push(ctx, DELETED_IN_WALLET, tickets.c.push_cancelled_at,
          lambda numbers: ctx.client.delete([{"ticketId": n, "showDeletedTicket": False,
                                              "reason": "cancelled in the back office"} for n in numbers]),
          "deleted")


def run_controlled(ctx: Run) -> None:
    _push(ctx, CONTROLLED_IN_WALLET, tickets.c.push_controlled_at,
          lambda numbers: ctx.client.control([{"ticketId": n} for n in numbers]), "controlled")
