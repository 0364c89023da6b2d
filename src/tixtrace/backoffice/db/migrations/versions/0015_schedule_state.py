"""O4, the state of each schedule at a glance, and the overview that gathers them.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02

- ``schedules.caught_up_at``: the start of the schedule's latest run that did all its work (the
  feedback: read the wallet's feed to its end, ``hasMore`` false; an injection or push: went through
  every ticket it selected). The lag is now minus it; NULL (every existing schedule) until such a run.
- ``executions (schedule_id, status, id)``: a schedule's latest OK run is one index seek, however many
  WARNING or ERROR runs came after it.
- ``executions (status, started_at)``: the executions in ERROR of the last 24 hours are one index range.
- ``distribution_lines (status, id)`` replaces ``(status)``: the pending lines, oldest first, are one
  index range on both databases (SQLite's index already ended with the rowid; PostgreSQL's did not);
  lines by status for ``GET /metrics`` read the same index.
- ``parked_records (ticket_number)``: a ticket's page lists its parked records without reading the others.
"""
import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ADD COLUMN, as in 0012: a batch that rebuilt the table on SQLite would lose its AUTOINCREMENT (C4)
    op.add_column("schedules", sa.Column("caught_up_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_executions_schedule_id_status_id", "executions", ["schedule_id", "status", "id"])
    op.create_index("ix_executions_status_started_at", "executions", ["status", "started_at"])
    op.drop_index("ix_distribution_lines_status", table_name="distribution_lines")
    op.create_index("ix_distribution_lines_status_id", "distribution_lines", ["status", "id"])
    op.create_index("ix_parked_records_ticket_number", "parked_records", ["ticket_number"])


def downgrade() -> None:
    op.drop_index("ix_parked_records_ticket_number", table_name="parked_records")
    op.drop_index("ix_distribution_lines_status_id", table_name="distribution_lines")
    op.create_index("ix_distribution_lines_status", "distribution_lines", ["status"])
    op.drop_index("ix_executions_status_started_at", table_name="executions")
    op.drop_index("ix_executions_schedule_id_status_id", table_name="executions")
    with op.batch_alter_table("schedules", table_kwargs={"sqlite_autoincrement": True}) as batch_op:
        batch_op.drop_column("caught_up_at")
