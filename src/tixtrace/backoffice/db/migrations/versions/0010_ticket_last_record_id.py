"""The recordId of the last wallet record applied to each ticket (F11: replaying the feed is a no-op).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02

NULL (every existing ticket) means none known: the next record of the ticket applies as before.
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch_op:
        batch_op.add_column(sa.Column("last_record_id", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch_op:
        batch_op.drop_column("last_record_id")
