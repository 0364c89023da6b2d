"""Organizer settings: the transfer time-out (default one hour) and whether acceptance is required."""

from __future__ import annotations

from fastapi import APIRouter

from tixtrace.kernel.web import documented, error_responses
from tixtrace.wallet.api.deps import EngineDep, OrganizerDep
from tixtrace.wallet.api.documents import SettingsOut
from tixtrace.wallet.api.schemas import SettingsUpdate
from tixtrace.wallet.services import organizers as organizers_service

router = APIRouter(prefix="/organizer/settings", tags=["organizer"], responses=error_responses(400, 401, 422))


def _view(organizer: organizers_service.Organizer) -> dict[str, object]:
    return {"transferTimeoutSeconds": organizer.transfer_timeout_seconds,
            "acceptanceRequired": organizer.acceptance_required}


@router.get("", summary="Current settings",
            **documented(SettingsOut))
def get_settings(organizer: OrganizerDep, db: EngineDep) -> dict[str, object]:
    return _view(organizers_service.get_settings(db, organizer.id))


@router.put("", summary="Change settings (omitted fields are kept)",
            **documented(SettingsOut))
def put_settings(body: SettingsUpdate, organizer: OrganizerDep, db: EngineDep) -> dict[str, object]:
    return _view(organizers_service.update_settings(
        db, organizer.id, transfer_timeout_seconds=body.transfer_timeout_seconds,
        acceptance_required=body.acceptance_required))
