"""Spectator sign-in (sandbox: by e-mail alone) and profile."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from tixtrace.kernel.db import unit_of_work
from tixtrace.kernel.web import documented, error_responses, json_body
from tixtrace.wallet.api import render
from tixtrace.wallet.api.deps import ClockDep, EngineDep, SpectatorDep
from tixtrace.wallet.api.documents import ProfileOut, SessionOut
from tixtrace.wallet.api.schemas import SessionRequest
from tixtrace.wallet.services import spectators
from tixtrace.wallet.services.profiles import ProfileUpdate

router = APIRouter(prefix="/spectator", tags=["spectator"], responses=error_responses(400, 401, 404, 422))


@router.post("/session", summary="Sign in; returns a bearer token (sandbox: no password)",
             **documented(SessionOut))
def session(body: SessionRequest, request: Request, db: EngineDep, clock: ClockDep) -> Response:
    with unit_of_work(db) as conn:
        return json_body({"token": spectators.start_session(conn, clock, body.email,
                                                             sandbox=request.app.state.sandbox)})


@router.get("/profile", summary="My profile",
            **documented(ProfileOut))
def get_profile(me: SpectatorDep, db: EngineDep) -> Response:
    with unit_of_work(db, write=False) as conn:
        return json_body(render.profile(spectators.get_profile(conn, me)))


@router.put("/profile", summary="Update my profile (the e-mail cannot change)",
            **documented(ProfileOut))
def put_profile(body: ProfileUpdate, me: SpectatorDep, db: EngineDep) -> Response:
    with unit_of_work(db) as conn:
        return json_body(render.profile(spectators.update_profile(conn, me, body.wire())))
