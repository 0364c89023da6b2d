"""The wallet's instance id (W11): pagination keys name the wallet that issued them.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01

No row yet: the first read of the feed creates row 1 with a random id (``db/instance.py``), so that
every database, even one whose empty schema was copied from another, gets an identity of its own.
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "wallet_instance",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("instance_id", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wallet_instance")),
    )


def downgrade() -> None:
    op.drop_table("wallet_instance")
