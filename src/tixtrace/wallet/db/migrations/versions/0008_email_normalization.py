"""Stored e-mails re-normalized by C1's rule (trimmed, NFKC, ``str.lower``; was ``casefold``).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02

Accounts and organizers are identified by their normalized e-mail (unique columns); transfers name
their recipient by it. Each is recomputed from the stored form. Nothing is merged: where two accounts
(or two organizers) would end with one e-mail — a fullwidth ``ａlice@`` and ``alice@`` — both keep the
e-mail they had and the collision is logged with their ids (never the e-mails), for a person to
resolve. An e-mail holding a control, zero-width or bidi character, which C1 now refuses, is kept as
it is and logged too. ``casefold`` already merged ``straße@`` into ``strasse@`` at sign-in: the
stored form is ``strasse@`` and cannot be told apart again; from now on ``straße@`` is a new account.
The downgrade leaves the e-mails as they are: NFKC cannot be undone (which rows it changed is not kept).
(Written in parallel with 0006/0007; the down revision is re-chained when merged.)
"""
import logging
import unicodedata
from collections import defaultdict

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

#: C1's rule as of this revision, frozen here: a migration must not change when the code does
_INVISIBLE = frozenset({"Cc", "Cf", "Zl", "Zp", "Co", "Cs", "Cn"})


def _key(email: str) -> str | None:
    """The C1 form of `email`, or None if C1 refuses the address."""
    normalized = unicodedata.normalize("NFKC", email).strip()
    if any(unicodedata.category(char) in _INVISIBLE for char in normalized):
        return None
    return normalized.lower()


def _renormalize_unique(conn: sa.Connection, name: str) -> None:
    """Re-normalize a table whose ``email`` is unique, leaving colliding and refused rows unchanged."""
    table = sa.table(name, sa.column("id", sa.Integer), sa.column("email", sa.String))
    rows = conn.execute(sa.select(table.c.id, table.c.email).order_by(table.c.id)).all()
    owner = {row.email: row.id for row in rows}
    by_new: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for row in rows:
        new = _key(row.email)
        if new is None:
            log.warning("0008: %s row %s has an e-mail C1 refuses (control, zero-width or bidi character); "
                        "left unchanged", name, row.id)
        else:
            by_new[new].append((row.id, row.email))
    for new, group in by_new.items():
        row_id, old = group[0]
        if len(group) > 1 or new != old and owner.get(new, row_id) != row_id:
            ids = sorted({i for i, _ in group} | ({owner[new]} if new in owner else set()))
            log.warning("0008: %s rows %s would share one e-mail: left unchanged, not merged",
                        name, ", ".join(map(str, ids)))
        elif new != old:
            conn.execute(sa.update(table).where(table.c.id == row_id).values(email=new))


def upgrade() -> None:
    conn = op.get_bind()
    _renormalize_unique(conn, "organizers")
    _renormalize_unique(conn, "accounts")
    transfers = sa.table("transfers", sa.column("recipient_email", sa.String))
    for (old,) in conn.execute(sa.select(transfers.c.recipient_email).distinct()).all():
        new = _key(old)
        if new is not None and new != old:
            conn.execute(sa.update(transfers).where(transfers.c.recipient_email == old).values(recipient_email=new))


def downgrade() -> None:
    pass
