"""Applying a page of lifecycle records to the back office in bulk (the feedback's write path).

One page costs a fixed number of statements whatever its size: one query each for its tickets, their
lines for the page's transfers, the contacts of its e-mails, the references held on the temporary
ones and the confirmed lines that handed a ticket to one of them (W10); then the fold
(domain/distribution.py) runs in memory, and its result is written with one statement per table
(kernel/bulk.py). The caller commits it together with the pagination key (house
rule 6). This is the only code that creates contacts for the feedback (C1 is decided by the fold, in
memory). C2 (one contact created per e-mail) is held by the ``contact_emails`` claim: if a concurrent
writer claimed an e-mail first, ``ContactClaimLost`` is raised, the caller rolls back and applies the
page again, now matching the winner's contact. That is a guard: every page write holds
`lock_contact_writes` (PostgreSQL) or is the one SQLite writer, and nothing else claims e-mails, so no
code in the tree loses a claim; a test forces the loss with a writer that skips the lock.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Final, cast

from sqlalchemy import ColumnElement, Connection, and_, delete, func, or_, select, text, union_all, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from tixtrace.backoffice.db.tables import contact_emails, contacts, distribution_lines, tickets
from tixtrace.backoffice.domain.contacts import ContactKind, ContactMatch
from tixtrace.backoffice.domain.distribution import (
    ContactState,
    DistributionFold,
    Initiator,
    LineAction,
    LineState,
    LineStatus,
    TicketState,
)
from tixtrace.backoffice.domain.records import Record
from tixtrace.backoffice.domain.search import name_keys
from tixtrace.kernel.bulk import bulk_insert, bulk_update, one_of, reserve_ids
from tixtrace.kernel.clock import as_utc
from tixtrace.kernel.db import is_sqlite

_CONTACT_WRITES_LOCK = (0x7B10, 0)


def dialect_insert(conn: Connection, table: Any) -> Any:
    """INSERT with the dialect's ON CONFLICT support (SQLite and PostgreSQL both have it)."""
    return (sqlite_insert if is_sqlite(conn) else pg_insert)(table)


def lock_contact_writes(conn: Connection) -> None:
    """Serialize the feedback's page writes across wallet organizers (PostgreSQL; SQLite has one writer).

    A page decides from what it read that a temporary contact is held by nothing and deletes it; a page
    of another organizer's run committing meanwhile could have just pointed a line at that contact.
    One run per organizer is already guaranteed by the run lock; this covers runs of different
    organizers (and claims taken in different orders), at no cost for a single run."""
    if not is_sqlite(conn):
        conn.execute(text("SELECT pg_advisory_xact_lock(:ns, :key)"),
                     {"ns": _CONTACT_WRITES_LOCK[0], "key": _CONTACT_WRITES_LOCK[1]})


class ContactClaimLost(Exception):
    """Another writer created the contact of one of this page's e-mails first: apply the page again.

    A guard (see the module's docstring): only a writer that skips `lock_contact_writes` can cause it."""


def load_fold(conn: Connection, records: Sequence[Record], *, feature_active: bool, now: datetime) -> DistributionFold:
    numbers = sorted({r.ticket_number for r in records})
    # What the wallet said of a ticket (mobile status, wallet owner, holder) is not read: every record
    # of a ticket replaces it (F2), and a ticket without records in the page is not written.
    ticket_rows = conn.execute(select(
        tickets.c.id, tickets.c.number, tickets.c.cultural_contact_id, tickets.c.owner_contact_id,
        tickets.c.buyer_contact_id, tickets.c.last_record_id,
    ).where(one_of(conn, tickets.c.number, numbers))).all() if numbers else []
    ticket_states = [TicketState(*row[:5], last_record_id=row.last_record_id or 0) for row in ticket_rows]
    line_states: list[LineState] = []
    contact_rows: Sequence[Any] = []
    refs: dict[int, int] = {}
    transfer_ids = sorted({r.transfer.transfer_id for r in records if r.transfer is not None})
    if ticket_rows and transfer_ids:
        # read even with the feature off: a line it left PENDING is still ended by its outcome (F9)
        line_rows = conn.execute(select(distribution_lines).where(
            one_of(conn, distribution_lines.c.ticket_id, [r.id for r in ticket_rows]),
            one_of(conn, distribution_lines.c.transfer_id, transfer_ids))).all()
        line_states = [_line_state(row) for row in line_rows]
    if feature_active:
        keys = {r.wallet_owner.email_key for r in records if r.wallet_owner is not None}
        keys |= {r.transfer.recipient.email_key for r in records if r.transfer is not None}
        keys |= {r.transfer.sender.email_key for r in records if r.transfer is not None and r.transfer.sender}
        lines_held = line_states
    else:  # nothing is matched: only the contacts of the lines still to be ended
        keys, lines_held = set(), [line for line in line_states if line.status is LineStatus.PENDING]
    # W10: an accepted recipient's profile may first come on a later record's wallet owner; the
    # temporary contact a line started is completed from it even with the feature off (F9)
    owners = {r.wallet_owner.email_key for r in records if r.wallet_owner is not None and r.wallet_owner.complete}
    contact_ids = {line.new_contact_id for line in lines_held if line.new_contact_id is not None}
    if ticket_rows and (keys or contact_ids or owners):
        wanted: ColumnElement[bool] = one_of(conn, contacts.c.email_key, sorted(keys))
        if owners and not feature_active:
            wanted = or_(wanted, and_(contacts.c.is_temporary.is_(True),
                                      one_of(conn, contacts.c.email_key, sorted(owners))))
        if contact_ids:
            wanted = or_(wanted, one_of(conn, contacts.c.id, sorted(contact_ids)))
        contact_rows = conn.execute(select(
            contacts.c.id, contacts.c.email_key, contacts.c.kind, contacts.c.is_temporary,
            contacts.c.has_internet_account, contacts.c.created_at,
        ).where(wanted)).all()
        temporary = [r.id for r in contact_rows if r.is_temporary]
        refs = _references(conn, temporary)
        line_states += _handing_lines(conn, [r.id for r in ticket_rows], temporary,
                                      {line.id for line in line_states})
    contact_states = [ContactState(r.id, r.email_key or "", _KIND(r.kind), r.is_temporary,
                                   r.has_internet_account, as_utc(r.created_at)) for r in contact_rows]
    return DistributionFold(feature_active=feature_active, now=now, tickets=ticket_states, lines=line_states,
                            contacts=contact_states, refs=refs)


def _handing_lines(conn: Connection, ticket_ids: list[int], temporary: list[int], loaded: set[int | None]
                   ) -> list[LineState]:
    """The CONFIRMED lines of the page's tickets that handed them to one of the page's temporary
    contacts: a later record of the ticket may complete that contact (W10: the DOWNLOADED record of the
    recipient opening it) and the line then shows COMPLETED. One query; lines already loaded are kept."""
    if not ticket_ids or not temporary:
        return []
    rows = conn.execute(select(distribution_lines).where(
        one_of(conn, distribution_lines.c.ticket_id, ticket_ids),
        one_of(conn, distribution_lines.c.new_contact_id, temporary),
        distribution_lines.c.status == LineStatus.CONFIRMED.value)).all()
    return [_line_state(row) for row in rows if row.id not in loaded]


def _members(kind: type[Any]) -> Callable[[Any], Any]:
    """``kind(value)`` for a StrEnum read from a row, by a dict lookup (an Enum call costs ~4 µs, and a
    page reads thousands); a value that is not a member still raises the Enum's ValueError."""
    members = {member.value: member for member in kind}

    def member(value: Any) -> Any:
        found = members.get(value)
        return found if found is not None else kind(value)
    return member


_ACTION: Final = _members(LineAction)
_STATUS: Final = _members(LineStatus)
_MATCH: Final = _members(ContactMatch)
_INITIATOR: Final = _members(Initiator)
_KIND: Final = _members(ContactKind)


def _line_state(row: Any) -> LineState:
    return LineState(
        id=row.id, ticket_id=row.ticket_id, transfer_id=row.transfer_id, action=_ACTION(row.action),
        old_contact_id=row.old_contact_id, new_contact_id=row.new_contact_id, recipient_email=row.recipient_email,
        status=_STATUS(row.status), reason=row.reason,
        contact_match=_MATCH(row.contact_match) if row.contact_match else None,
        initiated_at=as_utc(row.initiated_at), resolved_at=as_utc(row.resolved_at) if row.resolved_at else None,
        recorded_at=as_utc(row.recorded_at), opened_record_id=row.opened_record_id, sender_email=row.sender_email,
        initiated_by=_INITIATOR(row.initiated_by), transfer_reason=row.transfer_reason,
        expires_at=as_utc(row.expires_at) if row.expires_at else None,
    )


def _references(conn: Connection, contact_ids: list[int]) -> dict[int, int]:
    """How many tickets and live (not CANCELLED) lines hold each of these contacts."""
    if not contact_ids:
        return {}
    live = distribution_lines.c.status != LineStatus.CANCELLED.value
    holders = [select(column.label("cid")).where(one_of(conn, column, contact_ids))
               for column in (tickets.c.cultural_contact_id, tickets.c.owner_contact_id, tickets.c.buyer_contact_id)]
    holders += [select(column.label("cid")).where(one_of(conn, column, contact_ids), live)
                for column in (distribution_lines.c.new_contact_id, distribution_lines.c.old_contact_id)]
    every = union_all(*holders).subquery()
    rows = conn.execute(select(every.c.cid, func.count()).group_by(every.c.cid)).all()
    return {row[0]: row[1] for row in rows}


def write_fold(conn: Connection, fold: DistributionFold, now: datetime) -> dict[int, int]:
    """Write what the fold changed. Raises ContactClaimLost when C2's claim was taken concurrently.
    Returns the real id of each contact the page inserted, by its working-set (negative) id, so that
    the execution's log names contacts by the ids they are stored under (O3)."""
    # Deletions first: a page may remove an e-mail's temporary contact (F5) and then create a new one
    # for the same e-mail; the removed contact's claim (contact_emails, ON DELETE CASCADE) must be gone
    # before the new contact claims the e-mail, or the page would always "lose" its own claim.
    gone = [c.id for c in fold.deleted_contacts()]
    if gone:
        for column in (distribution_lines.c.new_contact_id, distribution_lines.c.old_contact_id):
            conn.execute(update(distribution_lines).where(one_of(conn, column, gone)).values({column.name: None}))
        conn.execute(delete(contacts).where(one_of(conn, contacts.c.id, gone)))
    ids = _insert_contacts(conn, fold.new_contacts(), now)
    keys = _NameKeys()
    bulk_update(conn, contacts, [{"id": c.id, **c.fields, **keys(c.fields)} for c in fold.completed_contacts()],
                constants={"is_temporary": False, "has_internet_account": True, "updated_at": now},
                only_if="is_temporary")
    # a contact inserted now: its real id; any other id (or None) is itself
    real = cast(Callable[[int | None, int | None], int | None], ids.get)
    lines = fold.dirty_lines()
    bulk_insert(conn, distribution_lines, [
        {**_line_values(line, real), "ticket_id": line.ticket_id, "transfer_id": line.transfer_id,
         "action": line.action.value, "recipient_email": line.recipient_email,
         "initiated_at": line.initiated_at, "recorded_at": line.recorded_at, "updated_at": now,
         "opened_record_id": line.opened_record_id, "sender_email": line.sender_email,
         "initiated_by": line.initiated_by.value, "transfer_reason": line.transfer_reason,
         "expires_at": line.expires_at}
        for line in lines if line.id is None
    ])
    bulk_update(conn, distribution_lines, [{"id": line.id, **_line_values(line, real)}
                                           for line in lines if line.id is not None],
                constants={"updated_at": now})
    # What the wallet said of each ticket; its contacts only where they changed, so that the other
    # rows leave the contact indexes alone (SQLite rewrites the index of every column it sets).
    changed = fold.changed_tickets()
    wallet_side = {t.id: {"id": t.id, "mobile_status": t.mobile_status, "wallet_owner": t.wallet_owner,
                          "ticket_holder": t.ticket_holder, "last_record_id": t.last_record_id,
                          "last_wallet_owner_email": (t.wallet_owner or {}).get("email")} for t in changed}
    synced = {"last_synced_at": now, "updated_at": now}
    bulk_update(conn, tickets, [wallet_side[t.id] for t in changed if not t.handed_over], constants=synced)
    bulk_update(conn, tickets, [
        {**wallet_side[t.id], "cultural_contact_id": real(t.cultural_contact_id, t.cultural_contact_id),
         "owner_contact_id": real(t.owner_id, t.owner_id)}
        for t in changed if t.handed_over], constants=synced)
    return ids


def _line_values(line: LineState, real: Any) -> dict[str, Any]:
    return {
        "old_contact_id": real(line.old_contact_id, line.old_contact_id),
        "new_contact_id": real(line.new_contact_id, line.new_contact_id),
        "status": line.status.value, "reason": line.reason,
        "contact_match": line.contact_match.value if line.contact_match else None,
        "resolved_at": line.resolved_at,
    }


class _NameKeys:
    """A page's contacts' search keys, each name folded once: a page's temporary contacts all bear the
    same placeholder name, and folding costs tens of microseconds."""

    def __init__(self) -> None:
        self._keys: dict[tuple[Any, Any], dict[str, str]] = {}

    def __call__(self, fields: dict[str, Any]) -> dict[str, str]:
        name = (fields.get("first_name"), fields.get("last_name"))
        keys = self._keys.get(name)
        if keys is None:
            keys = self._keys[name] = name_keys(*name)
        return keys


def _insert_contacts(conn: Connection, new: list[ContactState], now: datetime) -> dict[int, int]:
    """Insert the fold's new contacts and claim their e-mails (C2); temporary id → real id."""
    if not new:
        return {}
    base = {column: None for column in ("title", "first_name", "last_name", "email", "phone", "mobile_phone",
                                        "birth_date", "nationality", "id_number", "country", "language",
                                        "allow_promo_email", "allow_third_party_email")}
    keys = _NameKeys()
    real_ids = reserve_ids(conn, contacts, len(new))
    ids = {c.id: real_id for c, real_id in zip(new, real_ids, strict=True)}
    bulk_insert(conn, contacts, [
        {**base, **c.fields, **keys(c.fields), "id": ids[c.id], "kind": c.kind.value,
         "email_key": c.email_key, "reference": None, "has_internet_account": c.has_internet_account,
         "is_temporary": c.is_temporary,
         "created_at": now, "updated_at": now} for c in new])
    # the claim (C2): one row per e-mail, so every claim stands exactly when every row went in
    claimed = bulk_insert(conn, contact_emails, [{"email_key": c.email_key, "contact_id": ids[c.id], "created_at": now}
                                                 for c in new], suffix="ON CONFLICT (email_key) DO NOTHING")
    if claimed != len(new):
        raise ContactClaimLost("another writer created a contact for one of this page's e-mails")
    return ids
