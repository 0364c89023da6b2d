"""Who launched each execution (O2 ``launchedBy``), and the global executions list's indexes.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02

``launched_by`` is a back-office user's name, ``scheduler`` or ``cli``; NULL on the executions
recorded before this migration (nobody knows who launched them). The global list
(``GET /api/executions``, ``/executions``) reads newest first filtered by status or function: the
``(status, id)`` and ``(function, id)`` indexes keep a rare status (ERROR among a million idle OK runs)
one index range away instead of a backward scan of the whole table.
"""
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("executions") as batch_op:
        batch_op.add_column(sa.Column("launched_by", sa.String(150), nullable=True))
    op.create_index("ix_executions_status_id", "executions", ["status", "id"])
    op.create_index("ix_executions_function_id", "executions", ["function", "id"])


def downgrade() -> None:
    op.drop_index("ix_executions_function_id", table_name="executions")
    op.drop_index("ix_executions_status_id", table_name="executions")
    with op.batch_alter_table("executions") as batch_op:
        batch_op.drop_column("launched_by")
