"""Spectator sessions expire when idle (``last_used_at``): a token unused for 30 days stops working.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02

Existing sessions count as last used when they were created. (Written in parallel with other
branches; the down revision is re-chained when they are merged.)
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("sessions", sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE sessions SET last_used_at = created_at")
    with op.batch_alter_table("sessions") as batch:
        batch.alter_column("last_used_at", existing_type=sa.DateTime(timezone=True), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("last_used_at")
