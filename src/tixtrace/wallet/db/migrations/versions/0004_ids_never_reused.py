"""Ids are never reused (C4): every integer surrogate key becomes AUTOINCREMENT on SQLite.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01

Without AUTOINCREMENT SQLite gives a new row the largest id in the table plus one, so deleting the
newest row handed its id to the next row; a status log record id, which the back office keeps as the
last one it read, must never come back either. SQLite cannot add AUTOINCREMENT to a table: each
table is rebuilt (batch mode, recreate="always": a new table, the rows copied with their ids, the old
one dropped, the new one renamed; foreign keys are off during migrations, see ``kernel.db.migrate``). Its
``sqlite_sequence`` counter then starts at the largest id present, so no id held by a row is ever
handed out again. (An id deleted from the top of a table before this upgrade left no trace anywhere:
nothing can keep it from being handed out once more.)

PostgreSQL: nothing to do, sequences never hand out an id twice.
"""
from alembic import op
from sqlalchemy import text

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# (table, integer surrogate key) as they stand at 0003, parents before children
TABLES = (
    ("organizers", "id"),
    ("accounts", "id"),
    ("tickets", "id"),
    ("transfers", "id"),
    ("status_log", "record_id"),
)


def _rebuild(autoincrement: bool) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    for table, key in TABLES:
        with op.batch_alter_table(table, recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}):
            pass
        if not autoincrement:
            continue
        # The copy already moved the counter to the largest id copied; make sure of it, whatever the
        # SQLite version does on a rename.
        top = bind.execute(text(f"SELECT max({key}) FROM {table}")).scalar()
        if top is None:
            continue
        seq = bind.execute(text("SELECT seq FROM sqlite_sequence WHERE name = :t"), {"t": table}).scalar()
        if seq is None:
            bind.execute(text("INSERT INTO sqlite_sequence (name, seq) VALUES (:t, :s)"), {"t": table, "s": top})
        elif seq < top:
            bind.execute(text("UPDATE sqlite_sequence SET seq = :s WHERE name = :t"), {"t": table, "s": top})
    broken = bind.execute(text("PRAGMA foreign_key_check")).first()
    if broken is not None:  # raising rolls the rebuild back
        raise RuntimeError(f"rebuilding the tables broke a reference: {tuple(broken)}")


def upgrade() -> None:
    _rebuild(autoincrement=True)


def downgrade() -> None:
    _rebuild(autoincrement=False)
