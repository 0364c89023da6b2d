"""The sandbox test clock (W9): tests and the demo move time instead of waiting an hour."""

from __future__ import annotations

from fastapi import APIRouter

from tixtrace.kernel.clock import TestClock, isoformat
from tixtrace.kernel.web import documented, error_responses
from tixtrace.wallet.api.deps import ClockDep, OrganizerDep
from tixtrace.wallet.api.documents import ClockOut
from tixtrace.wallet.api.schemas import ClockAdvance

router = APIRouter(prefix="/sandbox/clock", tags=["sandbox"], responses=error_responses(400, 401, 422))


@router.get("", summary="The wallet's current time",
            **documented(ClockOut))
def now(_organizer: OrganizerDep, clock: ClockDep) -> dict[str, str | None]:
    return {"now": isoformat(clock.now())}


@router.post("/advance", summary="Move the wallet's time forward",
             **documented(ClockOut))
def advance(body: ClockAdvance, _organizer: OrganizerDep, clock: ClockDep) -> dict[str, str | None]:
    assert isinstance(clock, TestClock)  # the sandbox app is always built with one
    return {"now": isoformat(clock.advance(body.seconds))}
