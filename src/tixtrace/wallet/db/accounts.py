"""Wallet accounts (spectators), one per normalized e-mail, and their profiles.

The profile is the shape the organizer API calls ``spectatorDetails`` and the diff feed calls
``profile``; it is built here once so that every record and response uses the same one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, select

from tixtrace.kernel.bulk import bulk_insert, bulk_insert_returning, one_of
from tixtrace.kernel.db import is_sqlite
from tixtrace.wallet.db.tables import accounts

#: profile field (camelCase, as on the wire) → accounts column
PROFILE_COLUMNS = {
    "title": "title",
    "firstName": "first_name",
    "lastName": "last_name",
    "email": "email",
    "dateOfBirth": "date_of_birth",
    "nationality": "nationality",
    "idCardNumber": "id_card_number",
    "phoneNumber": "phone_number",
    "residenceCountry": "residence_country",
    "language": "language",
}


def profile_of(row: Any, email: str | None = None) -> dict[str, Any]:
    """The wallet profile of an account row; an unknown person is a profile with only an e-mail."""
    if row is None:
        profile: dict[str, Any] = {key: None for key in PROFILE_COLUMNS}
        profile["email"] = email
        profile["organizerSpectatorPreference"] = None
        return profile
    profile = {key: row[column] for key, column in PROFILE_COLUMNS.items()}
    promo, third = row["allow_promo_email"], row["allow_third_party_email"]
    profile["organizerSpectatorPreference"] = (
        None if promo is None and third is None
        else {"allowPromoEmail": bool(promo), "allowThirdPartyEmail": bool(third)}
    )
    return profile


def columns_from_profile(profile: Mapping[str, Any]) -> dict[str, Any]:
    """accounts columns from a profile dict (camelCase keys); absent keys are left out."""
    values = {column: profile[key] for key, column in PROFILE_COLUMNS.items() if key in profile and key != "email"}
    preference = profile.get("organizerSpectatorPreference")
    if preference is not None:
        values["allow_promo_email"] = preference.get("allowPromoEmail")
        values["allow_third_party_email"] = preference.get("allowThirdPartyEmail")
    return values


def by_emails(conn: Connection, emails: Iterable[str]) -> dict[str, RowMapping]:
    wanted = sorted(set(emails))
    if not wanted:
        return {}
    rows = conn.execute(select(accounts).where(one_of(conn, accounts.c.email, wanted))).mappings()
    return {row["email"]: row for row in rows}


def ids_by_emails(conn: Connection, emails: Iterable[str]) -> dict[str, int]:
    """e-mail → account id of these (normalized) e-mails that have an account: two columns, one index range."""
    wanted = sorted(set(emails))
    if not wanted:
        return {}
    return {email: pk for email, pk in conn.execute(select(accounts.c.email, accounts.c.id)
                                                    .where(one_of(conn, accounts.c.email, wanted)))}


def by_ids(conn: Connection, ids: Iterable[int]) -> dict[int, RowMapping]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = conn.execute(select(accounts).where(one_of(conn, accounts.c.id, wanted))).mappings()
    return {row["id"]: row for row in rows}


def ensure(conn: Connection, profiles: Mapping[str, Mapping[str, Any] | None], now: datetime, *,
           prefilled_by: int | None = None) -> dict[str, RowMapping]:
    """The accounts of these (normalized) e-mails, creating the missing ones with the given profile.

    An existing account keeps its profile: injection only pre-fills a profile on first sight (W1), and
    marks it ``prefilled_by`` the injecting organizer (W10: not the spectator's word until they save it).
    Concurrent creators of one e-mail both succeed (ON CONFLICT DO NOTHING, then re-read).
    """
    found = by_emails(conn, profiles)
    missing = [email for email in profiles if email not in found]
    if missing:
        _create(conn, {email: profiles[email] for email in missing}, now, prefilled_by)
        found.update(by_emails(conn, missing))
    return found


def ensure_ids(conn: Connection, profiles: Mapping[str, Mapping[str, Any] | None], now: datetime, *,
               prefilled_by: int | None = None) -> dict[str, int]:
    """``ensure`` for callers that need only the ids (injection): e-mail → account id, the same rules,
    without reading whole rows back. PostgreSQL inserts first and reads only the e-mails that had an
    account (one round trip when all are new; the ids a conflict drew from the sequence are never used,
    C4 holds); SQLite, without round trips, reads, inserts the missing ones, reads them."""
    if is_sqlite(conn):
        found = ids_by_emails(conn, profiles)
        missing = [email for email in profiles if email not in found]
        if missing:
            _create(conn, {email: profiles[email] for email in missing}, now, prefilled_by)
            found.update(ids_by_emails(conn, missing))
        return found
    # in e-mail order: two writers creating the same new accounts wait on each other in one order, never a cycle
    rows = _rows(dict(sorted(profiles.items())), now, prefilled_by)
    found = dict(bulk_insert_returning(conn, accounts, rows, ["email", "id"], suffix="ON CONFLICT (email) DO NOTHING"))
    found.update(ids_by_emails(conn, [email for email in profiles if email not in found]))
    return found


def _create(conn: Connection, profiles: Mapping[str, Mapping[str, Any] | None], now: datetime,
            prefilled_by: int | None) -> None:
    """Insert the accounts of these e-mails with these profiles; one that exists meanwhile is kept."""
    bulk_insert(conn, accounts, _rows(profiles, now, prefilled_by), suffix="ON CONFLICT (email) DO NOTHING")


def _rows(profiles: Mapping[str, Mapping[str, Any] | None], now: datetime,
          prefilled_by: int | None) -> list[dict[str, Any]]:
    """New accounts rows of these e-mails, pre-filled with these profiles (W1, W10)."""
    rows = []
    for email, profile in profiles.items():
        row: dict[str, Any] = {column: None for column in PROFILE_COLUMNS.values()}
        row.update(allow_promo_email=None, allow_third_party_email=None)
        row.update(columns_from_profile(profile or {}))
        row.update(email=email, created_at=now, prefilled_by=prefilled_by if profile else None)
        rows.append(row)
    return rows
