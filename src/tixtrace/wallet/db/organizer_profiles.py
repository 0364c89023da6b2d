"""What each organizer may see of each wallet account (W10), kept per (organizer, account).

A spectator account is global and its profile is the spectator's (``accounts``). An organizer sees
only (a) the spectatorDetails it injected itself (source INJECTED) and (b) the profile the spectator
shared with it by opening (listing) one of its tickets while holding it (source SHARED); anybody else
is an e-mail only. Every lifecycle record of an organizer is built from this view at write time, so
the feed and the ticket detail, which return stored records, never show more.

Invariants: only injection writes INJECTED rows, only sharing writes SHARED rows; a SHARED row is never
replaced by a later injection (the person's own words outrank the organizer's copy), a later sharing
refreshes it. Both are upserts (``ON CONFLICT``): concurrent writers of one (organizer, account) row take
turns on it; an injection writes its rows in account id order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, RowMapping, select

from tixtrace.kernel.bulk import bulk_insert, one_of, unique_matches
from tixtrace.wallet.db.accounts import PROFILE_COLUMNS, profile_of
from tixtrace.wallet.db.tables import organizer_profiles

INJECTED, SHARED = "INJECTED", "SHARED"
_FIELDS = [key for key in PROFILE_COLUMNS if key != "email"] + ["organizerSpectatorPreference"]


def email_only(email: str) -> dict[str, Any]:
    """The profile of a person the organizer was given nothing about: the e-mail, every other field null."""
    return profile_of(None, email)


def without_email(profile: Mapping[str, Any]) -> dict[str, Any]:
    """The stored form: every profile field but the e-mail, absent ones null."""
    stored = {key: profile.get(key) for key in _FIELDS}
    preference = stored["organizerSpectatorPreference"]
    if preference is not None:
        stored["organizerSpectatorPreference"] = {"allowPromoEmail": bool(preference.get("allowPromoEmail")),
                                                  "allowThirdPartyEmail": bool(preference.get("allowThirdPartyEmail"))}
    return stored


def _with_email(stored: Mapping[str, Any], email: str) -> dict[str, Any]:
    profile = email_only(email)
    profile.update({key: stored.get(key) for key in _FIELDS})
    return profile


def rows(conn: Connection, organizer_id: int, account_ids: list[int]) -> dict[int, RowMapping]:
    if not account_ids:
        return {}
    query = select(organizer_profiles).where(organizer_profiles.c.organizer_id == organizer_id,
                                             one_of(conn, organizer_profiles.c.account_id, sorted(set(account_ids))))
    return {row["account_id"]: row for row in conn.execute(query).mappings()}


def views(conn: Connection, organizer_id: int, accounts: Mapping[str, RowMapping]) -> dict[str, dict[str, Any]]:
    """e-mail → the organizer's view of that account (W10), for these accounts (e-mail → account row)."""
    found = rows(conn, organizer_id, [row["id"] for row in accounts.values()])
    return {
        email: _with_email(found[row["id"]]["profile"], email) if row["id"] in found else email_only(email)
        for email, row in accounts.items()
    }


def record_injected(conn: Connection, organizer_id: int, details: Mapping[int, Mapping[str, Any]],
                    now: datetime) -> None:
    """W10 (a): the organizer's own spectatorDetails (account id → profile) become its view of those
    accounts, unless the spectator already shared their own profile with it."""
    bulk_insert(
        conn, organizer_profiles,
        [{"organizer_id": organizer_id, "account_id": account_id, "profile": without_email(profile),
          "source": INJECTED, "updated_at": now} for account_id, profile in sorted(details.items())],
        suffix="ON CONFLICT (organizer_id, account_id) DO UPDATE SET profile = excluded.profile, "
               "source = excluded.source, updated_at = excluded.updated_at "
               f"WHERE organizer_profiles.source <> '{SHARED}'",
    )


def record_injected_views(conn: Connection, organizer_id: int, owners: Mapping[str, int],
                          details: Mapping[int, Mapping[str, Any]], now: datetime) -> dict[str, dict[str, Any]]:
    """``record_injected``, then the organizer's view of these owners (e-mail → account id) as ``views``
    would read it back, without reading back what was just written: every row is now this injection's
    details, except the SHARED ones it left alone (W10 (b) outranks (a)), which are read (usually none)."""
    record_injected(conn, organizer_id, details, now)
    # raw rows: psycopg decodes a json column itself, SQLite's driver gives its text
    shared = {account_id: orjson.loads(profile) if isinstance(profile, str | bytes) else profile
              for account_id, profile in unique_matches(
                  conn, organizer_profiles, ["account_id", "profile"], "account_id", sorted(set(owners.values())),
                  {"organizer_id": organizer_id}, condition=f"source = '{SHARED}'")}
    return {
        email: _with_email(shared[account_id], email) if account_id in shared
        else _with_email(without_email(details[account_id]), email)
        for email, account_id in owners.items()
    }


def shareable(account: RowMapping, organizer_id: int) -> bool:
    """Whether opening a ticket of this organizer shares the account's profile with it: the profile is
    the spectator's (saved by them), or was pre-filled from this very organizer's details. A profile
    pre-filled by another organizer's injection is not the spectator's word and reaches nobody else."""
    return account["prefilled_by"] is None or account["prefilled_by"] == organizer_id


def to_share(conn: Connection, account: RowMapping, organizer_ids: Iterable[int]) -> list[int]:
    """Those of these organizers (whose tickets the account holds and opens) that opening would give
    something new: the profile is shareable with them and differs from what they hold. One query."""
    profile = without_email(profile_of(account))
    if not any(value is not None for value in profile.values()):
        return []  # nothing of theirs to share: what the organizer holds (its own details) stays
    current = {row.organizer_id: row for row in conn.execute(
        select(organizer_profiles).where(organizer_profiles.c.account_id == account["id"]))}
    return sorted(
        organizer_id for organizer_id in set(organizer_ids)
        if shareable(account, organizer_id)
        and not (organizer_id in current and current[organizer_id].source == SHARED
                 and current[organizer_id].profile == profile)
    )


def share(conn: Connection, organizer_id: int, account: RowMapping, now: datetime) -> None:
    """W10 (b): the account's own profile becomes the organizer's view (refreshed at every opening that
    finds it changed). The caller checked ``shareable`` (``to_share``)."""
    bulk_insert(
        conn, organizer_profiles,
        [{"organizer_id": organizer_id, "account_id": account["id"], "profile": without_email(profile_of(account)),
          "source": SHARED, "updated_at": now}],
        suffix="ON CONFLICT (organizer_id, account_id) DO UPDATE SET profile = excluded.profile, "
               "source = excluded.source, updated_at = excluded.updated_at",
    )
