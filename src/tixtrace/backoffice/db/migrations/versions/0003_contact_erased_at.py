"""When a contact was erased (data protection: the person is gone, the distribution history stays).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27

NULL for every contact that was never erased; set once by ``services.contacts.erase_contact``.
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("contacts") as batch_op:
        batch_op.add_column(sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("contacts") as batch_op:
        batch_op.drop_column("erased_at")
