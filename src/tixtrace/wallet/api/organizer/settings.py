"""Organizer settings: the transfer time-out (default one hour) and whether acceptance is required."""

from __future__ import annotations

from fastapi import APIRouter

from tixtrace.kernel.db import unit_of_work
from tixtrace.kernel.web import documented, error_responses
from tixtrace.wallet.api import render
from tixtrace.wallet.api.deps import EngineDep, OrganizerDep
from tixtrace.wallet.api.documents import SettingsOut
from tixtrace.wallet.api.schemas import SettingsUpdate
from tixtrace.wallet.services import organizers as organizers_service

router = APIRouter(prefix="/organizer/settings", tags=["organizer"], responses=error_responses(400, 401, 422))


@router.get("", summary="Current settings",
            **documented(SettingsOut))
def get_settings(organizer: OrganizerDep, db: EngineDep) -> dict[str, object]:
    with unit_of_work(db, write=False) as conn:
        return render.settings(organizers_service.get_settings(conn, organizer.id))


@router.put("", summary="Change settings (omitted fields are kept)",
            **documented(SettingsOut))
def put_settings(body: SettingsUpdate, organizer: OrganizerDep, db: EngineDep) -> dict[str, object]:
    with unit_of_work(db) as conn:
        return render.settings(organizers_service.update_settings(
            conn, organizer.id, transfer_timeout_seconds=body.transfer_timeout_seconds,
            acceptance_required=body.acceptance_required))
