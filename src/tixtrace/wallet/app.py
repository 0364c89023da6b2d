"""The wallet service as an ASGI app (the TIXNGO role)."""

from __future__ import annotations

import os

from fastapi import Depends, FastAPI
from sqlalchemy import Engine

from tixtrace.kernel.clock import AdjustableClock, Clock
from tixtrace.kernel.docs import install_docs
from tixtrace.kernel.limits import BodyLimits
from tixtrace.kernel.web import add_health_route, install_error_handlers, install_guards
from tixtrace.wallet.api.organizer import settings, tickets
from tixtrace.wallet.api.sandbox import clock as sandbox_clock
from tixtrace.wallet.api.spectator import sessions
from tixtrace.wallet.api.spectator import tickets as spectator_tickets
from tixtrace.wallet.api.spectator import transfers as spectator_transfers
from tixtrace.wallet.db.database import open_wallet_database
from tixtrace.wallet.domain.errors import WalletCode
from tixtrace.wallet.metrics import install_metrics
from tixtrace.wallet.services.clock import WalletClock
from tixtrace.wallet.web.routes import install_spectator_page

#: what ``wallet serve`` hands its worker processes (`wallet_app_from_environment`)
DATABASE_URL_VARIABLE = "TIXTRACE_WALLET_DATABASE_URL"
SANDBOX_VARIABLE = "TIXTRACE_WALLET_SANDBOX"


def wallet_app_from_environment() -> FastAPI:
    """The app of one ``wallet serve`` worker process: its own engine on the database named by
    ``TIXTRACE_WALLET_DATABASE_URL`` (already migrated by the command), sandbox if
    ``TIXTRACE_WALLET_SANDBOX=1``."""
    return create_wallet_app(open_wallet_database(os.environ[DATABASE_URL_VARIABLE]),
                             sandbox=os.environ.get(SANDBOX_VARIABLE) == "1")


def create_wallet_app(engine: Engine, *, clock: Clock | None = None, sandbox: bool = False,
                      limits: BodyLimits | None = None) -> FastAPI:
    """Build the wallet app. Its clock is the wallet's own (W9: real time plus the offset kept in its
    database, taken up again at every request so that every process shows the same time), unless a
    test hands one in. In sandbox mode /sandbox/* and the spectator page /app exist (W9: sign-in is
    passwordless there, so nowhere else) and the clock must be one they can move. ``limits``: of request
    bodies, from ``TIXTRACE_WALLET_MAX_BODY_BYTES`` / ``TIXTRACE_WALLET_BODY_READ_SECONDS`` by default."""
    if clock is None or (sandbox and not isinstance(clock, AdjustableClock)):
        clock = WalletClock(engine)
    dependencies = [Depends(clock.refresh)] if isinstance(clock, WalletClock) else []
    app = FastAPI(title="tixtrace wallet", version="0.1.0", dependencies=dependencies, docs_url=None, redoc_url=None,
                  description="The mobile wallet: organizer API, spectator API" + (", sandbox API" if sandbox else ""))
    app.state.engine = engine
    app.state.clock = clock
    app.state.sandbox = sandbox
    install_error_handlers(app, WalletCode)
    add_health_route(app)
    install_metrics(app)
    install_docs(app)
    app.include_router(tickets.router)
    app.include_router(settings.router)
    app.include_router(sessions.router)
    app.include_router(spectator_tickets.router)
    app.include_router(spectator_transfers.router)
    if sandbox:
        app.include_router(sandbox_clock.router)
        install_spectator_page(app)
    install_guards(app, limits or BodyLimits.from_environment("TIXTRACE_WALLET_"))
    return app
