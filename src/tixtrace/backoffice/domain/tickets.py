"""A ticket's back-office status and the actions that move it (not the wallet's mobile status).

Pure: the service (services/tickets.py) asks where an action leads and writes the move with its
``ticket_actions`` row.

    NOT_PRINTED --print--> PRINTED             (injection: the wallet accepted the ticket)
    NOT_PRINTED --cancel--> CANCELLED          NOT_PRINTED --invalidate--> INVALIDATED
    PRINTED     --cancel--> CANCELLED          PRINTED     --invalidate--> INVALIDATED
    PRINTED     --control--> CONTROLLED        PRINTED     --reprint--> INVALIDATED  (+ a new NOT_PRINTED
                                                                                      ticket replacing it)

Invariants (tests/backoffice/domain/test_tickets.py):
- CANCELLED, INVALIDATED and CONTROLLED are final: no action starts from them;
- no action leads to a status it may start from, so applying an action twice never moves a ticket
  twice (the service moves a batch with one conditional UPDATE per starting status);
- push cancelled deletes from the wallet what `DELETED_IN_WALLET` holds, push controlled controls
  what `CONTROLLED_IN_WALLET` holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class TicketStatus(StrEnum):
    NOT_PRINTED = "NOT_PRINTED"
    PRINTED = "PRINTED"
    CANCELLED = "CANCELLED"
    INVALIDATED = "INVALIDATED"
    CONTROLLED = "CONTROLLED"


class TicketAction(StrEnum):
    PRINT = "PRINT"
    CANCEL = "CANCEL"
    INVALIDATE = "INVALIDATE"
    CONTROL = "CONTROL"
    REPRINT = "REPRINT"


@dataclass(frozen=True)
class Transition:
    """Where an action may start from and where it leads."""

    allowed_from: frozenset[TicketStatus]
    to: TicketStatus


TRANSITIONS: dict[TicketAction, Transition] = {
    TicketAction.PRINT: Transition(frozenset({TicketStatus.NOT_PRINTED}), TicketStatus.PRINTED),
    TicketAction.CANCEL: Transition(frozenset({TicketStatus.NOT_PRINTED, TicketStatus.PRINTED}),
                                    TicketStatus.CANCELLED),
    TicketAction.INVALIDATE: Transition(frozenset({TicketStatus.NOT_PRINTED, TicketStatus.PRINTED}),
                                        TicketStatus.INVALIDATED),
    TicketAction.CONTROL: Transition(frozenset({TicketStatus.PRINTED}), TicketStatus.CONTROLLED),
    TicketAction.REPRINT: Transition(frozenset({TicketStatus.PRINTED}), TicketStatus.INVALIDATED),
}

FINAL = frozenset({TicketStatus.CANCELLED, TicketStatus.INVALIDATED, TicketStatus.CONTROLLED})

#: back-office statuses that push cancelled deletes from the wallet (a reprinted ticket is INVALIDATED)
DELETED_IN_WALLET = (TicketStatus.CANCELLED, TicketStatus.INVALIDATED)
#: back-office statuses that push controlled controls in the wallet
CONTROLLED_IN_WALLET = (TicketStatus.CONTROLLED,)


#: the actions an operator takes on one ticket (PRINT is injection's: the wallet accepted the ticket)
OPERATOR_ACTIONS = (TicketAction.CANCEL, TicketAction.INVALIDATE, TicketAction.CONTROL, TicketAction.REPRINT)


def operator_actions(status: TicketStatus | str) -> list[TicketAction]:
    """The operator's actions a ticket in `status` allows, in `OPERATOR_ACTIONS` order (none once final):
    what the ticket screen offers."""
    return [action for action in OPERATOR_ACTIONS if next_status(status, action) is not None]


def next_status(status: TicketStatus | str, action: TicketAction) -> TicketStatus | None:
    """The status `action` moves a ticket in `status` to; None when the action is not allowed from it."""
    transition = TRANSITIONS[action]
    return transition.to if status in transition.allowed_from else None
