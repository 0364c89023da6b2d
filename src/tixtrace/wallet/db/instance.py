"""This wallet's instance id (W11), one row of ``wallet_instance``: created once, then only read.

Two processes creating it at once both insert-or-ignore row 1 and read back the one that won, so a
database has exactly one identity for its whole life.
"""

from __future__ import annotations

import secrets

from sqlalchemy import Connection, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from tixtrace.kernel.db import is_sqlite
from tixtrace.wallet.db.tables import wallet_instance

_ROW = wallet_instance.c.id == 1


def read_instance_id(conn: Connection) -> str | None:
    """The instance id; None before the first feed read created it."""
    return conn.scalar(select(wallet_instance.c.instance_id).where(_ROW))


def ensure_instance_id(conn: Connection) -> str:
    """The instance id, created (32 random hex digits) if it does not exist yet: a write."""
    insert = sqlite_insert if is_sqlite(conn) else postgresql_insert
    conn.execute(insert(wallet_instance).values(id=1, instance_id=secrets.token_hex(16)).on_conflict_do_nothing())
    return str(conn.execute(select(wallet_instance.c.instance_id).where(_ROW)).scalar_one())
