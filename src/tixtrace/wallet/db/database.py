"""Opening the wallet's database: engine + migrations to the latest revision (DESIGN section 7)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, text

from tixtrace.kernel.db import is_sqlite, make_engine, migrate, unit_of_work
from tixtrace.kernel.errors import TixtraceError

SCRIPT_LOCATION = "tixtrace.wallet.db:migrations"
VERSION_TABLE = "wallet_alembic_version"
_LOCK_NAMESPACE = 0x7715  # first key of the PostgreSQL advisory locks taken per organizer


def open_wallet_database(url: str) -> Engine:
    engine = make_engine(url)
    migrate(engine, SCRIPT_LOCATION, VERSION_TABLE)
    return engine


def lock_organizer_log(conn: Connection, organizer_id: int) -> None:
    """Serialize the status-log appends of one organizer until this transaction ends.

    Record ids are drawn from a sequence when a row is inserted, but transactions may commit in
    another order; a reader paging by key could then pass a record that commits later with a smaller
    id. Taking this lock before the first append makes ids of one organizer visible in id order.
    SQLite needs nothing: BEGIN IMMEDIATE already admits one writer at a time.
    """
    if not is_sqlite(conn):
        conn.execute(text("SELECT pg_advisory_xact_lock(:ns, :org)"), {"ns": _LOCK_NAMESPACE, "org": organizer_id})


@contextmanager
def action_unit_of_work(engine: Engine) -> Iterator[Connection]:
    """The unit of work of a wallet action: like ``unit_of_work``, except that a refusal (a
    ``TixtraceError`` raised by the action) first commits what was written, then is raised again.

    Why: every write materializes the organizer's overdue expiries first (W6), and a refused action
    still commits the expiries it uncovered (docs/decisions.md), so the log never lags behind what
    people were told ("transfer not pending any more"). Services only write before a refusal what
    must be kept; any other exception rolls back.
    """
    refusal: TixtraceError | None = None
    with unit_of_work(engine) as conn:
        try:
            yield conn
        except TixtraceError as exc:
            refusal = exc
    if refusal is not None:
        raise refusal
