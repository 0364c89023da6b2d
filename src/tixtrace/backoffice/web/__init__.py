"""The back office's screens: server-rendered pages (Jinja2) with htmx, behind a signed session cookie.

`install_web` adds them to the back-office app: the routes, ``/static`` (our CSS and the vendored
htmx with its licence) and the HTML error pages for screen paths. The JSON API is unchanged.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from tixtrace.backoffice.web import auth, contacts, executions, interfaces, schedules, tickets
from tixtrace.backoffice.web.pages import STATIC, install_error_pages
from tixtrace.backoffice.web.security import app_secret


def install_web(app: FastAPI, *, secret: bytes | None = None) -> None:
    """Mount the screens on `app`; call it after the API's error handlers are installed.

    `secret` signs sessions and form tokens; by default ``TIXTRACE_SECRET_KEY`` or random per process.
    """
    app.state.secret = secret or app_secret()
    install_error_pages(app)
    for module in (auth, tickets, contacts, interfaces, schedules, executions):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")


__all__ = ["install_web"]
