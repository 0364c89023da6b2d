"""Cultural Contact & Distribution: folding lifecycle records into back-office state (F1-F12, C1-C3).

The feedback loads, for one page of records, the tickets, their distribution lines for the page's
transfers and the contacts of the page's e-mails (a *working set*), folds the records into it one by
one in ``recordId`` order, then writes what changed in bulk. Because the fold is sequential over an
in-memory copy, applying pages P1 then P2 gives exactly what applying P1+P2 gives, whatever the
batch size (F6): a PENDING and its FAILURE in one page net out as they would one record at a time.

Invariants:
- a line's status only moves forward: PENDING → CONFIRMED | CANCELLED; a repeated or stale record
  is ignored (F6);
- only temporary contacts are ever changed; normal contacts are only read (invariant 4);
- a temporary contact is deleted as soon as nothing holds it: no ticket (cultural contact, owner,
  buyer) and no PENDING or CONFIRMED line. ``refs`` counts exactly those references; the writer
  clears the references of CANCELLED lines to a deleted contact (F5: "no contact will be created");
- feature not active: no contact is created and no line is started, but a line already PENDING is
  still ended by its outcome record, exactly as with the feature active (F9), so nothing is stranded;
- a line is placed by ``opened_record_id``, the recordId of the record that opened it (F10): the
  wallet's order, never a timestamp. The old contact is the sender's contact (C1 on the sender's
  e-mail), else the ticket's cultural contact (F3);
- a temporary contact completed by a later record of a ticket it holds (W10: the accepted recipient's
  profile first comes on the DOWNLOADED record of their opening it) makes the ticket's line that handed
  it over show COMPLETED, as F4 does when the TRANSFERRED record carries the profile;
- the ticket's back-office status (CANCELLED ...) is not read: what the wallet did is recorded (F12);
- replay is a no-op (F11, invariant 7): each ticket keeps the recordId of the last record applied
  to it, and a record at or below it changes nothing at all (no F2 refresh, no line, no contact
  matched, completed or created), so reading the whole log again after a feed reset leaves every
  contact, ticket and line as it was, and a contact erased since (no e-mail key, claim released)
  gets no profile back, nor does a stranger who later took its e-mail.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from tixtrace.backoffice.domain.contacts import (
    TEMPORARY_FIRST_NAME,
    TEMPORARY_LAST_NAME,
    Candidate,
    ContactKind,
    ContactMatch,
    best_match,
)
from tixtrace.backoffice.domain.records import Person, Record


class LineStatus(StrEnum):
    PENDING = "PENDING"
    CONFIRMED = "CONFIRMED"
    CANCELLED = "CANCELLED"


class LineAction(StrEnum):
    DISTRIBUTE = "DISTRIBUTE"
    TAKE_BACK = "TAKE_BACK"


class Initiator(StrEnum):
    """Who started the wallet transfer (F10): a spectator in the app, or the organizer (W7)."""

    SPECTATOR = "SPECTATOR"
    ORGANIZER = "ORGANIZER"


@dataclass
class TicketState:
    id: int
    number: str
    cultural_contact_id: int | None
    owner_id: int | None
    buyer_id: int | None
    mobile_status: str | None = None
    wallet_owner: Mapping[str, Any] | None = None
    ticket_holder: dict[str, Any] | None = None
    changed: bool = False
    handed_over: bool = False  # cultural contact or owner changed (F4)
    last_record_id: int = 0  # the last record applied to the ticket (0: none known): older ones are replays


@dataclass
class ContactState:
    """A contact of the working set. New ones get negative ids until the writer inserts them."""

    id: int
    email_key: str
    kind: ContactKind
    is_temporary: bool
    has_internet_account: bool
    created_at: datetime
    fields: dict[str, Any] = field(default_factory=dict)  # values to write (new or completed)
    created: bool = False
    completed: bool = False
    deleted: bool = False

    def candidate(self) -> Candidate:
        return Candidate(self.id, self.kind, self.is_temporary, self.has_internet_account, self.created_at)


@dataclass
class LineState:
    id: int | None
    ticket_id: int
    transfer_id: str
    action: LineAction
    old_contact_id: int | None
    new_contact_id: int | None
    recipient_email: str
    status: LineStatus
    reason: str | None  # why the transfer failed (F5)
    contact_match: ContactMatch | None
    initiated_at: datetime
    resolved_at: datetime | None
    recorded_at: datetime
    opened_record_id: int = 0  # the recordId that opened the line: its place among the ticket's lines
    sender_email: str | None = None
    initiated_by: Initiator = Initiator.SPECTATOR
    transfer_reason: str | None = None  # the organizer's reason (W7)
    expires_at: datetime | None = None
    dirty: bool = False


class Happening(StrEnum):
    """What the fold did that an execution's log names, one INFO line each (O3)."""

    CONTACT_CREATED = "CONTACT_CREATED"
    CONTACT_COMPLETED = "CONTACT_COMPLETED"
    CONTACT_REMOVED = "CONTACT_REMOVED"
    LINE_CONFIRMED = "LINE_CONFIRMED"
    LINE_CANCELLED = "LINE_CANCELLED"


@dataclass(frozen=True)
class FoldEvent:
    """One thing the fold did, in fold order. ``contact_id`` is the working-set id: negative for a
    contact created in this page until the writer gives it its real id. ``detail``: the failure reason
    of a cancelled line; for a created contact, "temporary" or "complete". No e-mail, no name (section 10)."""

    happening: Happening
    ticket_number: str
    contact_id: int | None = None
    transfer_id: str | None = None
    detail: str | None = None


@dataclass
class Counters:
    records_read: int = 0
    tickets_updated: int = 0
    contacts_created: int = 0
    contacts_completed: int = 0
    contacts_removed: int = 0
    lines_created: int = 0
    lines_updated: int = 0
    skipped: int = 0


class DistributionFold:
    """The working set of one page and the sequential fold over its records."""

    def __init__(self, *, feature_active: bool, now: datetime, tickets: Iterable[TicketState],
                 lines: Iterable[LineState], contacts: Iterable[ContactState], refs: dict[int, int]) -> None:
        self.feature_active = feature_active
        self.now = now
        self.tickets = {t.number: t for t in tickets}
        self.lines: dict[tuple[int, str], LineState] = {}
        self._lines_of_contact: dict[int, list[LineState]] = {}  # lines naming a contact (old or new)
        for line in lines:
            self._add_line(line)
        self.contacts: dict[int, ContactState] = {}
        self._by_email: dict[str, list[ContactState]] = {}
        for contact in contacts:
            self._index(contact)
        self.refs = dict(refs)
        self.counters = Counters()
        self.events: list[FoldEvent] = []  # what the log says, in fold order (O3)
        self._next_new_id = -1

    # -- contacts (C1, C2, C3) -----------------------------------------------------------------

    def _index(self, contact: ContactState) -> None:
        self.contacts[contact.id] = contact
        self._by_email.setdefault(contact.email_key, []).append(contact)

    def match(self, email_key: str) -> ContactState | None:
        known = self._by_email.get(email_key)
        if not known:
            return None  # no contact has this key (best_match of no candidate)
        candidates = [c for c in known if not c.deleted]
        if len(candidates) == 1 and candidates[0].kind is not ContactKind.STRUCTURE:
            return candidates[0]  # the usual case: best_match of one eligible candidate is itself
        chosen = best_match(c.candidate() for c in candidates)
        return self.contacts[chosen.id] if chosen else None

    def _create(self, person: Person, *, temporary: bool, ticket: TicketState, transfer_id: str) -> ContactState:
        if temporary:
            fields = {"email": person.email, "first_name": TEMPORARY_FIRST_NAME, "last_name": TEMPORARY_LAST_NAME}
        else:
            fields = dict(person.fields)
        contact = ContactState(self._next_new_id, person.email_key, ContactKind.INDIVIDUAL, temporary,
                               not temporary, self.now, fields, created=True)
        self._next_new_id -= 1
        self._index(contact)
        self.counters.contacts_created += 1
        self.events.append(FoldEvent(Happening.CONTACT_CREATED, ticket.number, contact.id, transfer_id,
                                     "temporary" if temporary else "complete"))
        return contact

    def _complete(self, contact: ContactState, person: Person, ticket: TicketState) -> bool:
        """C3: a temporary contact takes the profile and an internet account; others are never touched."""
        if not contact.is_temporary or not person.complete:
            return False
        contact.fields = dict(person.fields)
        contact.is_temporary = False
        contact.has_internet_account = True
        if not contact.created:
            contact.completed = True
        self.counters.contacts_completed += 1
        self.events.append(FoldEvent(Happening.CONTACT_COMPLETED, ticket.number, contact.id))
        return True

    def _add_line(self, line: LineState) -> None:
        self.lines[(line.ticket_id, line.transfer_id)] = line
        for contact_id in {line.old_contact_id, line.new_contact_id} - {None}:
            self._lines_of_contact.setdefault(contact_id, []).append(line)  # type: ignore[arg-type]

    def _ref(self, contact_id: int | None, delta: int) -> None:
        if contact_id is not None:
            self.refs[contact_id] = self.refs.get(contact_id, 0) + delta

    def _release(self, contact_id: int | None, ticket: TicketState, transfer_id: str) -> None:
        """F5: delete a temporary contact that nothing holds any more."""
        if contact_id is None:
            return
        contact = self.contacts.get(contact_id)
        if contact is None or not contact.is_temporary or contact.deleted or self.refs.get(contact_id, 0) > 0:
            return
        contact.deleted = True
        self.counters.contacts_removed += 1
        self.events.append(FoldEvent(Happening.CONTACT_REMOVED, ticket.number, contact_id, transfer_id))
        for line in self._lines_of_contact.pop(contact_id, ()):
            if line.new_contact_id == contact_id:
                line.new_contact_id = None
                line.dirty = True
            if line.old_contact_id == contact_id:
                line.old_contact_id = None
                line.dirty = True

    # -- the fold --------------------------------------------------------------------------------

    def apply(self, record: Record) -> bool:
        """Apply one record; False when its ticket is unknown to the back office (F8: skipped)."""
        self.counters.records_read += 1
        ticket = self.tickets.get(record.ticket_number)
        if ticket is None:
            self.counters.skipped += 1
            return False
        if record.record_id <= ticket.last_record_id:
            return True  # F11: already applied to this ticket (a replay after a feed reset): nothing changes
        ticket.last_record_id = record.record_id
        if record.transfer is not None:
            self._apply_transfer(ticket, record)
        if record.wallet_owner is not None:  # off: only a temporary contact a line started (F9, W10)
            owner_contact = self.match(record.wallet_owner.email_key)
            if owner_contact is not None and (self.feature_active or owner_contact.is_temporary) \
                    and self._complete(owner_contact, record.wallet_owner, ticket):
                self._completed_by_its_holder(ticket, owner_contact.id)
        # F2: every record refreshes the mobile status, wallet owner and ticket holder
        ticket.mobile_status = record.status
        ticket.wallet_owner = record.wallet_owner.raw if record.wallet_owner else None
        ticket.ticket_holder = record.ticket_holder
        ticket.changed = True
        return True

    def _completed_by_its_holder(self, ticket: TicketState, contact_id: int) -> None:
        """W10, C3: an accepted recipient's profile first comes on a later record of the ticket (the
        DOWNLOADED record of its opening), not on the TRANSFERRED one; the line that handed the ticket to
        the contact (the ticket's latest CONFIRMED line to it, in wallet order) shows COMPLETED, as it
        would had the TRANSFERRED record completed it (F4). ``load_fold`` loads that line."""
        handing = [line for line in self._lines_of_contact.get(contact_id, ())
                   if line.ticket_id == ticket.id and line.new_contact_id == contact_id
                   and line.status is LineStatus.CONFIRMED]
        if handing:
            line = max(handing, key=lambda held: held.opened_record_id)
            if line.contact_match is not ContactMatch.COMPLETED:
                line.contact_match = ContactMatch.COMPLETED
                line.dirty = True
                self.counters.lines_updated += 1

    def _apply_transfer(self, ticket: TicketState, record: Record) -> None:
        transfer = record.transfer
        assert transfer is not None
        line = self.lines.get((ticket.id, transfer.transfer_id))
        if not self.feature_active and (line is None or line.status is not LineStatus.PENDING):
            return  # F9: off, nothing new is started; only a PENDING line is still ended
        if record.status == "PENDING_TRANSFER":
            if line is None:
                self._new_line(ticket, record, LineStatus.PENDING, create=True)
        elif record.status == "TRANSFERRED":
            if line is None:
                line = self._new_line(ticket, record, LineStatus.CONFIRMED, create=True)
            elif line.status is LineStatus.PENDING:
                line.status = LineStatus.CONFIRMED
                line.resolved_at = record.occurred_at
                line.dirty = True
                self.counters.lines_updated += 1
            else:
                return  # stale or repeated
            self.events.append(FoldEvent(Happening.LINE_CONFIRMED, ticket.number, line.new_contact_id,
                                         line.transfer_id, line.action.value))
            contact = self.contacts[line.new_contact_id] if line.new_contact_id is not None else None
            if contact is not None and self._complete(contact, transfer.recipient, ticket):
                line.contact_match = ContactMatch.COMPLETED
                line.dirty = True
            self._hand_over(ticket, line.new_contact_id)
        elif record.failed:
            if line is None:
                line = self._new_line(ticket, record, LineStatus.CANCELLED, create=False)
                self.events.append(FoldEvent(Happening.LINE_CANCELLED, ticket.number, line.new_contact_id,
                                             line.transfer_id, transfer.failure_reason))
            elif line.status is LineStatus.PENDING:
                line.status = LineStatus.CANCELLED
                line.reason = transfer.failure_reason
                line.resolved_at = record.occurred_at
                line.dirty = True
                self.counters.lines_updated += 1
                self.events.append(FoldEvent(Happening.LINE_CANCELLED, ticket.number, line.new_contact_id,
                                             line.transfer_id, transfer.failure_reason))
                self._ref(line.old_contact_id, -1)
                self._ref(line.new_contact_id, -1)
                self._release(line.new_contact_id, ticket, line.transfer_id)

    def _new_line(self, ticket: TicketState, record: Record, status: LineStatus, *, create: bool) -> LineState:
        """A line for a transfer seen for the first time. ``create``: make the contact if none matches
        (temporary while pending, complete once transferred); a failed transfer never creates one."""
        transfer = record.transfer
        assert transfer is not None
        recipient = transfer.recipient
        contact = self.match(recipient.email_key)
        how: ContactMatch | None = ContactMatch.EXISTING if contact else None
        if contact is None and create:
            temporary = status is LineStatus.PENDING or not recipient.complete
            contact = self._create(recipient, temporary=temporary, ticket=ticket, transfer_id=transfer.transfer_id)
            how = ContactMatch.CREATED_TEMPORARY if temporary else ContactMatch.CREATED
        sender = self.match(transfer.sender.email_key) if transfer.sender is not None else None
        line = LineState(
            id=None, ticket_id=ticket.id, transfer_id=transfer.transfer_id,
            action=LineAction.TAKE_BACK if transfer.direction == "BACKWARD" else LineAction.DISTRIBUTE,
            old_contact_id=sender.id if sender is not None else ticket.cultural_contact_id,
            new_contact_id=contact.id if contact else None,
            recipient_email=recipient.email, status=status,
            reason=transfer.failure_reason if status is LineStatus.CANCELLED else None,
            contact_match=how, initiated_at=record.occurred_at,
            resolved_at=None if status is LineStatus.PENDING else record.occurred_at,
            recorded_at=self.now, opened_record_id=record.record_id,
            sender_email=transfer.sender.email if transfer.sender is not None else None,
            initiated_by=Initiator(transfer.initiated_by), transfer_reason=transfer.reason,
            expires_at=transfer.expires_at, dirty=True,
        )
        self._add_line(line)
        self.counters.lines_created += 1
        if status is not LineStatus.CANCELLED:
            self._ref(line.old_contact_id, +1)
            self._ref(line.new_contact_id, +1)
        return line

    def _hand_over(self, ticket: TicketState, contact_id: int | None) -> None:
        """F4: the recipient becomes the ticket's cultural contact and owner."""
        if contact_id is None:
            return
        for attribute in ("cultural_contact_id", "owner_id"):
            previous = getattr(ticket, attribute)
            if previous != contact_id:
                self._ref(previous, -1)
                self._ref(contact_id, +1)
                setattr(ticket, attribute, contact_id)
                ticket.handed_over = True
        ticket.changed = True

    # -- what the writer needs -----------------------------------------------------------------

    def changed_tickets(self) -> list[TicketState]:
        return [t for t in self.tickets.values() if t.changed]

    def new_contacts(self) -> list[ContactState]:
        """Contacts to insert (created and not deleted within the page)."""
        return [c for c in self.contacts.values() if c.created and not c.deleted]

    def completed_contacts(self) -> list[ContactState]:
        return [c for c in self.contacts.values() if c.completed and not c.created and not c.deleted]

    def deleted_contacts(self) -> list[ContactState]:
        """Stored contacts to delete (ones created and deleted within the page never reach the database)."""
        return [c for c in self.contacts.values() if c.deleted and not c.created]

    def dirty_lines(self) -> list[LineState]:
        return [line for line in self.lines.values() if line.dirty]
