"""An event's limit of spectator transfers per ticket (I3), sent at injection as transferRules.maxTransfers.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01

NULL (every existing event) means no limit.
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("events") as batch_op:
        batch_op.add_column(sa.Column("max_transfers", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("events") as batch_op:
        batch_op.drop_column("max_transfers")
