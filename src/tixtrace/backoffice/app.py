"""The back office's HTTP application: the JSON API of DESIGN section 7 behind HTTP Basic.

`create_backoffice_app` takes an engine whose database is already migrated
(`open_backoffice_database`) and a clock (a TestClock in tests). ``GET /health`` needs no credentials;
every ``/api`` route does, and so does ``GET /metrics`` (Prometheus). The screens
(`tixtrace.backoffice.web`) are served beside the API, behind
the login page, with their assets under ``/static``.
"""

from __future__ import annotations

import os

from fastapi import FastAPI
from sqlalchemy import Engine

from tixtrace.backoffice.api import (
    audit,
    contacts,
    events,
    executions,
    exports,
    interfaces,
    overview,
    schedules,
    tickets,
)
from tixtrace.backoffice.backend import Backend
from tixtrace.backoffice.db.database import open_backoffice_database
from tixtrace.backoffice.domain.errors import BackofficeCode
from tixtrace.backoffice.metrics import install_metrics
from tixtrace.backoffice.security import install_security
from tixtrace.backoffice.services.users import Authenticator
from tixtrace.backoffice.web.screens import install_web
from tixtrace.kernel.clock import Clock, SystemClock
from tixtrace.kernel.docs import install_docs
from tixtrace.kernel.limits import BodyLimits
from tixtrace.kernel.web import add_health_route, install_error_handlers, install_guards

#: what ``backoffice serve`` hands its worker processes (`backoffice_app_from_environment`)
DATABASE_URL_VARIABLE = "TIXTRACE_BACKOFFICE_DATABASE_URL"


def backoffice_app_from_environment() -> FastAPI:
    """The app of one ``backoffice serve`` worker process: its own engine on the database named by
    ``TIXTRACE_BACKOFFICE_DATABASE_URL`` (already migrated by the command)."""
    return create_backoffice_app(open_backoffice_database(os.environ[DATABASE_URL_VARIABLE]))


def create_backoffice_app(engine: Engine, clock: Clock | None = None, *, limits: BodyLimits | None = None) -> FastAPI:
    """``limits``: of request bodies, from ``TIXTRACE_BACKOFFICE_MAX_BODY_BYTES`` /
    ``TIXTRACE_BACKOFFICE_BODY_READ_SECONDS`` by default (`BodyLimits.from_environment`)."""
    app = FastAPI(
        title="tixtrace back office", docs_url=None, redoc_url=None,
        summary="Contacts, events, tickets, distribution history, interfaces (the S-360 role).",
    )
    clock = clock or SystemClock()
    app.state.backend = Backend(engine, clock)
    install_security(app, Authenticator(engine), engine, clock)
    install_error_handlers(app, BackofficeCode)
    add_health_route(app)
    install_metrics(app)
    install_docs(app)
    for module in (contacts, events, tickets, exports, interfaces, schedules, executions, audit, overview):
        app.include_router(module.router)
    install_web(app)
    install_guards(app, limits or BodyLimits.from_environment("TIXTRACE_BACKOFFICE_"))
    return app
