"""The feedback's position in the wallet's diff feed, per RETRIEVE_TICKET_STATUS schedule.

Two values, read and written together: the pagination key to ask the wallet for the next page, and
the last ``recordId`` applied (a page read again, after a crash or a refusal, skips what it covers).
Both are written only by the feedback, in the transaction of the records they cover, so the state
and the data it describes commit or roll back together (F6, invariant 6).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, select, update

from tixtrace.backoffice.db.tables import schedules


@dataclass(frozen=True)
class FeedState:
    pagination_key: str | None  # None: from the start of the feed
    last_record_id: int  # 0: nothing applied yet


def load_feed_state(conn: Connection, schedule_id: int) -> FeedState:
    row = conn.execute(select(schedules.c.pagination_key, schedules.c.last_record_id)
                       .where(schedules.c.id == schedule_id)).one()
    return FeedState(row.pagination_key, row.last_record_id or 0)


def save_feed_state(conn: Connection, schedule_id: int, state: FeedState) -> None:
    """Write the state in the caller's transaction (the one that applies the records it covers)."""
    conn.execute(update(schedules).where(schedules.c.id == schedule_id)
                 .values(pagination_key=state.pagination_key, last_record_id=state.last_record_id))
