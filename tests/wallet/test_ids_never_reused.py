"""C4 in the wallet's database: no id is handed out twice, not even a deleted row's, on SQLite as on
PostgreSQL (a status log record id above all: the back office keeps the last one it read), and the
upgrade to migration 0004 keeps every row and every id already handed out."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, Integer, delete, insert, text

from tests.support.migrations import downgrade, reflected, snapshot
from tixtrace.kernel.bulk import reserve_ids
from tixtrace.kernel.db import is_sqlite, make_engine, migrate, unit_of_work
from tixtrace.wallet.db.database import SCRIPT_LOCATION, VERSION_TABLE
from tixtrace.wallet.db.tables import metadata, status_log

NOW = datetime(2026, 6, 11, 18, 0, tzinfo=UTC)
SURROGATE_KEYED = [table for table in metadata.sorted_tables
                   if len(table.primary_key.columns) == 1
                   and isinstance(next(iter(table.primary_key.columns)).type, Integer)
                   and next(iter(table.primary_key.columns)).autoincrement is not False]


@pytest.fixture
def engine(database_url: Any) -> Iterator[Engine]:
    engine = make_engine(database_url("wallet"))
    yield engine
    engine.dispose()


def test_every_integer_key_comes_from_a_counter_that_never_goes_back(engine: Engine) -> None:
    assert {table.name for table in SURROGATE_KEYED} == {"organizers", "accounts", "tickets", "transfers",
                                                         "status_log"}
    with unit_of_work(engine, write=False) as conn:
        for table in SURROGATE_KEYED:
            assert table.dialect_options["sqlite"]["autoincrement"], table.name  # reserve_ids relies on it
            [key] = table.primary_key.columns
            if is_sqlite(engine):
                ddl = conn.execute(text("SELECT sql FROM sqlite_master WHERE name = :t"), {"t": table.name}).scalar()
                assert "AUTOINCREMENT" in ddl, table.name
            else:
                assert conn.execute(text("SELECT pg_get_serial_sequence(:t, :c)"),
                                    {"t": table.name, "c": key.name}).scalar(), table.name


def test_upgrade_keeps_rows_and_ids_and_no_deleted_id_comes_back(engine: Engine) -> None:
    downgrade(engine, SCRIPT_LOCATION, VERSION_TABLE, "0003")
    with unit_of_work(engine) as conn:  # written with the tables as they are at 0003
        organizers, accounts, tickets, log = reflected(conn, "organizers", "accounts", "tickets", "status_log")
        organizer = conn.execute(insert(organizers).values(
            email="org@x.example", api_key_hash="h", transfer_timeout_seconds=3600, acceptance_required=True,
            created_at=NOW).returning(organizers.c.id)).scalar_one()
        account_ids = [conn.execute(insert(accounts).values(email=f"a{i}@x.example", created_at=NOW)
                                    .returning(accounts.c.id)).scalar_one() for i in range(2)]
        ticket = conn.execute(insert(tickets).values(
            organizer_id=organizer, ticket_id="T1", event={}, purchase={}, barcode="B1", status="ACTIVE",
            owner_id=account_ids[0], original_owner_id=account_ids[0], previous_owner_ids=[], downloaded=False,
            transfers_done=0, show_deleted=False, created_at=NOW, updated_at=NOW).returning(tickets.c.id)).scalar_one()
        record_ids = [conn.execute(insert(log).values(
            organizer_id=organizer, ticket_pk=ticket, status="ACTIVE", occurred_at=NOW, body="{}")
            .returning(log.c.record_id)).scalar_one() for _ in range(3)]
        before = snapshot(conn, [organizers, accounts, tickets, log])

    migrate(engine, SCRIPT_LOCATION, VERSION_TABLE)

    with unit_of_work(engine) as conn:
        assert snapshot(conn, [organizers, accounts, tickets, log]) == before
        if is_sqlite(engine):
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1  # back on after the migration
        conn.execute(delete(log).where(log.c.record_id == record_ids[-1]))
        conn.execute(delete(accounts).where(accounts.c.id == account_ids[-1]))
    with unit_of_work(engine) as conn:
        assert reserve_ids(conn, status_log, 1, "record_id")[0] > record_ids[-1]
        assert conn.execute(insert(accounts).values(email="new@x.example", created_at=NOW)
                            .returning(accounts.c.id)).scalar_one() > account_ids[-1]
