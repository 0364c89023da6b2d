"""Server-side sessions, the login throttle in the database, disabled users, encrypted interface passwords.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01

- ``sessions``: one row per signed-in browser; the cookie holds a random token, the row only its
  SHA-256 digest. Sign-out, disabling the user and a new password delete rows (DESIGN 10).
- ``login_attempts``: the throttle, one row per normalized user name (its SHA-256 digest) and window.
- ``users.disabled_at``: a disabled user can neither sign in nor keep a session.
- ``interfaces.password`` becomes Text and every stored password is encrypted with the service's
  secret key (`tixtrace.backoffice.secret_key`); the downgrade decrypts them back. (Written in
  parallel with other 0008s; the down revision is re-chained when they are merged.)
"""
import sqlalchemy as sa
from alembic import op

from tixtrace.backoffice.secret_key import decrypt_password, encrypt_password, is_encrypted

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_interfaces = sa.table("interfaces", sa.column("id", sa.Integer), sa.column("password", sa.Text))


def _rewrite_passwords(encrypt: bool) -> None:
    bind = op.get_bind()
    for row in bind.execute(sa.select(_interfaces.c.id, _interfaces.c.password)).all():
        if encrypt == is_encrypted(row.password):
            continue
        value = encrypt_password(row.password) if encrypt else decrypt_password(row.password)
        bind.execute(sa.update(_interfaces).where(_interfaces.c.id == row.id).values(password=value))


def upgrade() -> None:
    op.create_table(
        "sessions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE",
                                                         name="fk_sessions_user_id_users"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("token_hash", name="uq_sessions_token_hash"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_sessions_user_id", "sessions", ["user_id"])
    op.create_table(
        "login_attempts",
        sa.Column("name_key", sa.String(64), primary_key=True),
        sa.Column("window_start", sa.BigInteger(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
    )
    op.create_index("ix_login_attempts_window_start", "login_attempts", ["window_start"])
    with op.batch_alter_table("users", table_kwargs={"sqlite_autoincrement": True}) as batch_op:
        batch_op.add_column(sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True))
    # SQLite rebuilds the table for a new column type: keep its AUTOINCREMENT (C4, migration 0005)
    with op.batch_alter_table("interfaces", table_kwargs={"sqlite_autoincrement": True}) as batch_op:
        batch_op.alter_column("password", type_=sa.Text(), existing_type=sa.String(500), existing_nullable=False)
    _rewrite_passwords(encrypt=True)


def downgrade() -> None:
    _rewrite_passwords(encrypt=False)
    with op.batch_alter_table("interfaces", table_kwargs={"sqlite_autoincrement": True}) as batch_op:
        batch_op.alter_column("password", type_=sa.String(500), existing_type=sa.Text(), existing_nullable=False)
    with op.batch_alter_table("users", table_kwargs={"sqlite_autoincrement": True}) as batch_op:
        batch_op.drop_column("disabled_at")
    op.drop_index("ix_login_attempts_window_start", table_name="login_attempts")
    op.drop_table("login_attempts")
    op.drop_index("ix_sessions_user_id", table_name="sessions")
    op.drop_table("sessions")
