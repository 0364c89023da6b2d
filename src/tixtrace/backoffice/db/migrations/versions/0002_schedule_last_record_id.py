"""The last wallet recordId a feedback schedule applied.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27

Records at or below it are ignored when a page is read again (after a crash, or a run stopped
before a bad record), so re-reading never applies a record twice.
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("schedules") as batch_op:
        batch_op.add_column(sa.Column("last_record_id", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("schedules") as batch_op:
        batch_op.drop_column("last_record_id")
