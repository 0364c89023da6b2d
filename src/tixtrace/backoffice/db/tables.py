"""The back office's tables (its own database; it shares none with the wallet).

Shaped for the bulk feedback over a million tickets:
- ``tickets.number`` is unique (the wallet's ``ticketId``), so a page of records resolves its tickets
  with one ``IN`` query; the per-function "processed" markers (``injected_at``, ``push_cancelled_at``,
  ``push_controlled_at``) let each function select its work through the ``status`` index.
- ``contacts.email_key`` (the e-mail normalized by C1: NFKC, trimmed, lower-cased) is indexed but NOT
  unique: contacts typed by people may share an e-mail (C1 picks among them). What must be unique is
  the contact the system creates for an e-mail (C2): ``contact_emails`` is that claim, one row per
  e-mail key, inserted with ON CONFLICT DO NOTHING by the creator, so two concurrent writers end with
  one contact. Deleting the claimed contact (F5) deletes the claim with it (ON DELETE CASCADE).
- ``distribution_lines`` are unique per (ticket, wallet transfer): a repeated or stale record finds
  its line instead of adding one (F6). Their contact references are SET NULL when a temporary contact
  is deleted (F5): the line keeps ``recipient_email``.
- The interface password is stored (it is needed to call the wallet) encrypted with the service's
  secret key (`tixtrace.backoffice.secret_key`) and never rendered back.
- Every integer surrogate key is ``AUTOINCREMENT`` on SQLite (``sqlite_autoincrement``): an id is never
  handed out twice, not even the id of a deleted row (C4), as PostgreSQL's sequences already ensure.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    true,
)

from tixtrace.kernel.db import BigId, Time, new_metadata

metadata = new_metadata()


users = Table(
    "users", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("password_hash", String(300), nullable=False),
    Column("created_at", Time, nullable=False),
    Column("disabled_at", Time),  # set by `backoffice disable-user`: no sign-in, no session
    sqlite_autoincrement=True,
)

#: server-side sessions of the screens (DESIGN 10): the cookie holds a random token, this only its digest
sessions = Table(
    "sessions", metadata,
    Column("id", Integer, primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),  # SHA-256 hex of the cookie's token
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", Time, nullable=False),
    Column("last_seen_at", Time, nullable=False),
    Column("expires_at", Time, nullable=False),  # the absolute end; the idle end is last_seen_at + idle
    Index("ix_sessions_user_id", "user_id"),
    sqlite_autoincrement=True,
)

#: the login throttle (DESIGN 10): attempts per normalized user name (its SHA-256 hex) in a fixed window
login_attempts = Table(
    "login_attempts", metadata,
    Column("name_key", String(64), primary_key=True),
    Column("window_start", BigInteger, nullable=False),  # Unix seconds
    Column("attempts", Integer, nullable=False),
    Index("ix_login_attempts_window_start", "window_start"),
)

contacts = Table(
    "contacts", metadata,
    Column("id", BigId, primary_key=True),
    Column("kind", String(10), nullable=False),  # INDIVIDUAL | RELAY | STRUCTURE
    Column("reference", String(50), unique=True),  # the operator's own key (CSV imports refer to it)
    Column("title", String(20)),
    Column("first_name", String(100)),
    Column("last_name", String(100), nullable=False),
    Column("email", String(320)),  # as written (trimmed)
    Column("email_key", String(320)),  # NFKC, trimmed, lower-cased: the C1 matching key
    Column("phone", String(30)),
    Column("mobile_phone", String(30)),  # C3: phoneNumber
    Column("birth_date", Date),
    Column("nationality", String(3)),
    Column("id_number", String(50)),
    Column("country", String(3)),  # C3 takes the wallet's residenceCountry as it is
    Column("language", String(10)),
    Column("allow_promo_email", Boolean),
    Column("allow_third_party_email", Boolean),
    Column("has_internet_account", Boolean, nullable=False),
    Column("is_temporary", Boolean, nullable=False),
    Column("created_at", Time, nullable=False),
    Column("updated_at", Time, nullable=False),
    Column("erased_at", Time),  # data protection: set when the person was erased (services.erasure)
    # the name folded by domain.search.name_keys ("first last", "last first"), written with the name by
    # every service that writes one (the default only serves rows written around the services)
    Column("search_name", String(201), nullable=False, server_default=""),
    Column("search_name_reversed", String(201), nullable=False, server_default=""),
    # equality (C1) and prefix search: pattern operators on PostgreSQL, whose LIKE 'p%' they serve
    Index("ix_contacts_email_key", "email_key", postgresql_ops={"email_key": "text_pattern_ops"}),
    Index("ix_contacts_search_name", "search_name", postgresql_ops={"search_name": "text_pattern_ops"}),
    Index("ix_contacts_search_name_reversed", "search_name_reversed",
          postgresql_ops={"search_name_reversed": "text_pattern_ops"}),
    sqlite_autoincrement=True,
)

contact_emails = Table(
    "contact_emails", metadata,
    Column("email_key", String(320), primary_key=True),
    Column("contact_id", BigId, ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", Time, nullable=False),
    Index("ix_contact_emails_contact_id", "contact_id"),
)

events = Table(
    "events", metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(50), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("start_time", Time, nullable=False),
    Column("end_time", Time),
    Column("venue_site", String(200), nullable=False),
    Column("venue_city", String(100), nullable=False),
    Column("venue_zip", String(20), nullable=False),
    Column("venue_country_code", String(2), nullable=False),
    Column("created_at", Time, nullable=False),
    Column("max_transfers", Integer),  # I3: the wallet's transferRules.maxTransfers; NULL = no limit
    sqlite_autoincrement=True,
)

tickets = Table(
    "tickets", metadata,
    Column("id", BigId, primary_key=True),
    Column("number", String(50), nullable=False, unique=True),  # the wallet's ticketId
    Column("event_id", Integer, ForeignKey("events.id"), nullable=False),
    Column("seat", String(50)),
    Column("price_cents", BigInteger),
    Column("currency", String(3)),
    Column("barcode", String(100), nullable=False),
    Column("file_number", String(50)),
    Column("status", String(20), nullable=False),  # NOT_PRINTED | PRINTED | CANCELLED | INVALIDATED | CONTROLLED
    Column("buyer_contact_id", BigId, ForeignKey("contacts.id")),
    Column("cultural_contact_id", BigId, ForeignKey("contacts.id"), nullable=False),
    Column("owner_contact_id", BigId, ForeignKey("contacts.id"), nullable=False),
    Column("replaces_ticket_id", BigId, ForeignKey("tickets.id")),
    # what the feedback learnt from the wallet (F1, F2)
    Column("mobile_status", String(20)),
    Column("wallet_owner", JSON),
    Column("ticket_holder", JSON),
    Column("last_wallet_owner_email", String(320)),
    Column("last_synced_at", Time),
    Column("last_record_id", BigInteger),  # the last wallet record applied to it: older ones are replays (F11)
    # processed markers, one per interface function
    Column("injected_at", Time),
    Column("push_cancelled_at", Time),
    Column("push_controlled_at", Time),
    Column("created_at", Time, nullable=False),
    Column("updated_at", Time, nullable=False),
    Index("ix_tickets_status_event_id", "status", "event_id"),
    Index("ix_tickets_event_id_id", "event_id", "id"),  # an event's tickets in keyset pages (holders)
    Index("ix_tickets_cultural_contact_id", "cultural_contact_id"),
    Index("ix_tickets_owner_contact_id", "owner_contact_id"),
    Index("ix_tickets_buyer_contact_id", "buyer_contact_id"),
    Index("ix_tickets_replaces_ticket_id", "replaces_ticket_id"),
    # prefix search of the number and of the barcode (pattern operators on PostgreSQL: the unique
    # constraint's index cannot serve LIKE 'p%' under a non-C collation; on SQLite a duplicate, kept so
    # that both databases declare the same schema)
    Index("ix_tickets_number_prefix", "number", postgresql_ops={"number": "text_pattern_ops"}),
    Index("ix_tickets_barcode", "barcode", postgresql_ops={"barcode": "text_pattern_ops"}),
    sqlite_autoincrement=True,
)

ticket_actions = Table(
    "ticket_actions", metadata,
    Column("id", BigId, primary_key=True),
    Column("ticket_id", BigId, ForeignKey("tickets.id"), nullable=False),
    Column("action", String(20), nullable=False),  # CANCEL | INVALIDATE | CONTROL | REPRINT
    Column("from_status", String(20), nullable=False),
    Column("to_status", String(20), nullable=False),
    Column("related_ticket_id", BigId, ForeignKey("tickets.id")),  # reprint: the new ticket
    Column("actor", String(100)),
    Column("at", Time, nullable=False),
    Index("ix_ticket_actions_ticket_id", "ticket_id"),
    sqlite_autoincrement=True,
)

distribution_lines = Table(
    "distribution_lines", metadata,
    Column("id", BigId, primary_key=True),
    Column("ticket_id", BigId, ForeignKey("tickets.id"), nullable=False),
    Column("transfer_id", String(64), nullable=False),  # the wallet's transferId
    Column("action", String(10), nullable=False),  # DISTRIBUTE | TAKE_BACK
    Column("old_contact_id", BigId, ForeignKey("contacts.id", ondelete="SET NULL")),
    Column("new_contact_id", BigId, ForeignKey("contacts.id", ondelete="SET NULL")),
    Column("recipient_email", String(320)),
    Column("status", String(10), nullable=False),  # PENDING | CONFIRMED | CANCELLED
    Column("reason", String(100)),  # why the transfer failed (F5: REJECTED, TIMEOUT ...)
    Column("contact_match", String(20)),  # EXISTING | CREATED_TEMPORARY | CREATED | COMPLETED
    Column("initiated_at", Time, nullable=False),
    Column("resolved_at", Time),
    Column("recorded_at", Time, nullable=False),
    Column("updated_at", Time, nullable=False),
    # F10: the recordId that opened the line (the wallet's order; lines from before 0006: negative,
    # in id order, so they stay first), who started the transfer and why, and when it times out
    Column("opened_record_id", BigInteger, nullable=False),
    Column("sender_email", String(320)),  # F3
    Column("initiated_by", String(10), nullable=False, server_default="SPECTATOR"),  # SPECTATOR | ORGANIZER
    Column("transfer_reason", String(500)),  # the organizer's reason (W7)
    Column("expires_at", Time),
    UniqueConstraint("ticket_id", "transfer_id"),
    Index("ix_distribution_lines_ticket_id_opened_record_id", "ticket_id", "opened_record_id", "id"),
    Index("ix_distribution_lines_old_contact_id", "old_contact_id"),
    Index("ix_distribution_lines_new_contact_id", "new_contact_id"),
    # GET /metrics: lines by status; the overview: pending lines, oldest first
    Index("ix_distribution_lines_status_id", "status", "id"),
    sqlite_autoincrement=True,
)

interfaces = Table(
    "interfaces", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("type", String(20), nullable=False),  # TIXNGO
    Column("url", String(500), nullable=False),  # ends in /organizer/tickets
    Column("login", String(254), nullable=False),
    Column("password", Text, nullable=False),  # "fernet:..." encrypted with the secret key; never rendered
    Column("notification_emails", JSON, nullable=False),  # list of e-mails
    Column("custom_parameters", Text, nullable=False),  # the operator's text, as typed
    Column("parameters", JSON, nullable=False),  # the typed values in force (section 5)
    Column("warnings", JSON, nullable=False),  # unknown names, one text each
    Column("created_at", Time, nullable=False),
    Column("updated_at", Time, nullable=False),
    sqlite_autoincrement=True,
)

schedules = Table(
    "schedules", metadata,
    Column("id", Integer, primary_key=True),
    Column("interface_id", Integer, ForeignKey("interfaces.id"), nullable=False),
    Column("function", String(30), nullable=False),
    Column("launch", String(10), nullable=False),  # MANUAL | AUTOMATIC
    Column("frequency_minutes", Integer, nullable=False),
    Column("starts_at", Time),
    Column("ends_at", Time),
    Column("batch_size", Integer, nullable=False),
    Column("pagination_key", Text),  # feedback: filled from the wallet, committed with the data
    Column("last_record_id", BigInteger),  # feedback: the last recordId applied (a page read again skips it)
    Column("skip_ticket_numbers", JSON, nullable=False),
    Column("event_codes", JSON, nullable=False),  # injection filter; empty = every event
    Column("created_at", Time, nullable=False),
    Column("updated_at", Time, nullable=False),
    Column("active", Boolean, nullable=False, server_default=true()),  # O1: false = paused, never started
    Column("deleted_at", Time),  # O1: deleted (hidden, never run); kept so its executions stay readable
    # O4: the start of the latest run that did all its work (feedback: read the feed to its end); the lag
    Column("caught_up_at", Time),
    Index("ix_schedules_interface_id", "interface_id"),
    sqlite_autoincrement=True,
)

executions = Table(
    "executions", metadata,
    Column("id", BigId, primary_key=True),
    Column("schedule_id", Integer, ForeignKey("schedules.id"), nullable=False),
    Column("function", String(30), nullable=False),
    Column("status", String(10), nullable=False),  # RUNNING | OK | WARNING | ERROR
    Column("started_at", Time, nullable=False),
    Column("ended_at", Time),
    Column("records_read", BigInteger, nullable=False, default=0),
    Column("tickets_updated", BigInteger, nullable=False, default=0),
    Column("contacts_created", BigInteger, nullable=False, default=0),
    Column("contacts_completed", BigInteger, nullable=False, default=0),
    Column("contacts_removed", BigInteger, nullable=False, default=0),
    Column("lines_created", BigInteger, nullable=False, default=0),
    Column("lines_updated", BigInteger, nullable=False, default=0),
    Column("skipped", BigInteger, nullable=False, default=0),
    Column("failed", BigInteger, nullable=False, default=0),
    Column("parked", BigInteger, nullable=False, default=0),
    Column("dumped_calls", Text),  # payloads exchanged, up to maxLengthDumpedCallsInKbs
    Column("launched_by", String(150)),  # O2: a user's name, "scheduler" or "cli"; NULL before migration 0011
    Index("ix_executions_schedule_id_id", "schedule_id", "id"),
    Index("ix_executions_schedule_id_status_id", "schedule_id", "status", "id"),  # O4: the latest OK run
    Index("ix_executions_status_started_at", "status", "started_at"),  # the overview: ERROR in the last 24 h
    Index("ix_executions_status_id", "status", "id"),
    Index("ix_executions_function_id", "function", "id"),
    sqlite_autoincrement=True,
)

execution_logs = Table(
    "execution_logs", metadata,
    Column("id", BigId, primary_key=True),
    Column("execution_id", BigId, ForeignKey("executions.id", ondelete="CASCADE"), nullable=False),
    Column("level", String(10), nullable=False),  # INFO | WARNING | ERROR
    Column("ticket_number", String(50)),
    Column("contact_id", BigInteger),  # the contact the line names (no foreign key: a removed one stays named)
    Column("message", Text, nullable=False),
    Column("logged_at", Time, nullable=False),
    Index("ix_execution_logs_execution_id_id", "execution_id", "id"),
    sqlite_autoincrement=True,
)

parked_records = Table(
    "parked_records", metadata,
    Column("id", BigId, primary_key=True),
    Column("schedule_id", Integer, ForeignKey("schedules.id"), nullable=False),
    Column("record_id", BigInteger, nullable=False),  # the wallet's recordId
    Column("ticket_number", String(50), nullable=False),
    Column("record", JSON, nullable=False),
    Column("error", Text, nullable=False),
    Column("parked_at", Time, nullable=False),
    UniqueConstraint("schedule_id", "record_id"),
    Index("ix_parked_records_schedule_id_ticket_number", "schedule_id", "ticket_number"),
    Index("ix_parked_records_ticket_number", "ticket_number"),  # a ticket's page
    sqlite_autoincrement=True,
)

#: O2: every change made by a person or a process, written in the transaction of the change
#: (``services/audit.py``); ``changes`` is ``{field: [before, after]}`` and never holds a password
audit_log = Table(
    "audit_log", metadata,
    Column("id", BigId, primary_key=True),
    Column("at", Time, nullable=False),
    Column("actor", String(100), nullable=False),  # a user's name, "scheduler" or "cli"
    Column("action", String(30), nullable=False),  # CREATE | UPDATE | PAUSE | RESUME | DELETE | RESET_FEED | RUN ...
    Column("object_type", String(20), nullable=False),  # interface | schedule | ticket | user
    Column("object_id", BigInteger, nullable=False),
    Column("changes", JSON, nullable=False),
    Index("ix_audit_log_object_type_object_id_id", "object_type", "object_id", "id"),  # an object's entries
    Index("ix_audit_log_object_type_id", "object_type", "id"),  # the /audit list filtered by type
    sqlite_autoincrement=True,
)
