"""The ticket screen's action bar: cancel, invalidate, control, reprint and the organizer transfer, each
behind a confirmation page (no JavaScript needed; the forms carry the session's CSRF token).

Invariants:
- The bar offers only what the ticket's status allows (`domain.tickets.operator_actions`; the transfer:
  a PRINTED ticket the wallet holds). Asking for another action anyway (an old tab, a crafted link) is
  answered by the ticket page with an error flash naming the status and what the action needs, and
  moves nothing: the service's conditional UPDATE decides, not the page.
- A GET never changes anything: it shows what the action will do and a form to confirm it. The POST
  goes through the same service as ``POST /api/tickets/{id}/<action>`` (one unit of work; its
  ``ticket_actions`` row names the signed-in user), then redirects (303) with a flash message.
- The organizer transfer has two steps: the form (recipient e-mail and reason), then a review of
  those values with a Confirm button; only the confirmed POST asks the wallet. A refusal at either
  step (bad e-mail, no interface, wallet unreachable, the wallet's own refusal) is a flash message
  with the problem's text; nothing is asked of the wallet before confirmation.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from tixtrace.backoffice.backend import BackendDep
from tixtrace.backoffice.domain.errors import BackofficeCode
from tixtrace.backoffice.domain.tickets import TRANSITIONS, TicketAction, TicketStatus, operator_actions
from tixtrace.backoffice.interfaces.tixngo.transfers import REASON_MAX, checked_request, transfer_ticket
from tixtrace.backoffice.services.tickets import TicketRecord, apply_action, get_ticket
from tixtrace.backoffice.web.pages import PostedForm, WebUser, path_id, redirect, render
from tixtrace.kernel.errors import BadInput, Conflict, NotFound, Unavailable
from tixtrace.kernel.flash import Flash

router = APIRouter(include_in_schema=False)

#: what each action does, said on its confirmation page
CONSEQUENCES = {
    TicketAction.CANCEL: "It becomes CANCELLED, a final status. The next Push cancelled run deletes it from "
                         "the holder's wallet.",
    TicketAction.INVALIDATE: "It becomes INVALIDATED, a final status. The next Push cancelled run deletes it "
                             "from the holder's wallet.",
    TicketAction.CONTROL: "It becomes CONTROLLED, a final status: it has been used at the gate. The next "
                          "Push controlled run marks it controlled in the wallet.",
    TicketAction.REPRINT: "It becomes INVALIDATED and a new ticket (new number and barcode, same event, seat "
                          "and contacts) replaces it. The next injection sends the new ticket to the last "
                          "wallet owner of this one; Push cancelled deletes this one from the wallet.",
}
TRANSFER = "transfer"


def transferable(ticket: TicketRecord) -> bool:
    """An organizer transfer needs a live ticket the wallet holds (the wallet refuses the others)."""
    return ticket.status == TicketStatus.PRINTED.value and ticket.injected_at is not None


def action_bar(ticket: TicketRecord) -> list[str]:
    """The actions the ticket screen offers, by their path name."""
    names = [action.value.lower() for action in operator_actions(ticket.status)]
    return names + ([TRANSFER] if transferable(ticket) else [])


def _action(name: str) -> TicketAction:
    try:
        action = TicketAction(name.upper())
    except ValueError:
        action = TicketAction.PRINT
    if action is TicketAction.PRINT:  # injection's, not an operator's
        raise NotFound(f"a ticket has no action {name!r}", code=BackofficeCode.TICKET_ACTION_NOT_FOUND)
    return action


def _not_allowed(ticket: TicketRecord, action: TicketAction) -> Flash:
    needs = " or ".join(sorted(TRANSITIONS[action].allowed_from))
    return Flash("error", f"Ticket {ticket.number} is {ticket.status}: {action.value.lower()} needs a ticket that "
                          f"is {needs}. Nothing was changed.", code=BackofficeCode.INVALID_TICKET_TRANSITION)


def _confirm_page(request: Request, ticket: TicketRecord, context: dict[str, Any], *, flash: Flash | None = None,
                  status: int = 200) -> Response:
    values: dict[str, Any] = {"nav": "tickets", "ticket": ticket, "reason_max": REASON_MAX, **context}
    if flash is not None:
        values["flash"] = flash
    return render(request, "tickets/confirm.html", values, status=status)


@router.get("/tickets/{ticket_id}/actions/transfer")
def transfer_form(request: Request, ticket_id: str, backend: BackendDep, user: WebUser) -> Response:
    tid = path_id(ticket_id, "ticket")
    with backend.read() as conn:
        ticket = get_ticket(conn, tid)
    if not transferable(ticket):
        return redirect(request, f"/tickets/{tid}", flash=_not_transferable(ticket))
    return _confirm_page(request, ticket, {"action": TRANSFER, "step": "form", "recipient_email": "", "reason": ""})


def _not_transferable(ticket: TicketRecord) -> Flash:
    why = "the wallet does not hold it yet" if ticket.status == TicketStatus.PRINTED.value else f"it is {ticket.status}"
    return Flash("error", f"Ticket {ticket.number} cannot be transferred: {why}; an organizer transfer needs a "
                          "PRINTED ticket in the wallet.", code=BackofficeCode.TICKET_NOT_TRANSFERABLE)


@router.post("/tickets/{ticket_id}/actions/transfer")
def organizer_transfer(request: Request, ticket_id: str, backend: BackendDep, form: PostedForm,
                       user: WebUser) -> Response:
    """Step 1 posts the form and gets the review; step 2 (``confirmed=yes``) asks the wallet."""
    tid = path_id(ticket_id, "ticket")
    with backend.read() as conn:
        ticket = get_ticket(conn, tid)
    typed = {"recipient_email": form.get("recipient_email"), "reason": form.get("reason")}
    try:
        email, reason = checked_request(typed["recipient_email"], typed["reason"])
    except BadInput as exc:
        return _confirm_page(request, ticket, {"action": TRANSFER, "step": "form", **typed},
                             flash=Flash("error", exc.message, code=exc.code), status=422)
    if form.get("confirmed") != "yes":
        return _confirm_page(request, ticket, {"action": TRANSFER, "step": "review", "recipient_email": email,
                                               "reason": reason})
    back = f"/tickets/{tid}?tab=distribution"
    try:
        done = transfer_ticket(backend.engine, tid, email, reason, actor=user, clock=backend.clock)
    except (BadInput, Conflict, NotFound, Unavailable) as exc:
        return redirect(request, back, flash=Flash("error", exc.message, code=exc.code))
    return redirect(request, back, flash=Flash(
        "success", f"The wallet moved ticket {done.ticket_number} to {done.recipient_email} (transfer "
                   f"{done.transfer_id}); its line appears with the next Retrieve ticket status run."))


@router.get("/tickets/{ticket_id}/actions/{name}")
def confirm_action(request: Request, ticket_id: str, name: str, backend: BackendDep, user: WebUser) -> Response:
    tid = path_id(ticket_id, "ticket")
    action = _action(name)
    with backend.read() as conn:
        ticket = get_ticket(conn, tid)
    if action not in operator_actions(ticket.status):
        return redirect(request, f"/tickets/{tid}", flash=_not_allowed(ticket, action))
    return _confirm_page(request, ticket, {"action": name.lower(), "step": "review",
                                           "to_status": TRANSITIONS[action].to.value,
                                           "consequence": CONSEQUENCES[action]})


@router.post("/tickets/{ticket_id}/actions/{name}")
def do_action(request: Request, ticket_id: str, name: str, backend: BackendDep, form: PostedForm,
              user: WebUser) -> Response:
    tid = path_id(ticket_id, "ticket")
    action = _action(name)
    try:
        with backend.write() as conn:
            before = get_ticket(conn, tid)
            after = apply_action(conn, tid, action, backend.clock.now(), actor=user)
    except Conflict:
        with backend.read() as conn:
            ticket = get_ticket(conn, tid)
        return redirect(request, f"/tickets/{tid}", flash=_not_allowed(ticket, action))
    if action is TicketAction.REPRINT:
        return redirect(request, f"/tickets/{after.id}", flash=Flash(
            "success", f"Ticket {before.number} is INVALIDATED; this ticket, {after.number}, replaces it."))
    return redirect(request, f"/tickets/{tid}", flash=Flash(
        "success", f"Ticket {before.number} is {after.status} (was {before.status})."))
