"""The spectator page at /app: sign in, my tickets, transfers in and out, profile (sandbox only).

It stands in for the mobile app and uses the very services the spectator API uses, with the same
session tokens, so whatever a spectator does here is what the app would have done through
``/spectator/...`` (same rules, same status log). Plain HTML forms, no JavaScript.

- Routes are plain Starlette routes added to the wallet app, not API routes: they are not part of the
  JSON contract (not in the OpenAPI schema) and answer HTML, never the JSON error envelope.
- POST → redirect → GET on success (303 to /app, message in a one-shot flash cookie). On an error
  (``TixtraceError``: BadInput, Forbidden, NotFound, Conflict ...) the page is rendered again at once
  with the error's status code and the message in ``#flash``: never a 500, never raw JSON.
- Every POST needs the session's CSRF token (security.py): 403 otherwise, nothing done.
- No session (or a stale one) → 303 to /app/login.
- Service calls are synchronous (SQLAlchemy), so each request runs in the thread pool after its
  body has been read.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.staticfiles import StaticFiles

from tixtrace.kernel.clock import Clock, isoformat
from tixtrace.kernel.cookies import clear_cookie, set_cookie
from tixtrace.kernel.csrf import csrf_ok, csrf_token, new_nonce
from tixtrace.kernel.db import unit_of_work
from tixtrace.kernel.errors import BadInput, Forbidden, KernelCode, TixtraceError, Unauthorized
from tixtrace.kernel.flash import Flash, decode_flash, encode_flash
from tixtrace.kernel.forms import Form
from tixtrace.kernel.templates import html_page, security_headers, template_environment
from tixtrace.wallet.db.database import action_unit_of_work
from tixtrace.wallet.domain.errors import WalletCode
from tixtrace.wallet.services import spectators, transfers
from tixtrace.wallet.services.profiles import Holder, ProfileUpdate
from tixtrace.wallet.services.spectators import Account
from tixtrace.wallet.web import security, views
from tixtrace.wallet.web.forms import read_form, validated

PREFIX = "/app"
HERE = Path(__file__).parent
_env = template_environment(HERE / "templates")

#: no scripts at all; only our stylesheet
HTML_HEADERS = security_headers("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
                                "frame-ancestors 'none'; base-uri 'none'")

#: profile fields of the form besides first and last name, in the order shown
OPTIONAL_PROFILE_FIELDS = ("title", "dateOfBirth", "phoneNumber", "nationality", "residenceCountry",
                           "language", "idCardNumber")


@dataclass(frozen=True)
class Session:
    token: str
    account: Account


class _SignInRequired(Exception):
    """No valid session cookie: the answer is a redirect to the sign-in form."""


# -- plumbing --------------------------------------------------------------------------------------

def _engine(request: Request) -> Engine:
    return request.app.state.engine  # type: ignore[no-any-return]


def _clock(request: Request) -> Clock:
    return request.app.state.clock  # type: ignore[no-any-return]


def _base(request: Request) -> str:
    return str(request.scope.get("root_path", "")) + PREFIX


def _session(request: Request) -> Session | None:
    token = request.cookies.get(security.SESSION_COOKIE)
    if not token:
        return None
    try:
        with unit_of_work(_engine(request), write=False) as conn:
            signed_in = spectators.authenticate(conn, _clock(request), token)
    except Unauthorized:  # unknown or expired: the sign-in page
        return None
    if signed_in.refresh_due:  # at most hourly per token (services/spectators.py)
        with unit_of_work(_engine(request)) as conn:
            spectators.refresh_session(conn, _clock(request), token)
    return Session(token, signed_in.account)


def _signed_in(request: Request, form: Form | None = None) -> Session:
    """The session of the request; for a POST (``form`` given) its CSRF token must match (403)."""
    session = _session(request)
    if session is None:
        raise _SignInRequired
    if form is not None and not csrf_ok(session.token, form.get(security.CSRF_FIELD)):
        raise Forbidden("this form has expired or did not come from this page; reload the page and try again",
                        code=WalletCode.CSRF_FAILED)
    return session


def _sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return "Something went wrong."
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def _error_flash(exc: TixtraceError) -> Flash:
    return Flash("error", _sentence(exc.message), exc.code)


def _render(request: Request, template: str, *, status: int = 200, session: Session | None = None,
            flash: Flash | None = None, **context: Any) -> HTMLResponse:
    values = {
        "base": _base(request), "flash": flash, "sandbox": bool(request.app.state.sandbox),
        "me": session.account if session else None,
        "csrf": csrf_token(session.token) if session else "",
        "clock_now": views.when(isoformat(_clock(request).now())),
        **context,
    }
    response = html_page(_env, template, values, headers=HTML_HEADERS, status=status)
    if request.cookies.get(security.FLASH_COOKIE):
        clear_cookie(response, request, security.FLASH_COOKIE, path=_base(request))
    return response


def _redirect(request: Request, path: str, flash: Flash | None = None) -> RedirectResponse:
    response = RedirectResponse(_base(request) + path, status_code=303, headers={"Cache-Control": "no-store"})
    if flash is not None:
        set_cookie(response, request, security.FLASH_COOKIE, encode_flash(flash), path=_base(request))
    return response


def _to_login(request: Request) -> RedirectResponse:
    response = _redirect(request, "/login")
    if request.cookies.get(security.SESSION_COOKIE):
        clear_cookie(response, request, security.SESSION_COOKIE, path=_base(request))
    return response


def _pending_flash(request: Request) -> Flash | None:
    return decode_flash(request.cookies.get(security.FLASH_COOKIE))


Handler = Callable[[Request, Form], Response]
OnError = Callable[[Request, Form, TixtraceError], Response]


def _endpoint(handler: Handler, on_error: OnError) -> Callable[[Request], Awaitable[Response]]:
    """An ASGI endpoint: read the form (POST), then run ``handler`` in the thread pool.

    A ``TixtraceError`` (from reading the form, the CSRF check or a service) is answered by
    ``on_error``; a missing session by a redirect to the sign-in form.
    """

    def run(request: Request, form: Form, form_error: TixtraceError | None) -> Response:
        try:
            try:
                if form_error is not None:
                    raise form_error
                return handler(request, form)
            except TixtraceError as exc:
                return on_error(request, form, exc)
        except _SignInRequired:
            return _to_login(request)

    async def endpoint(request: Request) -> Response:
        form, form_error = Form(), None
        if request.method == "POST":
            try:
                form = await read_form(request)
            except TixtraceError as exc:
                form_error = exc
        return await run_in_threadpool(run, request, form, form_error)

    return endpoint


# -- sign in, sign out -----------------------------------------------------------------------------

def _login_page(request: Request, *, status: int = 200, flash: Flash | None = None, email: str = "") -> Response:
    nonce = request.cookies.get(security.LOGIN_COOKIE) or new_nonce()
    response = _render(request, "login.html", status=status, session=_session(request),
                       flash=flash or _pending_flash(request), email=email,
                       login_csrf=csrf_token(nonce))
    if request.cookies.get(security.LOGIN_COOKIE) != nonce:
        set_cookie(response, request, security.LOGIN_COOKIE, nonce, path=_base(request))
    return response


def login_form(request: Request, _form: Form) -> Response:
    return _login_page(request)


def login(request: Request, form: Form) -> Response:
    if not csrf_ok(request.cookies.get(security.LOGIN_COOKIE), form.get(security.CSRF_FIELD)):
        raise Forbidden("this sign-in form has expired; please try again", code=WalletCode.CSRF_FAILED)
    email = form.text("email")
    if not email:
        raise BadInput("enter your e-mail address", code=WalletCode.INVALID_EMAIL)
    with unit_of_work(_engine(request)) as conn:
        token = spectators.start_session(conn, _clock(request), email, sandbox=request.app.state.sandbox)
        account = spectators.authenticate(conn, _clock(request), token).account
    response = _redirect(request, "", Flash("success", f"Signed in as {account.email}."))
    set_cookie(response, request, security.SESSION_COOKIE, token, path=_base(request))
    clear_cookie(response, request, security.LOGIN_COOKIE, path=_base(request))
    return response


def _login_error(request: Request, form: Form, exc: TixtraceError) -> Response:
    return _login_page(request, status=exc.status, flash=_error_flash(exc), email=form.text("email")[:320])


def logout(request: Request, form: Form) -> Response:
    session = _signed_in(request, form)
    with unit_of_work(_engine(request)) as conn:
        spectators.end_session(conn, session.token)
    response = _redirect(request, "/login", Flash("success", "Signed out."))
    clear_cookie(response, request, security.SESSION_COOKIE, path=_base(request))
    return response


# -- my tickets and transfers ----------------------------------------------------------------------

def _wallet_page(request: Request, session: Session, *, status: int = 200, flash: Flash | None = None) -> Response:
    with unit_of_work(_engine(request)) as conn:  # listing the tickets is syncing them (W2): a write
        view = views.wallet_view(conn, _clock(request), session.account)
    return _render(request, "wallet.html", status=status, session=session, flash=flash, view=view)


def wallet(request: Request, _form: Form) -> Response:
    session = _signed_in(request)
    return _wallet_page(request, session, flash=_pending_flash(request))


def _wallet_error(request: Request, _form: Form, exc: TixtraceError) -> Response:
    session = _session(request)
    if session is None:
        return _to_login(request)
    flash = _error_flash(exc)
    try:
        return _wallet_page(request, session, status=exc.status, flash=flash)
    except TixtraceError:  # the wallet itself cannot be read right now (e.g. 503): the message alone
        return _render(request, "message.html", status=exc.status, session=session, flash=flash)


def _required(form: Form, name: str, what: str) -> str:
    value = form.text(name)
    if not value:
        raise BadInput(f"missing {what}: use the buttons of the page",
                       code=KernelCode.INVALID_INPUT, details={"field": name})
    return value


def assign_holder(request: Request, form: Form) -> Response:
    session = _signed_in(request, form)
    ticket_ref = _required(form, "ticketId", "ticket")  # the card sends its walletTicketId (W12)
    holder = validated(Holder, {"firstName": form.get("firstName", ""), "lastName": form.get("lastName", "")})
    with action_unit_of_work(_engine(request)) as conn:
        done = spectators.assign_holder(conn, _clock(request), session.account, ticket_ref, holder.wire())
    name = views.person(holder.wire())
    return _redirect(request, "", Flash("success", f"Ticket {done.ticket_id} is now assigned to {name}."))


def start_transfer(request: Request, form: Form) -> Response:
    session = _signed_in(request, form)
    ticket_ref = _required(form, "ticketId", "ticket")  # the card sends its walletTicketId (W12)
    recipient = form.text("recipientEmail")
    if not recipient:
        raise BadInput("Recipient e-mail: enter the e-mail address of the person to send the ticket to",
                       code=WalletCode.INVALID_EMAIL, details={"field": "recipientEmail"})
    with action_unit_of_work(_engine(request)) as conn:
        transfer = transfers.start_transfer(conn, _clock(request), session.account, ticket_ref, recipient)
    if transfer.state.value == "PENDING":
        left = views.time_left(isoformat(transfer.expires_at), _clock(request).now())
        message = (f"Ticket {transfer.ticket_id} sent to {transfer.recipient}; it stays yours until they accept "
                   f"({left.text if left else 'no time limit'}).")
    else:
        message = f"Ticket {transfer.ticket_id} transferred to {transfer.recipient}."
    return _redirect(request, "", Flash("success", message))


def _transfer_action(action: str) -> Handler:
    service = {"accept": transfers.accept, "reject": transfers.reject, "cancel": transfers.cancel}[action]
    done = {"accept": "Accepted: ticket {ticket} is now in your wallet.",
            "reject": "Rejected the transfer of ticket {ticket}.",
            "cancel": "Cancelled the transfer of ticket {ticket}; it stays in your wallet."}[action]

    def handler(request: Request, form: Form) -> Response:
        session = _signed_in(request, form)
        transfer_id = _required(form, "transferId", "transfer")
        with action_unit_of_work(_engine(request)) as conn:
            result = service(conn, _clock(request), session.account, transfer_id)
        return _redirect(request, "", Flash("success", done.format(ticket=result.ticket_id)))

    return handler


# -- profile ---------------------------------------------------------------------------------------

def _profile_values(profile: spectators.Profile) -> dict[str, Any]:
    fields = {"firstName": profile.first_name, "lastName": profile.last_name, "title": profile.title,
              "dateOfBirth": profile.date_of_birth, "phoneNumber": profile.phone_number,
              "nationality": profile.nationality, "residenceCountry": profile.residence_country,
              "language": profile.language, "idCardNumber": profile.id_card_number}
    values: dict[str, Any] = {key: "" if fields[key] is None else str(fields[key])
                              for key in ("firstName", "lastName", *OPTIONAL_PROFILE_FIELDS)}
    values["allowPromoEmail"] = bool(profile.allow_promo_email)
    values["allowThirdPartyEmail"] = bool(profile.allow_third_party_email)
    return values


def _profile_page(request: Request, session: Session, values: dict[str, Any], *, status: int = 200,
                  flash: Flash | None = None) -> Response:
    return _render(request, "profile.html", status=status, session=session, flash=flash, values=values)


def profile_form(request: Request, _form: Form) -> Response:
    session = _signed_in(request)
    with unit_of_work(_engine(request), write=False) as conn:
        profile = spectators.get_profile(conn, session.account)
    return _profile_page(request, session, _profile_values(profile), flash=_pending_flash(request))


def _submitted_profile(form: Form) -> dict[str, Any]:
    data: dict[str, Any] = {"firstName": form.get("firstName", ""), "lastName": form.get("lastName", "")}
    for key in OPTIONAL_PROFILE_FIELDS:
        data[key] = form.text(key) or None  # an emptied field clears it
    data["organizerSpectatorPreference"] = {"allowPromoEmail": "allowPromoEmail" in form,
                                            "allowThirdPartyEmail": "allowThirdPartyEmail" in form}
    return data


def save_profile(request: Request, form: Form) -> Response:
    session = _signed_in(request, form)
    update = validated(ProfileUpdate, _submitted_profile(form))
    if not update.first_name or not update.last_name:  # the model allows leaving them out; the form does not
        field = "First name" if not update.first_name else "Last name"
        raise BadInput(f"{field}: is required (it is needed to accept a ticket)", code=KernelCode.INVALID_INPUT)
    with unit_of_work(_engine(request)) as conn:
        spectators.update_profile(conn, session.account, update.wire())
    return _redirect(request, "", Flash("success", "Profile saved."))


def _profile_error(request: Request, form: Form, exc: TixtraceError) -> Response:
    session = _session(request)
    if session is None:
        return _to_login(request)
    fields = ("firstName", "lastName", *OPTIONAL_PROFILE_FIELDS)
    values: dict[str, Any] = {key: form.get(key, "")[:200] for key in fields}
    values["allowPromoEmail"] = "allowPromoEmail" in form
    values["allowThirdPartyEmail"] = "allowThirdPartyEmail" in form
    return _profile_page(request, session, values, status=exc.status, flash=_error_flash(exc))


# -- installation ----------------------------------------------------------------------------------

ROUTES: list[tuple[str, list[str], Handler, OnError, str]] = [
    ("", ["GET"], wallet, _wallet_error, "app"),
    ("/login", ["GET"], login_form, _login_error, "app-login-form"),
    ("/login", ["POST"], login, _login_error, "app-login"),
    ("/logout", ["POST"], logout, _wallet_error, "app-logout"),
    ("/profile", ["GET"], profile_form, _profile_error, "app-profile-form"),
    ("/profile", ["POST"], save_profile, _profile_error, "app-profile"),
    ("/tickets/holder", ["POST"], assign_holder, _wallet_error, "app-holder"),
    ("/tickets/transfer", ["POST"], start_transfer, _wallet_error, "app-transfer"),
    ("/transfers/accept", ["POST"], _transfer_action("accept"), _wallet_error, "app-accept"),
    ("/transfers/reject", ["POST"], _transfer_action("reject"), _wallet_error, "app-reject"),
    ("/transfers/cancel", ["POST"], _transfer_action("cancel"), _wallet_error, "app-cancel"),
]


def install_spectator_page(app: FastAPI) -> None:
    """Add /app (the page) and /app/static (its CSS) to the wallet app. Call it only in sandbox mode."""
    for path, methods, handler, on_error, name in ROUTES:
        app.router.add_route(PREFIX + path, _endpoint(handler, on_error), methods=methods, name=name,
                             include_in_schema=False)
    app.mount(PREFIX + "/static", StaticFiles(directory=HERE / "static"), name="app-static")
