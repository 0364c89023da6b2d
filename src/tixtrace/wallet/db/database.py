"""Opening the wallet's database: engine + migrations to the latest revision (DESIGN section 7)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, text

from tixtrace.kernel.db import is_sqlite, make_engine, migrate, unit_of_work
from tixtrace.kernel.errors import TixtraceError

SCRIPT_LOCATION = "tixtrace.wallet.db:migrations"
VERSION_TABLE = "wallet_alembic_version"
_INJECTION_LOCK_NAMESPACE = 0x7716  # first key of the PostgreSQL advisory lock of an organizer's injections


def open_wallet_database(url: str) -> Engine:
    engine = make_engine(url)
    migrate(engine, SCRIPT_LOCATION, VERSION_TABLE)
    return engine


def lock_organizer_injections(conn: Connection, organizer_id: int) -> None:
    """Serialize the injections of one organizer (not its other writes) until this transaction ends.

    An injection decides which ticket ids are new by reading them; two batches of one organizer naming
    the same ticket at the same time would otherwise both insert it (a unique violation, a 500) instead
    of one answering ALREADY_INJECTED (W1). Spectator and organizer actions on existing tickets do not
    take it: they lock the rows they change (``tickets_repo.load(..., lock=True)``). SQLite needs
    nothing: BEGIN IMMEDIATE already admits one writer at a time.
    """
    if not is_sqlite(conn):
        conn.execute(text("SELECT pg_advisory_xact_lock(:ns, :org)"),
                     {"ns": _INJECTION_LOCK_NAMESPACE, "org": organizer_id})


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
