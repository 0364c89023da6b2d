"""The feedback's position in the wallet's diff feed, per RETRIEVE_TICKET_STATUS schedule.

Two values, read and written together: the pagination key to ask the wallet for the next page, and
the last ``recordId`` applied (a page read again, after a crash or a refusal, skips what it covers).
Both are written only by the feedback, in the transaction of the records they cover, so the state
and the data it describes commit or roll back together (F6, invariant 6) — or cleared together by a
reset (O1): on purpose (``reset-feed``), or when the interface's URL or login changes, in the
transaction of that change, since a key names one wallet and one organizer (W11) and means nothing
to another. A reset makes the next run read the whole feed again, which changes nothing that was
already applied (F11).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, select, update

from tixtrace.backoffice.db.tables import schedules

#: the schedule function that reads the feed (services/schedules.py's ScheduleFunction, not imported:
#: that module imports the interfaces service, which resets feeds through this one)
FEEDBACK = "RETRIEVE_TICKET_STATUS"


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


def reset_feed_state(conn: Connection, schedule_id: int) -> None:
    """Clear the schedule's pagination key and last applied recordId: the next run reads from the start."""
    conn.execute(update(schedules).where(schedules.c.id == schedule_id)
                 .values(pagination_key=None, last_record_id=None))


def reset_interface_feed(conn: Connection, interface_id: int) -> None:
    """Reset the feed state of the interface's feedback schedule (there is at most one). Its lag (O4)
    starts again too: nothing of the feed it now names has been read. (A deliberate reset of the same
    feed keeps it: what was read up to then is still applied, F11.)"""
    conn.execute(update(schedules).where(schedules.c.interface_id == interface_id,
                                         schedules.c.function == FEEDBACK)
                 .values(pagination_key=None, last_record_id=None, caught_up_at=None))


def reset_if_moved(conn: Connection, interface_id: int, before: tuple[str, str], after: tuple[str, str]) -> bool:
    """O1: an interface whose (URL, login) changes names another wallet or organizer, whose feed its
    stored key does not belong to: reset it in the caller's transaction (the one saving the change).
    A trailing ``/`` of the URL and the case of the login (an e-mail) are not a change, as for the run
    locks. Returns whether it was reset."""
    def organizer(url: str, login: str) -> tuple[str, str]:
        return url.rstrip("/"), login.casefold()

    if organizer(*before) == organizer(*after):
        return False
    reset_interface_feed(conn, interface_id)
    return True
