"""The audit log (O2): who changed what, when, and the fields before and after.

Every service function that changes an interface, a schedule, a ticket (an operator's action) or a
user calls `record` with the caller's connection, so the entry commits or rolls back with the change
it describes (house rule 3): a refused change leaves no entry, an entry never describes a change
that did not happen.

Invariants:
- ``actor`` is a back-office user's name (the API's or the screens' signed-in user), ``scheduler``
  or ``cli``: the caller names it, a service never guesses it.
- ``changes`` is ``{field: [before, after]}`` with the API's camelCase field names and JSON values;
  only the fields that differ are kept. A password never appears: its change shows as
  ``[SECRET, SECRET]`` (changed, values withheld).
- Entries are only ever added; they are read newest first by id (a keyset, no OFFSET).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, insert, select

from tixtrace.backoffice.db.tables import audit_log
from tixtrace.backoffice.domain.executions import CLI, SCHEDULER  # noqa: F401 (the actors that are processes)
from tixtrace.backoffice.services.validation import Checker
from tixtrace.backoffice.services.views import view_of
from tixtrace.kernel.clock import as_utc, isoformat

#: what a password's before and after show: that it changed, never what it was or became
SECRET = "(secret)"
#: field names that are never written with their values, whatever the object
SECRET_FIELDS = frozenset({"password", "passwordHash"})


class ObjectType(StrEnum):
    INTERFACE = "interface"
    SCHEDULE = "schedule"
    TICKET = "ticket"
    USER = "user"


class Action(StrEnum):
    CREATE = "CREATE"
    UPDATE = "UPDATE"
    PAUSE = "PAUSE"
    RESUME = "RESUME"
    DELETE = "DELETE"
    RESET_FEED = "RESET_FEED"
    RUN = "RUN"
    PRINT = "PRINT"
    CANCEL = "CANCEL"
    INVALIDATE = "INVALIDATE"
    CONTROL = "CONTROL"
    REPRINT = "REPRINT"
    TRANSFER = "TRANSFER"
    DISABLE = "DISABLE"
    SET_PASSWORD = "SET_PASSWORD"


@dataclass(frozen=True)
class AuditEntry:
    """One change as the audit log keeps it."""

    id: int
    at: datetime
    actor: str
    action: str
    object_type: str
    object_id: int
    changes: dict[str, list[Any]]


def _plain(value: Any) -> Any:
    """A value as JSON keeps it (times as RFC 3339 UTC, lists copied)."""
    if isinstance(value, datetime):
        return isoformat(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    return value


def diff(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> dict[str, list[Any]]:
    """``{field: [before, after]}`` for the fields whose values differ (a creation: before None; a
    deletion: after None). A field of `SECRET_FIELDS` shows ``[SECRET, SECRET]`` when it is set on
    either side and the two differ, never its values."""
    old, new = before or {}, after or {}
    changes: dict[str, list[Any]] = {}
    for name in [*old, *[key for key in new if key not in old]]:
        was, now = _plain(old.get(name)), _plain(new.get(name))
        if was == now:
            continue
        if name in SECRET_FIELDS:
            changes[name] = [SECRET if was is not None else None, SECRET if now is not None else None]
        else:
            changes[name] = [was, now]
    return changes


def record(conn: Connection, *, actor: str, action: Action, object_type: ObjectType, object_id: int,
           changes: Mapping[str, list[Any]], at: datetime) -> None:
    """Add one entry in the caller's transaction (the one making the change it describes)."""
    if not actor:
        raise ValueError("an audit entry needs its actor")
    leaked = [name for name, pair in changes.items()
              if name in SECRET_FIELDS and any(value not in (None, SECRET) for value in pair)]
    if leaked:
        raise ValueError(f"an audit entry never holds a password: {leaked}")
    conn.execute(insert(audit_log).values(at=as_utc(at), actor=actor[:100], action=action.value,
                                          object_type=object_type.value, object_id=object_id,
                                          changes=dict(changes)))


def record_many(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Add entries in bulk (one INSERT), each a mapping of `record`'s keyword arguments."""
    if rows:
        conn.execute(insert(audit_log), [
            {"at": as_utc(row["at"]), "actor": row["actor"][:100], "action": row["action"].value,
             "object_type": row["object_type"].value, "object_id": row["object_id"], "changes": dict(row["changes"])}
            for row in rows])


def list_audit(conn: Connection, *, object_type: str | None = None, object_id: int | None = None,
               before_id: int | None = None, limit: int = 100) -> tuple[list[AuditEntry], int | None]:
    """A page of entries, newest first, optionally of one object type (and one object); the last id if
    there are more. 422 naming ``objectType`` for an unknown type."""
    checker = Checker()
    if object_type is not None and object_type not in {kind.value for kind in ObjectType}:
        checker.fail("objectType", object_type,
                     f"objectType {object_type!r} must be one of {', '.join(kind.value for kind in ObjectType)}")
    if object_id is not None and object_type is None:
        checker.fail("objectId", object_id, "objectId needs objectType (an id names an object of one type)")
    checker.raise_if_any()
    query = select(audit_log)
    if object_type is not None:
        query = query.where(audit_log.c.object_type == object_type)
    if object_id is not None:
        query = query.where(audit_log.c.object_id == object_id)
    if before_id is not None:
        query = query.where(audit_log.c.id < before_id)
    rows = list(conn.execute(query.order_by(audit_log.c.id.desc()).limit(limit + 1)).mappings())
    more = len(rows) > limit
    rows = rows[:limit]
    return [view_of(AuditEntry, row) for row in rows], (rows[-1]["id"] if more else None)
