"""kernel/bulk.py: set-based page statements give exactly what row-by-row Core statements would.

On both databases, through a real table (the back office's contacts: texts, a date, booleans,
timezone-aware times), every value written by ``bulk_insert`` / ``bulk_update`` reads back as Core
reads it, ``constants`` and ``only_if`` behave as documented, ``one_of`` selects exactly its values
however many, and ``reserve_ids`` hands out new ascending ids in the writing transaction, never one
handed out before, not even a deleted row's (C4).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select

from tixtrace.backoffice.db.database import open_backoffice_database
from tixtrace.backoffice.db.tables import contact_emails, contacts
from tixtrace.kernel.bulk import bulk_insert, bulk_update, one_of, reserve_ids
from tixtrace.kernel.db import unit_of_work

NOW = datetime(2026, 7, 19, 19, 0, 0, 123456, tzinfo=UTC)


@pytest.fixture
def engine(database_url: Any) -> Iterator[Engine]:
    engine = open_backoffice_database(database_url("backoffice"))
    yield engine
    engine.dispose()


def _contact(i: int, **extra: Any) -> dict[str, Any]:
    return {"kind": "INDIVIDUAL", "first_name": f"Fan {i}", "last_name": "O'Brien \"the\" ñ",
            "email": f"f{i}@x.example", "email_key": f"f{i}@x.example",
            "birth_date": date(1990, 1, 1) + timedelta(days=i),
            "allow_promo_email": i % 2 == 0, "allow_third_party_email": None, "has_internet_account": True,
            "is_temporary": i % 3 == 0, "created_at": NOW, "updated_at": NOW, **extra}


def _read(engine: Engine) -> dict[int, dict[str, Any]]:
    with unit_of_work(engine, write=False) as conn:
        return {row["id"]: dict(row) for row in conn.execute(select(contacts)).mappings()}


def test_bulk_insert_with_reserved_ids_reads_back_as_core_writes(engine: Engine) -> None:
    with unit_of_work(engine) as conn:
        core_id = conn.execute(insert(contacts).values(_contact(0)).returning(contacts.c.id)).scalar_one()
        ids = reserve_ids(conn, contacts, 5)
        bulk_insert(conn, contacts, [{"id": pk, **_contact(i)} for i, pk in enumerate(ids, start=1)])
    assert ids == sorted(ids) and len(set(ids)) == 5 and min(ids) > core_id
    rows = _read(engine)
    core = rows[core_id]
    for i, pk in enumerate(ids, start=1):
        row = rows[pk]
        assert row["birth_date"] == date(1990, 1, 1) + timedelta(days=i)
        assert row["created_at"] == core["created_at"]  # the same time, read back the same way
        assert row["last_name"] == core["last_name"] and row["first_name"] == f"Fan {i}"
        assert row["allow_promo_email"] is (i % 2 == 0) and row["allow_third_party_email"] is None
        assert row["is_temporary"] is (i % 3 == 0)


def test_bulk_insert_suffix_on_conflict(engine: Engine) -> None:
    with unit_of_work(engine) as conn:
        [pk] = reserve_ids(conn, contacts, 1)
        assert bulk_insert(conn, contacts, [{"id": pk, **_contact(1)}]) == 1
        rows = [{"email_key": "f1@x.example", "contact_id": pk, "created_at": NOW}]
        assert bulk_insert(conn, contact_emails, rows, suffix="ON CONFLICT (email_key) DO NOTHING") == 1
        # a no-op, and the count says which rows went in (the contact claim, C2, relies on it)
        more = [*rows, {"email_key": "f2@x.example", "contact_id": pk, "created_at": NOW}]
        assert bulk_insert(conn, contact_emails, more, suffix="ON CONFLICT (email_key) DO NOTHING") == 1
        assert bulk_insert(conn, contact_emails, more, suffix="ON CONFLICT (email_key) DO NOTHING") == 0
        assert conn.execute(select(contact_emails.c.email_key).where(contact_emails.c.contact_id == pk)
                            .order_by(contact_emails.c.email_key)).scalars().all() == ["f1@x.example", "f2@x.example"]


def test_bulk_update_sets_each_row_its_values_and_the_constants_only_where_allowed(engine: Engine) -> None:
    with unit_of_work(engine) as conn:
        ids = reserve_ids(conn, contacts, 6)
        bulk_insert(conn, contacts, [{"id": pk, **_contact(i)} for i, pk in enumerate(ids)])
    later = NOW + timedelta(hours=1)
    with unit_of_work(engine) as conn:
        bulk_update(conn, contacts, [{"id": pk, "first_name": f"New {pk}", "birth_date": None} for pk in ids],
                    constants={"updated_at": later, "has_internet_account": False}, only_if="is_temporary")
    rows = _read(engine)
    for i, pk in enumerate(ids):
        row = rows[pk]
        if i % 3 == 0:  # temporary: updated
            assert (row["first_name"], row["birth_date"], row["has_internet_account"]) == (f"New {pk}", None, False)
            assert row["updated_at"] == rows[ids[0]]["updated_at"] != rows[ids[1]]["updated_at"]
        else:  # not temporary: left alone
            assert (row["first_name"], row["has_internet_account"]) == (f"Fan {i}", True)
            assert row["birth_date"] == date(1990, 1, 1) + timedelta(days=i)


def test_one_of_selects_exactly_its_values_however_many(engine: Engine) -> None:
    with unit_of_work(engine) as conn:
        ids = reserve_ids(conn, contacts, 3000)
        bulk_insert(conn, contacts, [{"id": pk, **_contact(i)} for i, pk in enumerate(ids)])
    wanted = ids[::3] + [10**12]  # and one that does not exist
    with unit_of_work(engine, write=False) as conn:
        found = conn.execute(select(contacts.c.id).where(one_of(conn, contacts.c.id, wanted))).scalars().all()
        keys = conn.execute(select(contacts.c.id).where(
            one_of(conn, contacts.c.email_key, ["f1@x.example", "nobody@x.example"]))).scalars().all()
        nothing = conn.execute(select(contacts.c.id).where(one_of(conn, contacts.c.id, []))).scalars().all()
    assert sorted(found) == ids[::3] and keys == [ids[1]] and nothing == []


def test_reserved_ids_are_new_after_rows_inserted_by_core(engine: Engine) -> None:
    with unit_of_work(engine) as conn:
        first = reserve_ids(conn, contacts, 3)
        bulk_insert(conn, contacts, [{"id": pk, **_contact(i)} for i, pk in enumerate(first)])
        core = conn.execute(insert(contacts).values(_contact(9)).returning(contacts.c.id)).scalar_one()
        second = reserve_ids(conn, contacts, 3)
    assert core not in first and not set(first) & set(second) and core not in second
    assert second == sorted(second) and min(second) > max(first)


def test_reserved_ids_never_include_a_deleted_rows_id(engine: Engine) -> None:
    """C4: the newest row deleted (as F5 deletes a temporary contact), its id is not handed out again,
    neither by a reservation nor by a Core insert."""
    with unit_of_work(engine) as conn:
        ids = reserve_ids(conn, contacts, 3)
        bulk_insert(conn, contacts, [{"id": pk, **_contact(i)} for i, pk in enumerate(ids)])
    with unit_of_work(engine) as conn:
        conn.execute(contacts.delete().where(contacts.c.id == ids[-1]))
    with unit_of_work(engine) as conn:
        [reserved] = reserve_ids(conn, contacts, 1)
        bulk_insert(conn, contacts, [{"id": reserved, **_contact(7)}])
    with unit_of_work(engine) as conn:
        conn.execute(contacts.delete().where(contacts.c.id == reserved))
    with unit_of_work(engine) as conn:
        core = conn.execute(insert(contacts).values(_contact(8)).returning(contacts.c.id)).scalar_one()
    assert reserved > ids[-1] and core > reserved


def test_a_reservation_holds_before_its_rows_are_inserted(engine: Engine) -> None:
    with unit_of_work(engine) as conn:
        first = reserve_ids(conn, contacts, 2)
        second = reserve_ids(conn, contacts, 2)  # nothing inserted in between
        core = conn.execute(insert(contacts).values(_contact(1)).returning(contacts.c.id)).scalar_one()
        bulk_insert(conn, contacts, [{"id": pk, **_contact(i)} for i, pk in enumerate(first + second, start=2)])
    assert first == sorted(first) and second == sorted(second) and max(first) < min(second) < max(second) < core
