"""The wallet service as an ASGI app (the TIXNGO role)."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import Engine

from tixtrace.kernel.clock import Clock, SystemClock, TestClock
from tixtrace.kernel.web import add_health_route, install_error_handlers
from tixtrace.wallet.api.organizer import settings, tickets
from tixtrace.wallet.api.sandbox import clock as sandbox_clock
from tixtrace.wallet.api.spectator import sessions
from tixtrace.wallet.api.spectator import tickets as spectator_tickets
from tixtrace.wallet.api.spectator import transfers as spectator_transfers
from tixtrace.wallet.metrics import install_metrics
from tixtrace.wallet.web.routes import install_spectator_page


def create_wallet_app(engine: Engine, *, clock: Clock | None = None, sandbox: bool = False) -> FastAPI:
    """Build the wallet app. In sandbox mode the clock is a TestClock, and /sandbox/* and the spectator
    page /app exist (W9: sign-in is passwordless there, so nowhere else)."""
    if sandbox and not isinstance(clock, TestClock):
        clock = TestClock()
    app = FastAPI(title="tixtrace wallet", version="0.1.0",
                  description="The mobile wallet: organizer API, spectator API" + (", sandbox API" if sandbox else ""))
    app.state.engine = engine
    app.state.clock = clock or SystemClock()
    app.state.sandbox = sandbox
    install_error_handlers(app)
    add_health_route(app)
    install_metrics(app)
    app.include_router(tickets.router)
    app.include_router(settings.router)
    app.include_router(sessions.router)
    app.include_router(spectator_tickets.router)
    app.include_router(spectator_transfers.router)
    if sandbox:
        app.include_router(sandbox_clock.router)
        install_spectator_page(app)
    return app
