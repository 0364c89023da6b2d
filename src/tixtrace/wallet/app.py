"""The wallet service as an ASGI app (the TIXNGO role)."""

from __future__ import annotations

from fastapi import Depends, FastAPI
from sqlalchemy import Engine

from tixtrace.kernel.clock import AdjustableClock, Clock
from tixtrace.kernel.web import add_health_route, install_error_handlers
from tixtrace.wallet.api.organizer import settings, tickets
from tixtrace.wallet.api.sandbox import clock as sandbox_clock
from tixtrace.wallet.api.spectator import sessions
from tixtrace.wallet.api.spectator import tickets as spectator_tickets
from tixtrace.wallet.api.spectator import transfers as spectator_transfers
from tixtrace.wallet.domain.errors import WalletCode
from tixtrace.wallet.metrics import install_metrics
from tixtrace.wallet.services.clock import WalletClock
from tixtrace.wallet.web.routes import install_spectator_page


def create_wallet_app(engine: Engine, *, clock: Clock | None = None, sandbox: bool = False) -> FastAPI:
    """Build the wallet app. Its clock is the wallet's own (W9: real time plus the offset kept in its
    database, taken up again at every request so that every process shows the same time), unless a
    test hands one in. In sandbox mode /sandbox/* and the spectator page /app exist (W9: sign-in is
    passwordless there, so nowhere else) and the clock must be one they can move."""
    if clock is None or (sandbox and not isinstance(clock, AdjustableClock)):
        clock = WalletClock(engine)
    dependencies = [Depends(clock.refresh)] if isinstance(clock, WalletClock) else []
    app = FastAPI(title="tixtrace wallet", version="0.1.0", dependencies=dependencies,
                  description="The mobile wallet: organizer API, spectator API" + (", sandbox API" if sandbox else ""))
    app.state.engine = engine
    app.state.clock = clock
    app.state.sandbox = sandbox
    install_error_handlers(app, WalletCode)
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
