"""Spectators (the app's side): sessions, profile, my tickets (W2) and holder assignment (W3).

Sessions are bearer tokens stored as SHA-256 digests. A token stops working after
``SESSION_IDLE_LIFETIME`` (30 days) without use, on the wallet's clock; using it moves that limit on
(``last_used_at`` is written at most once per ``SESSION_REFRESH_AFTER``, so reading stays a read).
In sandbox mode signing in needs only an e-mail (the stand-in for the app's own login); outside the
sandbox there is no way to sign in yet (a real deployment would verify the e-mail first), so the
endpoint answers 404 (W9).

Services take the caller's connection and return typed views (``Profile``, ``TicketPage`` ...); the
API renders them as JSON, the /app page as HTML.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, delete, or_, select, update

from tixtrace.kernel.clock import Clock, as_utc
from tixtrace.kernel.cursors import decode_int_cursor, encode_cursor
from tixtrace.kernel.errors import Conflict, NotFound, Unauthorized
from tixtrace.wallet.db import accounts as accounts_repo
from tixtrace.wallet.db import organizer_profiles
from tixtrace.wallet.db import tickets as tickets_repo
from tixtrace.wallet.db.tables import accounts, sessions, tickets, transfers
from tixtrace.wallet.domain.errors import WalletCode
from tixtrace.wallet.domain.tickets import Status, TransferState
from tixtrace.wallet.services.organizers import check_email
from tixtrace.wallet.services.tickets import begin_write, change_ticket


@dataclass(frozen=True)
class Account:
    id: int
    email: str


@dataclass(frozen=True)
class Profile:
    """A spectator's own profile (W10: theirs; the e-mail is the account's identity)."""

    email: str
    title: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    date_of_birth: str | None = None
    nationality: str | None = None
    id_card_number: str | None = None
    phone_number: str | None = None
    residence_country: str | None = None
    language: str | None = None
    allow_promo_email: bool | None = None
    allow_third_party_email: bool | None = None

    @property
    def complete(self) -> bool:
        """First and last name given: what accepting a ticket needs (W5)."""
        return bool((self.first_name or "").strip() and (self.last_name or "").strip())


@dataclass(frozen=True)
class PendingTransfer:
    transfer_id: str
    recipient_email: str
    expires_at: datetime | None


#: W12: a walletTicketId is this prefix + the ticket's surrogate key in decimal (``~42``). ``~`` is not
#: a ticket id character (W13), so a walletTicketId can never be read as, or collide with, a ticketId;
#: the surrogate key is never handed out twice (C4), so it names one ticket for ever.
WALLET_TICKET_PREFIX = "~"


def wallet_ticket_id(pk: int) -> str:
    """The ticket's id in the wallet (W12): unique across organizers, stable for its life."""
    return f"{WALLET_TICKET_PREFIX}{pk}"


def _parse_wallet_ticket_id(value: str) -> int | None:
    """The surrogate key a walletTicketId names; None when ``value`` is not one (then it is a ticketId)."""
    digits = value[len(WALLET_TICKET_PREFIX):]
    if not value.startswith(WALLET_TICKET_PREFIX) or not digits.isascii() or not digits.isdigit() or len(digits) > 18:
        return None
    return int(digits)


@dataclass(frozen=True)
class MyTicket:
    """A ticket as its wallet owner's app lists it."""

    wallet_ticket_id: str
    ticket_id: str
    status: Status
    event: dict[str, Any]  # as injected (the organizer's event object)
    holder: dict[str, Any] | None
    transfer_level: int
    pending: PendingTransfer | None


@dataclass(frozen=True)
class TicketPage:
    items: list[MyTicket]
    next_cursor: str | None


@dataclass(frozen=True)
class HolderAssigned:
    wallet_ticket_id: str
    ticket_id: str
    status: Status
    holder: dict[str, Any]


#: a spectator token unused this long stops working (401 SESSION_EXPIRED): a lost phone's token dies on its own
SESSION_IDLE_LIFETIME = timedelta(days=30)
#: ``last_used_at`` is refreshed when older than this: one write per token per hour, not per request
SESSION_REFRESH_AFTER = timedelta(hours=1)


@dataclass(frozen=True)
class SignedIn:
    """A valid session's account; ``refresh_due`` when the caller should ``refresh_session`` it."""

    account: Account
    refresh_due: bool


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(conn: Connection, clock: Clock, email: str, *, sandbox: bool) -> str:
    email = check_email(email)
    if not sandbox:
        raise NotFound("passwordless sign-in exists only in sandbox mode (W9)", code=WalletCode.SANDBOX_ONLY)
    token = secrets.token_urlsafe(32)
    now = clock.now()
    account = accounts_repo.ensure(conn, {email: None}, now)[email]
    # the account's idle sessions go now: the table holds no token that can no longer be used for long
    conn.execute(delete(sessions).where(sessions.c.account_id == account["id"],
                                        sessions.c.last_used_at < now - SESSION_IDLE_LIFETIME))
    conn.execute(sessions.insert().values(token_hash=_digest(token), account_id=account["id"], created_at=now,
                                          last_used_at=now))
    return token


def authenticate(conn: Connection, clock: Clock, token: str) -> SignedIn:
    """The account of a live session token; 401 BAD_CREDENTIALS when unknown, SESSION_EXPIRED when
    unused for ``SESSION_IDLE_LIFETIME``. A read: the refresh it may ask for is the caller's write."""
    row = conn.execute(
        select(accounts.c.id, accounts.c.email, sessions.c.last_used_at)
        .join(sessions, sessions.c.account_id == accounts.c.id)
        .where(sessions.c.token_hash == _digest(token))
    ).first()
    if row is None:
        raise Unauthorized("unknown session token: sign in again", code=WalletCode.BAD_CREDENTIALS)
    idle = clock.now() - as_utc(row.last_used_at)
    if idle >= SESSION_IDLE_LIFETIME:
        raise Unauthorized(f"this session was not used for {SESSION_IDLE_LIFETIME.days} days and has expired: "
                           "sign in again", code=WalletCode.SESSION_EXPIRED)
    return SignedIn(Account(row.id, row.email), refresh_due=idle >= SESSION_REFRESH_AFTER)


def refresh_session(conn: Connection, clock: Clock, token: str) -> None:
    """Mark the session used now (its idle lifetime starts again); an expired one is not revived."""
    now = clock.now()
    conn.execute(update(sessions).where(sessions.c.token_hash == _digest(token),
                                        sessions.c.last_used_at > now - SESSION_IDLE_LIFETIME)
                 .values(last_used_at=now))


def end_session(conn: Connection, token: str) -> None:
    """Sign out: the token stops working at once (a copied token included)."""
    conn.execute(delete(sessions).where(sessions.c.token_hash == _digest(token)))


def get_profile(conn: Connection, account: Account) -> Profile:
    row = accounts_repo.by_ids(conn, [account.id])[account.id]
    return Profile(
        email=row["email"], title=row["title"], first_name=row["first_name"], last_name=row["last_name"],
        date_of_birth=row["date_of_birth"], nationality=row["nationality"], id_card_number=row["id_card_number"],
        phone_number=row["phone_number"], residence_country=row["residence_country"], language=row["language"],
        allow_promo_email=row["allow_promo_email"], allow_third_party_email=row["allow_third_party_email"],
    )


def update_profile(conn: Connection, account: Account, profile: dict[str, Any]) -> Profile:
    """Replace the given fields of the profile (wire names; the e-mail is the account's identity: not changed)."""
    values = accounts_repo.columns_from_profile({k: v for k, v in profile.items() if k != "email"})
    # W10: once saved by the spectator, the whole profile (pre-filled fields kept included) is theirs
    # and may be shared with the organizers whose tickets they open; it reaches no organizer now
    conn.execute(update(accounts).where(accounts.c.id == account.id).values(**values, prefilled_by=None))
    return get_profile(conn, account)


#: the tickets the app shows (a deleted one only if the organizer said so)
_VISIBLE = or_(tickets.c.status != Status.DELETED.value, tickets.c.show_deleted.is_(True))


def _sync_my_tickets(conn: Connection, clock: Clock, account: Account) -> None:
    """W2/W8/W10: listing is the app syncing and opening its tickets; apply what syncing changes and
    share the spectator's profile with the organizers of the tickets they hold (W10 (b)), organizer by
    organizer (in id order, so two listers never wait for each other's ticket locks in a cycle). The
    profile is shared before that organizer's records are written: the DOWNLOADED record of a ticket
    received by transfer is the first to carry the new owner's profile. The tickets are locked as they
    are loaded: two listings of one account sync each ticket once."""
    me = accounts_repo.by_ids(conn, [account.id])[account.id]
    held = conn.scalars(select(tickets.c.organizer_id).where(tickets.c.owner_id == account.id, _VISIBLE).distinct())
    sharing = set(organizer_profiles.to_share(conn, me, held))
    needs_sync = or_(
        tickets.c.status.in_([Status.INJECTED.value, Status.DELETION_PENDING.value]),
        tickets.c.downloaded.is_(False),
        tickets.c.id.in_(select(transfers.c.ticket_pk).where(
            transfers.c.state == TransferState.PENDING.value, transfers.c.expires_at <= clock.now())),
    )
    syncing = set(conn.scalars(select(tickets.c.organizer_id).where(tickets.c.owner_id == account.id, needs_sync)))
    for organizer_id in sorted(syncing | sharing):
        now = begin_write(conn, clock, organizer_id)
        if organizer_id in sharing:
            organizer_profiles.share(conn, organizer_id, me, now)
        if organizer_id not in syncing:
            continue
        batch = tickets_repo.load(conn, and_(tickets.c.owner_id == account.id,
                                             tickets.c.organizer_id == organizer_id, needs_sync), lock=True)
        entries = [(s, s.ticket.sync(now)) for s in batch]
        tickets_repo.save(conn, organizer_id, entries, now)
        # save() skips tickets without a status change, but syncing always marks a ticket as on the
        # owner's phone (e.g. one received by transfer or controlled before the first sync): keep
        # that, or a later delete would skip DELETION_PENDING (W8)
        quiet = [s.pk for s, changes in entries if not changes]
        if quiet:
            conn.execute(update(tickets).where(tickets.c.id.in_(quiet), tickets.c.downloaded.is_(False))
                         .values(downloaded=True, updated_at=now))


def list_tickets(conn: Connection, clock: Clock, account: Account, cursor: str | None, limit: int) -> TicketPage:
    """My tickets, syncing them first (W2). Writes: the caller's unit of work is a writing one."""
    after = decode_int_cursor(cursor)  # first: a refused request must not sync (nothing half-done)
    _sync_my_tickets(conn, clock, account)
    page = tickets_repo.load(conn, and_(tickets.c.owner_id == account.id, tickets.c.id > after, _VISIBLE),
                             limit=limit + 1)
    items = []
    for stored in page[:limit]:
        ticket = stored.ticket
        pending = ticket.pending
        items.append(MyTicket(
            wallet_ticket_id=wallet_ticket_id(stored.pk), ticket_id=ticket.ticket_id, status=ticket.status,
            event=stored.event, holder=ticket.holder,
            transfer_level=ticket.transfer_level,
            pending=None if pending is None else PendingTransfer(pending.transfer_id, pending.recipient,
                                                                 pending.expires_at),
        ))
    next_cursor = encode_cursor(page[limit - 1].pk) if len(page) > limit else None
    return TicketPage(items, next_cursor)


def locate_my_ticket(conn: Connection, account: Account, ticket_ref: str) -> tuple[int, int]:
    """(ticket pk, organizer id) of the ticket ``ticket_ref`` names in the spectator's wallet (W12).

    ``ticket_ref`` is a walletTicketId (``~42``) or a bare ticketId; the latter must name one ticket
    of the spectator: two organizers' tickets sharing it answer 409 AMBIGUOUS_TICKET_ID listing their
    walletTicketIds, so the app (and the spectator) can still reach each. A ticket in someone else's
    wallet answers 404 like an unknown one: its existence is not leaked.
    """
    rows: list[Any] = []
    pk = _parse_wallet_ticket_id(ticket_ref)
    mine = tickets.c.owner_id == account.id
    if pk is not None:
        rows = list(conn.execute(select(tickets.c.id, tickets.c.organizer_id).where(tickets.c.id == pk, mine)))
    elif "\x00" not in ticket_ref:  # one with NUL cannot exist (injection refuses it); PostgreSQL refuses it
        rows = list(conn.execute(select(tickets.c.id, tickets.c.organizer_id).where(
            tickets.c.ticket_id == ticket_ref, mine).order_by(tickets.c.id)))
    if not rows:
        raise NotFound(f"no ticket {ticket_ref!r} in your wallet", code=WalletCode.TICKET_NOT_FOUND,
                       details={"ticketId": ticket_ref})
    if len(rows) > 1:
        candidates = [wallet_ticket_id(row.id) for row in rows]
        raise Conflict(f"tickets of {len(rows)} organizers share ticket id {ticket_ref!r}: name one by its "
                       f"walletTicketId ({', '.join(candidates)})", code=WalletCode.AMBIGUOUS_TICKET_ID,
                       details={"ticketId": ticket_ref, "walletTicketIds": candidates})
    return rows[0].id, rows[0].organizer_id


def assign_holder(conn: Connection, clock: Clock, account: Account, ticket_ref: str,
                  holder: dict[str, Any]) -> HolderAssigned:
    """Assign the ticket ``ticket_ref`` (walletTicketId or ticketId, W12) names to ``holder`` (W3)."""
    pk, organizer_id = locate_my_ticket(conn, account, ticket_ref)
    ticket_id = change_ticket(conn, clock, pk, organizer_id, lambda ticket, now: (
        ticket.ticket_id, ticket.assign_holder(account.email, holder, now)))
    return HolderAssigned(wallet_ticket_id(pk), ticket_id, Status.ASSIGNED, holder)
