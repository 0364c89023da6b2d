"""Injection (W1): the organizer's tickets enter the wallet, owned by the spectator's account.

A batch (up to 10,000) costs a handful of statements whatever its size: one to find the ticket ids
already injected, one to three to find or create the owners' accounts (their ids only), one to record
the organizer's view of the owners (W10) and one to read the views it did not write (shared ones), one
COPY for the tickets and one for their INJECTED records (PostgreSQL; SQLite inserts them in one
executemany each). Each ticket is validated once, by the API, and its e-mail normalized once. Re-injecting a ticket
id is idempotent: ALREADY_INJECTED, nothing changes. An account created here is pre-filled from this
organizer's details for its owner's app; it is never what another organizer sees (W10). Two batches of
one organizer take turns (``lock_organizer_injections``), so a ticket id named by both is injected once;
the organizer's other writes go on meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from tixtrace.kernel.bulk import bulk_copy, reserve_ids, unique_matches
from tixtrace.kernel.clock import Clock
from tixtrace.kernel.emails import normalize_email
from tixtrace.wallet.db import accounts as accounts_repo
from tixtrace.wallet.db import organizer_profiles, status_log
from tixtrace.wallet.db.database import lock_organizer_injections
from tixtrace.wallet.db.tables import tickets
from tixtrace.wallet.domain.tickets import Change, Status
from tixtrace.wallet.services.tickets import begin_write

INJECTED, ALREADY_INJECTED, REJECTED = "INJECTED", "ALREADY_INJECTED", "REJECTED"


@dataclass(frozen=True)
class NewTicket:
    ticket_id: str
    event: dict[str, Any]
    purchase: dict[str, Any]
    barcode: str
    spectator: dict[str, Any]  # the profile (camelCase keys), email included
    max_transfers: int | None = None


def inject(conn: Connection, clock: Clock, organizer_id: int, batch: list[NewTicket]) -> dict[str, str]:
    """Inject a batch in the caller's unit of work; returns ticket id → INJECTED | ALREADY_INJECTED."""
    results: dict[str, str] = {}
    lock_organizer_injections(conn, organizer_id)  # which ids are new is decided by reading them
    now = begin_write(conn, clock, organizer_id)
    ids = [item.ticket_id for item in batch]
    existing = {row[0] for row in unique_matches(conn, tickets, ["ticket_id"], "ticket_id", ids,
                                                 {"organizer_id": organizer_id})}
    fresh: list[NewTicket] = []
    for item in batch:
        if item.ticket_id in existing:
            results[item.ticket_id] = ALREADY_INJECTED
        else:
            existing.add(item.ticket_id)
            fresh.append(item)
            results[item.ticket_id] = INJECTED
    if not fresh:
        return results
    emails = [normalize_email(item.spectator["email"]) for item in fresh]  # C1, once per ticket
    profiles: dict[str, dict[str, Any]] = {}
    for email, item in zip(emails, fresh, strict=True):
        profiles.setdefault(email, item.spectator)
    owners = accounts_repo.ensure_ids(conn, profiles, now, prefilled_by=organizer_id)
    # W10 (a): the organizer's own details are its view (the last given for an e-mail in the batch)
    views = organizer_profiles.record_injected_views(
        conn, organizer_id, owners, {owners[email]: item.spectator for email, item in zip(emails, fresh, strict=True)},
        now)
    inserted = reserve_ids(conn, tickets, len(fresh))
    bulk_copy(
        conn, tickets,
        [
            {
                "id": pk, "organizer_id": organizer_id, "ticket_id": item.ticket_id, "event": item.event,
                "purchase": item.purchase, "barcode": item.barcode, "status": Status.INJECTED.value,
                "owner_id": owners[email], "original_owner_id": owners[email],
                "previous_owner_ids": [], "holder": None, "downloaded": False,
                "max_transfers": item.max_transfers, "transfers_done": 0, "show_deleted": True,
                "created_at": now, "updated_at": now,
            }
            for pk, email, item in zip(inserted, emails, fresh, strict=True)
        ],
    )
    status_log.append(conn, organizer_id, [
        (pk, Change(item.ticket_id, Status.INJECTED, now, email, None, 0))
        for pk, email, item in zip(inserted, emails, fresh, strict=True)
    ], views)
    return results
