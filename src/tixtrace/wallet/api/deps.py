"""Request dependencies: the app's engine and clock, and the two kinds of credentials."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBasic, HTTPBasicCredentials, HTTPBearer
from sqlalchemy import Engine

from tixtrace.kernel.clock import Clock
from tixtrace.kernel.db import unit_of_work
from tixtrace.kernel.errors import Unauthorized
from tixtrace.wallet.domain.errors import WalletCode
from tixtrace.wallet.services import organizers as organizers_service
from tixtrace.wallet.services import spectators as spectators_service

_basic = HTTPBasic(auto_error=False, description="Organizer admin e-mail and API key")
_bearer = HTTPBearer(auto_error=False, description="Spectator session token from POST /spectator/session")


# ``async def``: FastAPI runs a plain ``def`` dependency in a worker thread; these two only read the
# app's state, and a thread hop each cost more than the rest of them (benchmarks/RESULTS.md).
async def engine(request: Request) -> Engine:
    return request.app.state.engine  # type: ignore[no-any-return]


async def clock(request: Request) -> Clock:
    return request.app.state.clock  # type: ignore[no-any-return]


EngineDep = Annotated[Engine, Depends(engine)]
ClockDep = Annotated[Clock, Depends(clock)]


def organizer(db: EngineDep,
              credentials: Annotated[HTTPBasicCredentials | None, Depends(_basic)]) -> organizers_service.Organizer:
    if credentials is None:
        raise Unauthorized("organizer credentials required (HTTP Basic: admin e-mail and API key)",
                           code=WalletCode.CREDENTIALS_REQUIRED)
    with unit_of_work(db, write=False) as conn:  # credentials are checked before the request's own unit
        return organizers_service.authenticate(conn, credentials.username, credentials.password)


def spectator(
    db: EngineDep, clock: ClockDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> spectators_service.Account:
    if credentials is None:
        raise Unauthorized("a spectator session is required (Authorization: Bearer TOKEN)",
                           code=WalletCode.CREDENTIALS_REQUIRED)
    with unit_of_work(db, write=False) as conn:
        session = spectators_service.authenticate(conn, clock, credentials.credentials)
    if session.refresh_due:  # at most hourly per token: a request's own unit stays the only write
        with unit_of_work(db) as conn:
            spectators_service.refresh_session(conn, clock, credentials.credentials)
    return session.account


OrganizerDep = Annotated[organizers_service.Organizer, Depends(organizer)]
SpectatorDep = Annotated[spectators_service.Account, Depends(spectator)]
