"""kernel/bulk.py: set-based page statements give exactly what row-by-row Core statements would.

On both databases, through a real table (the back office's contacts: texts, a date, booleans,
timezone-aware times), every value written by ``bulk_insert`` / ``bulk_update`` reads back as Core
reads it, ``constants`` and ``only_if`` behave as documented, ``one_of`` selects exactly its values
however many, and ``reserve_ids`` hands out new ascending ids in the writing transaction, never one
handed out before, not even a deleted row's (C4). ``bulk_copy`` (the wallet's tickets: JSON columns,
texts COPY must escape) reads back as Core's insert; ``bulk_insert_returning`` returns what it inserted.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select

from tixtrace.backoffice.db.database import open_backoffice_database
from tixtrace.backoffice.db.tables import contact_emails, contacts
from tixtrace.kernel.bulk import (
    bulk_copy,
    bulk_insert,
    bulk_insert_returning,
    bulk_update,
    one_of,
    reserve_ids,
    unique_matches,
)
from tixtrace.kernel.clock import TestClock
from tixtrace.kernel.db import unit_of_work
from tixtrace.wallet.db.database import open_wallet_database
from tixtrace.wallet.db.tables import accounts, tickets
from tixtrace.wallet.services.organizers import create_organizer

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


# -- bulk_copy / bulk_insert_returning (issue 15 item 2: the wallet's injection) ----------------------

#: what COPY's text format must escape, and what JSON must carry through it
ODD = "tab\t newline\n cr\r backslash\\ quote\" é 🎫 \\N"


@pytest.fixture
def wallet(database_url: Any) -> Iterator[Engine]:
    engine = open_wallet_database(database_url("wallet"))
    yield engine
    engine.dispose()


def _wallet_ticket(pk: int, organizer_id: int, account_id: int, **extra: Any) -> dict[str, Any]:
    return {"id": pk, "organizer_id": organizer_id, "ticket_id": f"T{pk}",
            "event": {"id": "E1", "name": ODD, "startTime": "2026-06-11T19:00:00.000Z", "address": {"zip": "0"}},
            "purchase": {"price": 120.5, "currency": None}, "barcode": ODD, "status": "INJECTED",
            "owner_id": account_id, "original_owner_id": account_id, "previous_owner_ids": [],
            "holder": None, "downloaded": False, "max_transfers": None, "transfers_done": 0,
            "show_deleted": True, "created_at": NOW, "updated_at": NOW + timedelta(microseconds=1), **extra}


def test_bulk_copy_reads_back_as_core_writes(wallet: Engine) -> None:
    """Texts COPY must escape, JSON columns (objects, lists, None), booleans, NULLs and times read back as
    Core's own insert of the same values reads back."""
    with unit_of_work(wallet) as conn:
        organizer, _ = create_organizer(conn, TestClock(NOW), "org@x.example")
        account_id = conn.execute(insert(accounts).values(email="a@x.example", created_at=NOW)
                                  .returning(accounts.c.id)).scalar_one()
        [core_pk, *copied] = reserve_ids(conn, tickets, 4)
        conn.execute(insert(tickets).values(_wallet_ticket(core_pk, organizer.id, account_id)))
        bulk_copy(conn, tickets, [
            _wallet_ticket(copied[0], organizer.id, account_id),
            _wallet_ticket(copied[1], organizer.id, account_id, holder={"firstName": ODD}, max_transfers=3,
                           previous_owner_ids=[account_id], downloaded=True),
            _wallet_ticket(copied[2], organizer.id, account_id, created_at=NOW + timedelta(days=1)),
        ])
    with unit_of_work(wallet, write=False) as conn:
        rows = {row["id"]: dict(row) for row in conn.execute(select(tickets)).mappings()}
    core = rows[core_pk]
    assert set(copied) <= set(rows)
    plain = {k: v for k, v in rows[copied[0]].items() if k not in {"id", "ticket_id"}}
    assert plain == {k: v for k, v in core.items() if k not in {"id", "ticket_id"}}
    assert rows[copied[1]]["holder"] == {"firstName": ODD} and rows[copied[1]]["max_transfers"] == 3
    assert rows[copied[1]]["previous_owner_ids"] == [account_id] and rows[copied[1]]["downloaded"] is True
    assert rows[copied[2]]["created_at"] == core["created_at"] + timedelta(days=1)  # each time its own
    assert rows[copied[2]]["updated_at"] == core["updated_at"]


def test_bulk_insert_returning_returns_the_rows_it_inserted_only(engine: Engine) -> None:
    with unit_of_work(engine) as conn:
        [pk] = reserve_ids(conn, contacts, 1)
        bulk_insert(conn, contacts, [{"id": pk, **_contact(1)}])
        rows = [{"email_key": key, "contact_id": pk, "created_at": NOW} for key in ("f1@x.example", "new@x.example")]
        bulk_insert(conn, contact_emails, rows[:1])
        if engine.dialect.name == "sqlite":
            with pytest.raises(NotImplementedError):
                bulk_insert_returning(conn, contact_emails, rows, ["email_key"])
            return
        returned = bulk_insert_returning(conn, contact_emails, rows, ["email_key", "contact_id"],
                                         suffix="ON CONFLICT (email_key) DO NOTHING")
        assert returned == [("new@x.example", pk)]
        assert sorted(conn.execute(select(contact_emails.c.email_key)).scalars()) == ["f1@x.example", "new@x.example"]


def test_unique_matches_finds_each_key_of_the_fixed_columns_only(wallet: Engine) -> None:
    """The rows of these keys with these fixed column values (another organizer's ticket of the same id
    is not one), a missing key finds nothing, ``condition`` filters, no keys is no rows."""
    with unit_of_work(wallet) as conn:
        first, _ = create_organizer(conn, TestClock(NOW), "one@x.example")
        second, _ = create_organizer(conn, TestClock(NOW), "two@x.example")
        account_id = conn.execute(insert(accounts).values(email="a@x.example", created_at=NOW)
                                  .returning(accounts.c.id)).scalar_one()
        pks = reserve_ids(conn, tickets, 6)
        bulk_copy(conn, tickets, [
            _wallet_ticket(pk, first.id if i < 4 else second.id, account_id, ticket_id=f"T{i % 4}",
                           status="DELETED" if i == 3 else "INJECTED")
            for i, pk in enumerate(pks)
        ])
    with unit_of_work(wallet, write=False) as conn:
        mine = unique_matches(conn, tickets, ["ticket_id", "id"], "ticket_id", ["T1", "T3", "T9", "T0"],
                              {"organizer_id": first.id})
        theirs = unique_matches(conn, tickets, ["id"], "ticket_id", ["T0", "T1", "T2"], {"organizer_id": second.id})
        live = unique_matches(conn, tickets, ["ticket_id"], "ticket_id", ["T1", "T3"], {"organizer_id": first.id},
                              condition="status = 'INJECTED'")
        nothing = unique_matches(conn, tickets, ["id"], "ticket_id", [], {"organizer_id": first.id})
    assert sorted(mine) == [("T0", pks[0]), ("T1", pks[1]), ("T3", pks[3])]
    assert sorted(theirs) == [(pks[4],), (pks[5],)]
    assert live == [("T1",)] and nothing == []
