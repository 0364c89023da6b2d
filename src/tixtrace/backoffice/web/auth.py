"""Signing in and out of the screens (``/login``, ``/logout``) and the home page.

A user is checked by the same `Authenticator` as the API's HTTP Basic; a wrong name and a wrong
password get the same answer. Failures are counted per user name by the same `LoginThrottle` as the
API's (`tixtrace.backoffice.security.sign_in`): too many and the form answers 429 with Retry-After until
the window passes. Signing in starts a server-side session; signing out deletes it, so a copy of the
old cookie is refused from then on. See `tixtrace.backoffice.security` for the cookies and tokens.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from tixtrace.backoffice.security import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    SESSION_SECONDS,
    Throttled,
    end_session,
    session_user,
    sign_in,
    signer,
    start_session,
)
from tixtrace.backoffice.web.pages import LoginForm, PostedForm, redirect, render, safe_next
from tixtrace.kernel.cookies import clear_cookie, set_cookie
from tixtrace.kernel.csrf import new_nonce
from tixtrace.kernel.errors import Unauthorized
from tixtrace.kernel.flash import Flash

router = APIRouter(include_in_schema=False)

NextPath = Annotated[str | None, Query(alias="next", max_length=2000)]


def _login_page(request: Request, next_path: str, *, error: str | None = None, user_name: str = "",
                status: int = 200) -> Response:
    nonce = request.cookies.get(LOGIN_COOKIE)
    fresh = not nonce or len(nonce) > 100
    if fresh:
        nonce = new_nonce()
    assert nonce is not None
    response = render(request, "auth/login.html", {
        "next": next_path, "error": error, "user_name": user_name,
        "login_token": signer(request).csrf_token(nonce),
    }, status=status)
    if fresh:
        set_cookie(response, request, LOGIN_COOKIE, nonce, max_age=3600)
    return response


@router.get("/login")
def login_page(request: Request, next_path: NextPath = None) -> Response:
    target = safe_next(next_path)
    if session_user(request) is not None:
        return redirect(request, target)
    return _login_page(request, target)


@router.post("/login")
def login(request: Request, form: LoginForm) -> Response:
    target = safe_next(form.get("next"))
    name, password = form.get("user").strip(), form.get("password")
    try:
        user = sign_in(request, name, password)
    except Throttled as throttled:
        minutes = max(1, -(-throttled.seconds // 60))
        response = _login_page(request, target, user_name=name[:100], status=429,
                               error=f"Too many failed sign-ins for this user. Try again in {minutes} minute(s).")
        response.headers["Retry-After"] = str(throttled.seconds)
        return response
    except Unauthorized:
        return _login_page(request, target, error="Unknown user or wrong password.", user_name=name[:100],
                           status=401)
    response = redirect(request, target)
    set_cookie(response, request, SESSION_COOKIE, start_session(request, user), max_age=SESSION_SECONDS)
    clear_cookie(response, request, LOGIN_COOKIE)
    return response


@router.post("/logout")
def logout(request: Request, _form: PostedForm) -> Response:
    end_session(request)
    response = redirect(request, "/login", flash=Flash("info", "You are signed out."))
    clear_cookie(response, request, SESSION_COOKIE)
    return response
