"""Migration 0011 (``executions.launched_by``, the global list's indexes) on executions recorded before
it: they stay, with nobody known as their launcher (NULL, ``launchedBy: null``); down and up again."""

from __future__ import annotations

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, select

from tests.support.backoffice import START
from tests.support.migrations import downgrade
from tixtrace.backoffice.db.database import SCRIPT_LOCATION, VERSION_TABLE
from tixtrace.backoffice.db.tables import executions
from tixtrace.backoffice.services.executions import start_execution
from tixtrace.backoffice.services.interfaces import NewInterface, create_interface
from tixtrace.backoffice.services.schedules import NewSchedule, create_schedule
from tixtrace.kernel.db import migrate, unit_of_work


def _before() -> str:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.attributes["version_table"] = VERSION_TABLE
    return str(ScriptDirectory.from_config(config).get_revision("0011").down_revision)


def test_executions_from_before_0011_are_kept_with_no_launcher(engine: Engine) -> None:
    with unit_of_work(engine) as conn:
        interface = create_interface(conn, NewInterface("t", "TIXNGO", "http://127.0.0.1:9/organizer/tickets",
                                                        "a@b.example", "k", [], ""), START, actor="test").id
        schedule = create_schedule(conn, interface, NewSchedule("PUSH_CANCELLED", "MANUAL"), START, actor="test").id
        execution = start_execution(conn, schedule, START, launched_by="ana").id
    downgrade(engine, SCRIPT_LOCATION, VERSION_TABLE, _before())
    assert "launched_by" not in {c["name"] for c in inspect(engine).get_columns("executions")}
    migrate(engine, SCRIPT_LOCATION, VERSION_TABLE)
    with unit_of_work(engine, write=False) as conn:
        assert conn.execute(select(executions.c.id, executions.c.launched_by)).all() == [(execution, None)]
    indexes = {index["name"] for index in inspect(engine).get_indexes("executions")}
    assert {"ix_executions_status_id", "ix_executions_function_id"} <= indexes
