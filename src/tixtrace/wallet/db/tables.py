"""The wallet's tables (its own database; it shares none with the back office).

The status log keeps each lifecycle record as its JSON body (without ``recordId``), written once in
the transaction of the change; the diff feed streams those bodies as they are, so reading the feed
costs one index range scan and no per-record serialization.

Every integer surrogate key (``record_id`` included: the back office remembers the last one it read) is
``AUTOINCREMENT`` on SQLite (``sqlite_autoincrement``), so an id is never handed out twice, not even a
deleted row's (C4), as PostgreSQL's sequences already ensure.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from tixtrace.kernel.db import BigId, Time, new_metadata

metadata = new_metadata()


organizers = Table(
    "organizers", metadata,
    Column("id", Integer, primary_key=True),
    Column("email", String(320), nullable=False, unique=True),
    Column("api_key_hash", String(64), nullable=False),
    Column("transfer_timeout_seconds", Integer, nullable=False),
    Column("acceptance_required", Boolean, nullable=False),
    Column("created_at", Time, nullable=False),
    sqlite_autoincrement=True,
)

accounts = Table(
    "accounts", metadata,
    Column("id", Integer, primary_key=True),
    Column("email", String(320), nullable=False, unique=True),  # normalized by C1 (kernel.emails)
    Column("title", String(20)),
    Column("first_name", String(100)),
    Column("last_name", String(100)),
    Column("date_of_birth", String(10)),
    Column("nationality", String(3)),
    Column("id_card_number", String(50)),
    Column("phone_number", String(30)),
    Column("residence_country", String(3)),
    Column("language", String(10)),
    Column("allow_promo_email", Boolean),
    Column("allow_third_party_email", Boolean),
    Column("created_at", Time, nullable=False),
    # W10: the organizer whose injection created the account and pre-filled its profile for the app;
    # NULL once the spectator saved the profile (or when nothing pre-filled it). A pre-filled profile is
    # shared with no other organizer until the spectator makes it theirs.
    Column("prefilled_by", Integer),
    sqlite_autoincrement=True,
)

#: W10: what each organizer may see of each account: the spectatorDetails it injected itself (INJECTED)
#: or the profile the spectator shared with it by opening one of its tickets (SHARED). No row: an e-mail
#: only. ``profile`` is the wire profile without the e-mail (the account's identity, read from accounts).
organizer_profiles = Table(
    "organizer_profiles", metadata,
    Column("organizer_id", Integer, ForeignKey("organizers.id"), primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), primary_key=True),
    Column("profile", JSON, nullable=False),
    Column("source", String(10), nullable=False),
    Column("updated_at", Time, nullable=False),
    Index("ix_organizer_profiles_account_id", "account_id"),
)

sessions = Table(
    "sessions", metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("created_at", Time, nullable=False),
    Column("last_used_at", Time, nullable=False),  # idle lifetime: services/spectators.py SESSION_IDLE_LIFETIME
)

tickets = Table(
    "tickets", metadata,
    Column("id", BigId, primary_key=True),
    Column("organizer_id", Integer, ForeignKey("organizers.id"), nullable=False),
    Column("ticket_id", String(100), nullable=False),
    Column("event", JSON, nullable=False),
    Column("purchase", JSON, nullable=False),
    Column("barcode", String(200), nullable=False),
    Column("status", String(20), nullable=False),
    Column("owner_id", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("original_owner_id", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("previous_owner_ids", JSON, nullable=False),  # stack of account ids, oldest first
    Column("holder", JSON),
    Column("downloaded", Boolean, nullable=False),
    Column("max_transfers", Integer),
    Column("transfers_done", Integer, nullable=False),
    Column("show_deleted", Boolean, nullable=False),
    Column("created_at", Time, nullable=False),
    Column("updated_at", Time, nullable=False),
    # ticket_id first: a page of ticket ids is an index range whatever the planner's statistics say
    UniqueConstraint("ticket_id", "organizer_id"),
    Index("ix_tickets_owner_id", "owner_id"),
    Index("ix_tickets_organizer_id_status", "organizer_id", "status"),  # GET /metrics: tickets by status
    sqlite_autoincrement=True,
)

transfers = Table(
    "transfers", metadata,
    Column("id", BigId, primary_key=True),
    Column("transfer_id", String(36), nullable=False, unique=True),
    Column("organizer_id", Integer, ForeignKey("organizers.id"), nullable=False),
    Column("ticket_pk", BigId, ForeignKey("tickets.id"), nullable=False),
    Column("sender_id", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("recipient_email", String(320), nullable=False),
    Column("direction", String(10), nullable=False),
    Column("initiated_by", String(10), nullable=False),
    Column("state", String(10), nullable=False),
    Column("failure_reason", String(30)),
    Column("reason", String(500)),
    Column("created_at", Time, nullable=False),
    Column("expires_at", Time),
    Column("resolved_at", Time),
    Index("ix_transfers_pending", "organizer_id", "state", "expires_at"),
    Index("ix_transfers_ticket_pk_state", "ticket_pk", "state"),
    Index("ix_transfers_sender_id", "sender_id"),
    Index("ix_transfers_recipient_email", "recipient_email"),
    sqlite_autoincrement=True,
)

status_log = Table(
    "status_log", metadata,
    Column("record_id", BigId, primary_key=True),
    Column("organizer_id", Integer, ForeignKey("organizers.id"), nullable=False),
    Column("ticket_pk", BigId, ForeignKey("tickets.id"), nullable=False),
    Column("status", String(20), nullable=False),
    Column("occurred_at", Time, nullable=False),
    Column("body", Text, nullable=False),
    Index("ix_status_log_organizer_id_record_id", "organizer_id", "record_id"),
    Index("ix_status_log_ticket_pk_record_id", "ticket_pk", "record_id"),
    sqlite_autoincrement=True,
)

#: W9: the wallet's clock is the real time plus this offset (one row, id 1; none = 0). The sandbox's advances add
#: to it and a starting wallet raises it so that no record is newer than its clock; kept here, not in
#: memory, so a restarted wallet, and every process serving the same database, shows the same time.
sandbox_clock = Table(
    "sandbox_clock", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),  # one row: the clock, not a surrogate key
    Column("offset_microseconds", BigInteger, nullable=False),
)

#: W11: this wallet's identity (one row, id 1), named in every pagination key the feed issues so that a key
#: handed to another wallet is refused. Created once, by the first feed read of the database (not by the
#: migration, so that databases created from one copied empty schema still get identities of their own).
wallet_instance = Table(
    "wallet_instance", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),  # one row: the instance, not a surrogate key
    Column("instance_id", String(32), nullable=False),
)
