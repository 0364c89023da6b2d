"""Mounting the back office's screens (server-rendered pages with htmx, behind a signed session cookie).

`install_web` adds them to the back-office app: the routes, ``/static`` (our CSS and the vendored
htmx with its licence) and the HTML error pages for screen paths. The JSON API is unchanged.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from tixtrace.backoffice.web import (
    audit,
    auth,
    contacts,
    events,
    executions,
    interfaces,
    overview,
    schedules,
    ticket_actions,
    tickets,
    users,
)
from tixtrace.backoffice.web.pages import STATIC, install_error_pages


def install_web(app: FastAPI) -> None:
    """Mount the screens on `app`; call it after the API's error handlers are installed and
    `tixtrace.backoffice.security.install_security` (which gives the secret signing sessions and tokens).
    """
    install_error_pages(app)
    for module in (auth, overview, tickets, ticket_actions, events, contacts, interfaces, schedules, executions,
                   audit, users):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

