"""Migration 0006 on lines written before it: wallet order kept (F10), SPECTATOR, and back again."""

from __future__ import annotations

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

from tests.support.migrations import downgrade
from tixtrace.backoffice.db.database import SCRIPT_LOCATION, VERSION_TABLE
from tixtrace.kernel.db import migrate

NOW = "2026-06-01 10:00:00+00:00"


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.attributes["version_table"] = VERSION_TABLE
    return config


#: the revision 0006 follows (whatever the chain became)
BEFORE = str(ScriptDirectory.from_config(_config()).get_revision("0006").down_revision)


def _to(engine: Engine, revision: str, *, down: bool = False) -> None:
    """Down to `revision`, or up to the head, with SQLite's foreign keys off as every migration runs."""
    if down:
        downgrade(engine, SCRIPT_LOCATION, VERSION_TABLE, revision)
    else:
        assert revision == "head"
        migrate(engine, SCRIPT_LOCATION, VERSION_TABLE)


def test_lines_from_before_0006_keep_their_order_before_every_later_line(engine: Engine) -> None:
    _to(engine, BEFORE, down=True)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO events (id, code, name, start_time, venue_site, venue_city, venue_zip, "
                          "venue_country_code, created_at) VALUES (1, 'E1', 'Final', :n, 's', 'c', 'z', 'FR', :n)"),
                     {"n": NOW})
        conn.execute(text("INSERT INTO contacts (id, kind, last_name, has_internet_account, is_temporary, created_at, "
                          "updated_at) VALUES (1, 'INDIVIDUAL', 'Lima', false, false, :n, :n)"), {"n": NOW})
        conn.execute(text("INSERT INTO tickets (id, number, event_id, barcode, status, cultural_contact_id, "
                          "owner_contact_id, created_at, updated_at) "
                          "VALUES (1, 'T1', 1, 'b', 'PRINTED', 1, 1, :n, :n)"),
                     {"n": NOW})
        for line_id, transfer in ((5, "a"), (7, "b"), (9, "c")):
            conn.execute(text("INSERT INTO distribution_lines (id, ticket_id, transfer_id, action, status, "
                              "initiated_at, recorded_at, updated_at) VALUES (:i, 1, :t, 'DISTRIBUTE', 'CONFIRMED', "
                              ":n, :n, :n)"), {"i": line_id, "t": transfer, "n": NOW})
    _to(engine, "head")
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, opened_record_id, initiated_by FROM distribution_lines "
                                 "ORDER BY opened_record_id, id")).all()
    assert [tuple(r) for r in rows] == [(5, -5, "SPECTATOR"), (7, -3, "SPECTATOR"), (9, -1, "SPECTATOR")]
    _to(engine, BEFORE, down=True)
    _to(engine, "head")
