"""The sandbox test clock (W9): tests and the demo move time instead of waiting an hour.

The app's clock is the wallet's own (real time plus the offset kept in its database, see
``services/clock.py``) or a TestClock a test handed in; either way one advance is more than 0 and at
most 366 days, and the clock never passes ``END_OF_TIME`` (422 naming the value and the limit).
"""

from __future__ import annotations

from typing import cast

from fastapi import APIRouter

from tixtrace.kernel.clock import AdjustableClock, check_advance, isoformat
from tixtrace.kernel.web import documented, error_responses
from tixtrace.wallet.api.deps import ClockDep, OrganizerDep
from tixtrace.wallet.api.documents import ClockOut
from tixtrace.wallet.api.schemas import ClockAdvance

router = APIRouter(prefix="/sandbox/clock", tags=["sandbox"], responses=error_responses(400, 401, 422))


@router.get("", summary="The wallet's current time",
            **documented(ClockOut))
def now(_organizer: OrganizerDep, clock: ClockDep) -> dict[str, str | None]:
    return {"now": isoformat(clock.now())}


@router.post("/advance", summary="Move the wallet's time forward (at most 366 days at a time)",
             **documented(ClockOut))
def advance(body: ClockAdvance, _organizer: OrganizerDep, clock: ClockDep) -> dict[str, str | None]:
    adjustable = cast(AdjustableClock, clock)  # the sandbox app is always built with one (app.py)
    check_advance(body.seconds, adjustable.now())
    return {"now": isoformat(adjustable.advance(body.seconds))}
