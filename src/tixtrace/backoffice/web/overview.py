"""The home screen (``/``, the first page after sign-in): the overview of ``GET /api/overview``.

Each interface with its feature state; each schedule with its launch, latest execution, last OK run,
lag and parked records, and a badge when it is failing, behind or has parked records
(``domain.schedules.schedule_alerts``); the pending transfers and the executions in ERROR of the last
24 hours, each a link. The panel refreshes itself: it polls ``/overview/panel`` (htmx, every
`REFRESH_SECONDS`), which renders the same partial (``overview/_panel.html``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from tixtrace.backoffice.backend import BackendDep
from tixtrace.backoffice.domain.schedules import behind_after_seconds, schedule_alerts
from tixtrace.backoffice.services.overview import ERROR_WINDOW, Overview, overview
from tixtrace.backoffice.services.schedule_state import ScheduleWithState
from tixtrace.backoffice.web.pages import WebUser, render

router = APIRouter(include_in_schema=False)

#: how often the home screen reads the overview again
REFRESH_SECONDS = 10


@dataclass(frozen=True)
class ScheduleRow:
    item: ScheduleWithState
    alerts: list[str]
    behind_after_seconds: int


def _context(view: Overview) -> dict[str, Any]:
    interfaces = []
    alerts = {"FAILING": 0, "BEHIND": 0, "PARKED": 0}
    for interface in view.interfaces:
        rows = []
        for item in interface.schedules:
            schedule, state = item.schedule, item.state
            found = schedule_alerts(launch=schedule.launch, frequency_minutes=schedule.frequency_minutes,
                                    lag_seconds=state.lag_seconds, parked_records=state.parked_records,
                                    last_status=state.last_execution.status if state.last_execution else None)
            for alert in found:
                alerts[alert] += 1
            rows.append(ScheduleRow(item, found, behind_after_seconds(launch=schedule.launch,
                                                                      frequency_minutes=schedule.frequency_minutes)))
        interfaces.append({"interface": interface, "schedules": rows})
    return {"nav": "overview", "overview": view, "interfaces": interfaces, "alerts": alerts,
            "refresh_seconds": REFRESH_SECONDS,
            "window_hours": int(ERROR_WINDOW.total_seconds() // 3600)}


@router.get("/")
def home(request: Request, backend: BackendDep, user: WebUser) -> Response:
    with backend.read() as conn:
        view = overview(conn, backend.clock.now())
    return render(request, "overview/home.html", _context(view))


@router.get("/overview/panel")
def panel(request: Request, backend: BackendDep, user: WebUser) -> Response:
    """The overview's panel alone: what the home screen's polling swaps in."""
    with backend.read() as conn:
        view = overview(conn, backend.clock.now())
    return render(request, "overview/_panel.html", _context(view), partial=True)
