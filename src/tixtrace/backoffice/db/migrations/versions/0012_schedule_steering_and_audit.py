"""Schedules that can be paused and deleted (O1), and the audit log (O2).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02

- ``schedules.active``: false = paused; the scheduler starts only active schedules (every existing
  schedule stays active).
- ``schedules.deleted_at``: a deleted schedule is kept (hidden, never run) so that its executions,
  their logs and its parked records stay readable (docs/decisions.md, O1).
- ``audit_log``: one row per change made by a person or a process: who, when, what object, and the
  fields before and after (never a password), written in the transaction of the change.
"""
import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ADD COLUMN (SQLite supports it with a default): a batch would rebuild the table on SQLite
    # and lose its AUTOINCREMENT (ids never reused, C4)
    op.add_column("schedules", sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()))
    op.add_column("schedules", sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("action", sa.String(30), nullable=False),
        sa.Column("object_type", sa.String(20), nullable=False),
        sa.Column("object_id", sa.BigInteger(), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_audit_log_object_type_object_id_id", "audit_log", ["object_type", "object_id", "id"])
    op.create_index("ix_audit_log_object_type_id", "audit_log", ["object_type", "id"])


def downgrade() -> None:
    op.drop_index("ix_audit_log_object_type_id", table_name="audit_log")
    op.drop_index("ix_audit_log_object_type_object_id_id", table_name="audit_log")
    op.drop_table("audit_log")
    with op.batch_alter_table("schedules", table_kwargs={"sqlite_autoincrement": True}) as batch_op:
        batch_op.drop_column("deleted_at")
        batch_op.drop_column("active")
