"""C4 in the back office's database: no id is handed out twice, not even a deleted row's, on SQLite
as on PostgreSQL, and the upgrade to migration 0005 keeps every row and every id already handed out."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, Integer, delete, insert, text

from tests.support.migrations import downgrade, reflected, snapshot
from tixtrace.backoffice.db.database import SCRIPT_LOCATION, VERSION_TABLE
from tixtrace.backoffice.db.tables import distribution_lines, metadata
from tixtrace.kernel.db import is_sqlite, make_engine, migrate, unit_of_work

NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
SURROGATE_KEYED = [table for table in metadata.sorted_tables
                   if len(table.primary_key.columns) == 1
                   and isinstance(next(iter(table.primary_key.columns)).type, Integer)
                   and next(iter(table.primary_key.columns)).autoincrement is not False]


@pytest.fixture
def engine(database_url: Any) -> Iterator[Engine]:
    engine = make_engine(database_url("backoffice"))
    yield engine
    engine.dispose()


def test_every_integer_key_comes_from_a_counter_that_never_goes_back(engine: Engine) -> None:
    assert {table.name for table in SURROGATE_KEYED} >= {"contacts", "tickets", "distribution_lines", "executions"}
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
    downgrade(engine, SCRIPT_LOCATION, VERSION_TABLE, "0004")
    with unit_of_work(engine) as conn:  # written with the tables as they are at 0004
        contacts, claims, events, tickets, lines = reflected(
            conn, "contacts", "contact_emails", "events", "tickets", "distribution_lines")

        def contact(conn: Connection, name: str, temporary: bool = False) -> int:
            return int(conn.execute(insert(contacts).values(
                kind="INDIVIDUAL", last_name=name, email=f"{name}@x.example", email_key=f"{name}@x.example",
                has_internet_account=False, is_temporary=temporary, created_at=NOW, updated_at=NOW,
            ).returning(contacts.c.id)).scalar_one())

        ana, bob, temporary = contact(conn, "ana"), contact(conn, "bob"), contact(conn, "pending", temporary=True)
        conn.execute(insert(claims).values(email_key="pending@x.example", contact_id=temporary, created_at=NOW))
        event = conn.execute(insert(events).values(
            code="M01", name="Opening", start_time=NOW, venue_site="S", venue_city="C", venue_zip="Z",
            venue_country_code="MX", created_at=NOW).returning(events.c.id)).scalar_one()
        ticket_ids = [conn.execute(insert(tickets).values(
            number=f"T{i}", event_id=event, barcode=f"B{i}", status="PRINTED", cultural_contact_id=ana,
            owner_contact_id=ana, created_at=NOW, updated_at=NOW).returning(tickets.c.id)).scalar_one()
            for i in range(2)]
        line_ids = [conn.execute(insert(lines).values(
            ticket_id=ticket_ids[0], transfer_id=f"x{i}", action="DISTRIBUTE", old_contact_id=ana,
            new_contact_id=new, recipient_email="pending@x.example", status="PENDING", initiated_at=NOW,
            recorded_at=NOW, updated_at=NOW).returning(lines.c.id)).scalar_one()
            for i, new in enumerate((bob, temporary))]
        before = snapshot(conn, [contacts, claims, events, tickets, lines])

    migrate(engine, SCRIPT_LOCATION, VERSION_TABLE)

    with unit_of_work(engine) as conn:
        assert snapshot(conn, [contacts, claims, events, tickets, lines]) == before  # nothing cascaded or lost
        if is_sqlite(engine):
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1  # back on after the migration
        # the newest of each deleted, as F5 deletes a temporary contact
        conn.execute(delete(lines).where(lines.c.id == line_ids[-1]))
        conn.execute(delete(tickets).where(tickets.c.id == ticket_ids[-1]))
        conn.execute(delete(contacts).where(contacts.c.id == temporary))
    with unit_of_work(engine) as conn:
        assert contact(conn, "carl") > temporary
        new_ticket = conn.execute(insert(tickets).values(
            number="T9", event_id=event, barcode="B9", status="PRINTED", cultural_contact_id=ana,
            owner_contact_id=ana, created_at=NOW, updated_at=NOW).returning(tickets.c.id)).scalar_one()
        assert new_ticket > ticket_ids[-1]
        new_line = conn.execute(insert(distribution_lines).values(  # the table as it is now, at the head
            ticket_id=ticket_ids[0], transfer_id="x9", action="DISTRIBUTE", status="PENDING", initiated_at=NOW,
            opened_record_id=9, recorded_at=NOW, updated_at=NOW).returning(distribution_lines.c.id)).scalar_one()
        assert new_line > line_ids[-1]
