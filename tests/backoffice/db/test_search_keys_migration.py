"""Migration 0013 fills the folded names of the contacts written before it; and back again."""

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


#: the revision 0013 follows (whatever the chain became)
BEFORE = str(ScriptDirectory.from_config(_config()).get_revision("0013").down_revision)


def test_existing_contacts_get_their_search_keys(engine: Engine) -> None:
    downgrade(engine, SCRIPT_LOCATION, VERSION_TABLE, BEFORE)
    names = [(1, "Chloé", "Lima"), (2, None, "ÆRØ Structure"), (3, "  Zoë ", "D'Argent  Łukasz"),
             *[(n, "Ana", f"Nº{n}") for n in range(4, 12)]]
    with engine.begin() as conn:
        for contact_id, first, last in names:
            conn.execute(text("INSERT INTO contacts (id, kind, first_name, last_name, has_internet_account, "
                              "is_temporary, created_at, updated_at) VALUES (:i, 'INDIVIDUAL', :f, :l, false, "
                              "false, :n, :n)"), {"i": contact_id, "f": first, "l": last, "n": NOW})
    migrate(engine, SCRIPT_LOCATION, VERSION_TABLE)
    with engine.connect() as conn:
        keys = {row.id: (row.search_name, row.search_name_reversed) for row in conn.execute(
            text("SELECT id, search_name, search_name_reversed FROM contacts"))}
    assert keys[1] == ("chloe lima", "lima chloe")
    assert keys[2] == ("aero structure", "aero structure")
    assert keys[3] == ("zoe d'argent lukasz", "d'argent lukasz zoe")
    assert keys[11] == ("ana no11", "no11 ana")
    assert all(value[0] for value in keys.values())
    downgrade(engine, SCRIPT_LOCATION, VERSION_TABLE, BEFORE)
    migrate(engine, SCRIPT_LOCATION, VERSION_TABLE)
