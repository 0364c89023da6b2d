"""Distribution lines: where each line comes from in the wallet (F3, F10).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01

Adds ``opened_record_id`` (the recordId of the record that opened the line: lines are listed in
wallet order, never by a timestamp), ``sender_email``, ``initiated_by`` (SPECTATOR | ORGANIZER),
``transfer_reason`` (the organizer's reason of a W7 transfer; ``reason`` keeps the failure reason)
and ``expires_at``. The (ticket_id, opened_record_id, id) index replaces the (ticket_id,
initiated_at, id) one.

Existing lines: ``initiated_by`` SPECTATOR (the back office could not start a transfer before), and
``opened_record_id`` = id - (max id + 1): negative, so every line read before this migration stays
before every line read after it (a recordId is positive), and among themselves in id order, which
is the order the feedback created them in.
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("distribution_lines") as batch:
        batch.add_column(sa.Column("opened_record_id", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("sender_email", sa.String(length=320), nullable=True))
        batch.add_column(sa.Column("initiated_by", sa.String(length=10), nullable=False,
                                   server_default="SPECTATOR"))
        batch.add_column(sa.Column("transfer_reason", sa.String(length=500), nullable=True))
        batch.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE distribution_lines SET opened_record_id = id - "
               "(SELECT COALESCE(MAX(id), 0) + 1 FROM distribution_lines)")
    # SQLite rebuilds the table for NOT NULL; the flag keeps its ids from being reused (C4), since a
    # rebuilt table does not inherit AUTOINCREMENT (alembic does not reflect it)
    with op.batch_alter_table("distribution_lines", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.alter_column("opened_record_id", existing_type=sa.BigInteger(), nullable=False)
        batch.drop_index("ix_distribution_lines_ticket_id_initiated_at")
        batch.create_index("ix_distribution_lines_ticket_id_opened_record_id",
                           ["ticket_id", "opened_record_id", "id"])


def downgrade() -> None:
    with op.batch_alter_table("distribution_lines") as batch:
        batch.drop_index("ix_distribution_lines_ticket_id_opened_record_id")
        batch.create_index("ix_distribution_lines_ticket_id_initiated_at", ["ticket_id", "initiated_at", "id"])
        for column in ("expires_at", "transfer_reason", "initiated_by", "sender_email", "opened_record_id"):
            batch.drop_column(column)
