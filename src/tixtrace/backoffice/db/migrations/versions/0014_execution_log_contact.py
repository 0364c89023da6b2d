"""The contact an execution's log line names (O3: log lines link to their ticket and contact).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02

NULL (every existing line) means the line names no contact. No foreign key: a line that says a
temporary contact was removed keeps naming it (ids are never reused, C4).
"""
import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("execution_logs") as batch_op:
        batch_op.add_column(sa.Column("contact_id", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("execution_logs") as batch_op:
        batch_op.drop_column("contact_id")
