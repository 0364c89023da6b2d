"""Search keys: contacts' folded names, and indexes that serve prefix searches on both databases.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02

``contacts.search_name`` ("first last") and ``search_name_reversed`` ("last first") hold the name folded
(no case, no accents, single spaces); this revision fills them for every existing contact, page by page
in id order (one executemany UPDATE per page). Their server default "" only serves rows written around
the services (the services write the keys with the name). Indexes: both columns; the ticket barcode;
the ticket number a second time; on PostgreSQL all of these and the e-mail key with ``text_pattern_ops``, the
operator class that lets ``LIKE 'prefix%'`` use a B-tree whatever the database's collation (on SQLite the
search is a range ``>= p AND < bound``, which the plain indexes serve). And the tickets' event index
becomes (event_id, id): the holders export reads an event's tickets in id order, page after page.
"""
import unicodedata

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

PAGE = 5000

#: domain.search.fold_name as of this revision, frozen here: a migration must not change when the code does
_BASE_LETTERS = str.maketrans({"ø": "o", "Ø": "o", "ł": "l", "Ł": "l", "đ": "d", "Đ": "d", "ħ": "h",
                               "æ": "ae", "Æ": "ae", "œ": "oe", "Œ": "oe", "ı": "i", "þ": "th"})


def _fold(text: str | None) -> str:
    if not text:
        return ""
    folded, before = _fold_once(text), text
    for _ in range(8):  # to a fixed point (a round or two in practice): folding twice changes nothing
        if folded == before:
            break
        folded, before = _fold_once(folded), folded
    return folded


def _fold_once(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_BASE_LETTERS))
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(unicodedata.normalize("NFKC", bare).casefold().split())


def _prefix_index(name: str, table: str, column: str) -> None:
    """An index on `column` that serves prefix searches (pattern operators on PostgreSQL)."""
    op.create_index(name, table, [column], postgresql_ops={column: "text_pattern_ops"})


def upgrade() -> None:
    conn = op.get_bind()
    postgresql = conn.dialect.name == "postgresql"
    with op.batch_alter_table("contacts") as batch_op:
        batch_op.add_column(sa.Column("search_name", sa.String(201), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("search_name_reversed", sa.String(201), nullable=False, server_default=""))
    contacts = sa.table("contacts", sa.column("id", sa.BigInteger), sa.column("first_name", sa.String),
                        sa.column("last_name", sa.String), sa.column("search_name", sa.String),
                        sa.column("search_name_reversed", sa.String))
    after = 0
    while True:
        rows = conn.execute(sa.select(contacts.c.id, contacts.c.first_name, contacts.c.last_name)
                            .where(contacts.c.id > after).order_by(contacts.c.id).limit(PAGE)).all()
        if not rows:
            break
        values = []
        for row in rows:
            first, last = _fold(row.first_name), _fold(row.last_name)
            values.append({"key": row.id, "name": f"{first} {last}".strip()[:201],
                           "reversed": f"{last} {first}".strip()[:201]})
        conn.execute(sa.update(contacts).where(contacts.c.id == sa.bindparam("key"))
                     .values(search_name=sa.bindparam("name"), search_name_reversed=sa.bindparam("reversed")),
                     values)
        after = rows[-1].id
    _prefix_index("ix_contacts_search_name", "contacts", "search_name")
    _prefix_index("ix_contacts_search_name_reversed", "contacts", "search_name_reversed")
    _prefix_index("ix_tickets_barcode", "tickets", "barcode")
    _prefix_index("ix_tickets_number_prefix", "tickets", "number")
    op.drop_index("ix_tickets_event_id", "tickets")
    op.create_index("ix_tickets_event_id_id", "tickets", ["event_id", "id"])
    if postgresql:
        op.drop_index("ix_contacts_email_key", "contacts")
        _prefix_index("ix_contacts_email_key", "contacts", "email_key")


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        op.drop_index("ix_contacts_email_key", "contacts")
        op.create_index("ix_contacts_email_key", "contacts", ["email_key"])
    op.drop_index("ix_tickets_number_prefix", "tickets")
    op.drop_index("ix_tickets_event_id_id", "tickets")
    op.create_index("ix_tickets_event_id", "tickets", ["event_id"])
    op.drop_index("ix_tickets_barcode", "tickets")
    op.drop_index("ix_contacts_search_name_reversed", "contacts")
    op.drop_index("ix_contacts_search_name", "contacts")
    with op.batch_alter_table("contacts") as batch_op:
        batch_op.drop_column("search_name_reversed")
        batch_op.drop_column("search_name")
