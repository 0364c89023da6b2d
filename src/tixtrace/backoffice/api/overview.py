"""``GET /api/overview``: what the home screen shows (issue 13 item 1; DESIGN O4 and section 7)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from tixtrace.backoffice.api.deps import User
from tixtrace.backoffice.api.documents import OverviewOut
from tixtrace.backoffice.api.schemas import overview_json
from tixtrace.backoffice.backend import BackendDep
from tixtrace.backoffice.services.overview import overview
from tixtrace.kernel.web import documented, error_responses

router = APIRouter(prefix="/api/overview", tags=["overview"], responses=error_responses(401, 429))


@router.get("", summary="Every interface with its schedules and their states; parked records, pending transfers, "
                        "executions in error in the last 24 hours",
            description="Each schedule carries its state (O4): its latest execution, its last OK run, its lag "
                        "(seconds since the start of its latest run that did all its work, null before the first) "
                        "and its parked records. pendingTransfers lists the oldest 20 PENDING distribution lines "
                        "and executionsInError24h the newest 20 executions ended ERROR that started in the last "
                        "24 hours, each with the count of all.",
            **documented(OverviewOut))
def get_overview(backend: BackendDep, _user: User) -> dict[str, Any]:
    with backend.read() as conn:
        return overview_json(overview(conn, backend.clock.now()))
