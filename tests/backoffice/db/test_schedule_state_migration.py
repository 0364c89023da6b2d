"""Migration 0015 (O4, the overview's indexes): a schedule from before it has no lag yet (NULL
``caught_up_at``), its indexes exist afterwards, and it goes down and up again (on SQLite the
schedules table keeps its AUTOINCREMENT)."""

from __future__ import annotations

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text

from tests.support.migrations import downgrade
from tixtrace.backoffice.db.database import SCRIPT_LOCATION, VERSION_TABLE
from tixtrace.kernel.db import migrate

NOW = "2026-06-01 10:00:00+00:00"
INDEXES = {"executions": {"ix_executions_schedule_id_status_id", "ix_executions_status_started_at"},
           "distribution_lines": {"ix_distribution_lines_status_id"},
           "parked_records": {"ix_parked_records_ticket_number"}}


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.attributes["version_table"] = VERSION_TABLE
    return config


#: the revision 0015 follows (whatever the chain became)
BEFORE = str(ScriptDirectory.from_config(_config()).get_revision("0015").down_revision)


def _indexes(engine: Engine, table: str) -> set[str]:
    return {str(index["name"]) for index in inspect(engine).get_indexes(table)}


def test_a_schedule_from_before_has_no_lag_and_the_indexes_come_and_go(engine: Engine) -> None:
    downgrade(engine, SCRIPT_LOCATION, VERSION_TABLE, BEFORE)
    assert "caught_up_at" not in {c["name"] for c in inspect(engine).get_columns("schedules")}
    assert "ix_distribution_lines_status" in _indexes(engine, "distribution_lines")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO interfaces (id, name, type, url, login, password, notification_emails, "
                          "custom_parameters, parameters, warnings, created_at, updated_at) VALUES (1, 'i', 'TIXNGO', "
                          "'http://w/organizer/tickets', 'l', 'p', '[]', '', '{}', '[]', :n, :n)"), {"n": NOW})
        conn.execute(text("INSERT INTO schedules (id, interface_id, function, launch, frequency_minutes, batch_size, "
                          "skip_ticket_numbers, event_codes, created_at, updated_at) VALUES (1, 1, "
                          "'RETRIEVE_TICKET_STATUS', 'MANUAL', 5, 1000, '[]', '[]', :n, :n)"), {"n": NOW})
    migrate(engine, SCRIPT_LOCATION, VERSION_TABLE)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT caught_up_at FROM schedules WHERE id = 1")).scalar() is None
    for table, names in INDEXES.items():
        assert names <= _indexes(engine, table), table
    assert "ix_distribution_lines_status" not in _indexes(engine, "distribution_lines")
    downgrade(engine, SCRIPT_LOCATION, VERSION_TABLE, BEFORE)
    assert "ix_distribution_lines_status" in _indexes(engine, "distribution_lines")
    assert not INDEXES["executions"] & _indexes(engine, "executions")
    migrate(engine, SCRIPT_LOCATION, VERSION_TABLE)
    assert "caught_up_at" in {c["name"] for c in inspect(engine).get_columns("schedules")}
    if engine.dialect.name == "sqlite":  # down and up again, the schedules' ids are still never reused (C4)
        with engine.connect() as conn:
            assert "AUTOINCREMENT" in conn.execute(text(
                "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'schedules'")).scalar_one()
