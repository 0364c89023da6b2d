"""The wallet's clock offset (W9): a restarted wallet goes on from where its sandbox clock was.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

No row means offset 0 (the real time); the first write of the offset inserts row 1.
(Written in parallel with 0004; the down revision is re-chained to 0004 when both are merged.)
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sandbox_clock",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("offset_microseconds", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_clock")),
    )


def downgrade() -> None:
    op.drop_table("sandbox_clock")
