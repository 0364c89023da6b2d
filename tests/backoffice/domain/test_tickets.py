"""The back-office ticket status machine (domain/tickets.py), without a database."""

from __future__ import annotations

import pytest

from tixtrace.backoffice.domain.tickets import (
    CONTROLLED_IN_WALLET,
    DELETED_IN_WALLET,
    FINAL,
    TRANSITIONS,
    TicketAction,
    TicketStatus,
    next_status,
    operator_actions,
)

S, A = TicketStatus, TicketAction

#: every (status, action) pair that moves a ticket, and where it goes; any other pair is refused
EXPECTED = {
    (S.NOT_PRINTED, A.PRINT): S.PRINTED,
    (S.NOT_PRINTED, A.CANCEL): S.CANCELLED,
    (S.PRINTED, A.CANCEL): S.CANCELLED,
    (S.NOT_PRINTED, A.INVALIDATE): S.INVALIDATED,
    (S.PRINTED, A.INVALIDATE): S.INVALIDATED,
    (S.PRINTED, A.CONTROL): S.CONTROLLED,
    (S.PRINTED, A.REPRINT): S.INVALIDATED,
}


@pytest.mark.parametrize("status", list(TicketStatus))
@pytest.mark.parametrize("action", list(TicketAction))
def test_each_action_moves_exactly_the_statuses_of_the_machine(status: TicketStatus, action: TicketAction) -> None:
    assert next_status(status, action) == EXPECTED.get((status, action))
    assert next_status(status.value, action) == EXPECTED.get((status, action))  # as read from a row


def test_cancelled_invalidated_and_controlled_are_final() -> None:
    assert FINAL == {S.CANCELLED, S.INVALIDATED, S.CONTROLLED}
    assert all(next_status(status, action) is None for status in FINAL for action in TicketAction)


def test_only_injection_prints_and_a_printed_ticket_is_never_printed_again() -> None:
    assert [action for action in TicketAction if next_status(S.NOT_PRINTED, action) is S.PRINTED] == [A.PRINT]
    assert next_status(S.PRINTED, A.PRINT) is None


def test_no_action_leads_to_a_status_it_starts_from() -> None:
    # what lets the service move a batch with one conditional UPDATE per starting status
    assert all(transition.to not in transition.allowed_from for transition in TRANSITIONS.values())


def test_pushes_tell_the_wallet_about_final_statuses_only() -> None:
    assert set(DELETED_IN_WALLET) == {S.CANCELLED, S.INVALIDATED}  # a reprinted ticket is INVALIDATED
    assert set(CONTROLLED_IN_WALLET) == {S.CONTROLLED}
    assert set(DELETED_IN_WALLET) | set(CONTROLLED_IN_WALLET) == FINAL


def test_the_screen_offers_the_operator_actions_the_machine_allows_never_print() -> None:
    assert operator_actions(S.NOT_PRINTED) == [A.CANCEL, A.INVALIDATE]
    assert operator_actions(S.PRINTED) == [A.CANCEL, A.INVALIDATE, A.CONTROL, A.REPRINT]
    for status in FINAL:
        assert operator_actions(status) == []
    for status in TicketStatus:
        assert set(operator_actions(status)) == {a for (s, a) in EXPECTED if s == status} - {A.PRINT}
