"""E-mail keys re-normalized by C1's rule (trimmed, NFKC, ``str.lower``; was ``casefold``).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02

Each contact's ``email_key`` is recomputed from its ``email`` as written, and each claim of
``contact_emails`` from its contact's e-mail (so ``straße@`` gets back its own key, which ``casefold``
had made ``strasse@``). Nothing is merged: where keys that differed before would become one (a
fullwidth ``ａlice@`` and ``alice@``), or a claim's new key is already another claim's, every row
involved keeps its old key and the collision is logged with the row ids (never the e-mails), for a
person to resolve. An address holding a control, zero-width or bidi character, which C1 now refuses,
also keeps its old key and is logged. The downgrade restores the ``casefold`` keys.
(Written in parallel with 0008; the down revision is re-chained when both are merged.)
"""
import logging
import unicodedata
from collections import defaultdict

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

#: C1's rule as of this revision, frozen here: a migration must not change when the code does
_INVISIBLE = frozenset({"Cc", "Cf", "Zl", "Zp", "Co", "Cs", "Cn"})


def _key(email: str) -> str | None:
    """The C1 key of `email`, or None if C1 refuses the address."""
    normalized = unicodedata.normalize("NFKC", email).strip()
    if any(unicodedata.category(char) in _INVISIBLE for char in normalized):
        return None
    return normalized.lower()


def _claims() -> sa.TableClause:
    return sa.table("contact_emails", sa.column("email_key", sa.String), sa.column("contact_id", sa.BigInteger),
                    sa.column("created_at", sa.DateTime))


def _rekey(conn: sa.Connection, moves: list[tuple[str, str]]) -> None:
    """Give claims new keys (old → new, the new keys distinct): deleted then inserted again, so that no
    order of the moves can hit the primary key half-way."""
    if not moves:
        return
    claims = _claims()
    new_of = dict(moves)
    rows = conn.execute(sa.select(claims).where(claims.c.email_key.in_(list(new_of)))).all()
    conn.execute(sa.delete(claims).where(claims.c.email_key.in_(list(new_of))))
    conn.execute(sa.insert(claims), [{"email_key": new_of[row.email_key], "contact_id": row.contact_id,
                                      "created_at": row.created_at} for row in rows])


def upgrade() -> None:
    conn = op.get_bind()
    contacts = sa.table("contacts", sa.column("id", sa.BigInteger), sa.column("email", sa.String),
                        sa.column("email_key", sa.String))
    claims = _claims()
    rows = conn.execute(sa.select(contacts.c.id, contacts.c.email, contacts.c.email_key)
                        .where(contacts.c.email.is_not(None)).order_by(contacts.c.id)).all()
    emails = {row.id: row.email for row in rows}
    by_new: dict[str, list[tuple[int, str | None]]] = defaultdict(list)
    for row in rows:
        new = _key(row.email)
        if new is None:
            log.warning("0009: contact %s has an e-mail C1 refuses (control, zero-width or bidi character); "
                        "its key is left unchanged", row.id)
        else:
            by_new[new].append((row.id, row.email_key))
    for new, group in by_new.items():
        if len({old for _, old in group}) > 1:
            log.warning("0009: contacts %s would share one e-mail key but had different ones: left unchanged, "
                        "not merged", ", ".join(str(contact_id) for contact_id, _ in group))
            continue
        changed = [contact_id for contact_id, old in group if old != new]
        if changed:
            conn.execute(sa.update(contacts).where(contacts.c.id.in_(changed)).values(email_key=new))
    claimed = conn.execute(sa.select(claims.c.email_key, claims.c.contact_id)).all()
    claim_by_new: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for claim in claimed:
        email = emails.get(claim.contact_id)
        claim_key = _key(email) if email is not None else None
        claim_by_new[claim_key or claim.email_key].append((claim.email_key, claim.contact_id))
    moves: list[tuple[str, str]] = []
    for claim_key, same_key in claim_by_new.items():
        if len(same_key) > 1:
            log.warning("0009: the e-mail claims of contacts %s would become one: left unchanged, not merged",
                        ", ".join(str(contact_id) for _, contact_id in same_key))
        elif same_key[0][0] != claim_key:
            moves.append((same_key[0][0], claim_key))
    _rekey(conn, moves)


def downgrade() -> None:
    conn = op.get_bind()
    contacts = sa.table("contacts", sa.column("id", sa.BigInteger), sa.column("email", sa.String),
                        sa.column("email_key", sa.String))
    claims = _claims()
    rows = conn.execute(sa.select(contacts.c.id, contacts.c.email).where(contacts.c.email.is_not(None))).all()
    emails = {row.id: row.email for row in rows}
    for row in rows:
        conn.execute(sa.update(contacts).where(contacts.c.id == row.id)
                     .values(email_key=row.email.strip().casefold()))
    by_old: dict[str, list[str]] = defaultdict(list)
    for claim in conn.execute(sa.select(claims.c.email_key, claims.c.contact_id)).all():
        email = emails.get(claim.contact_id)
        by_old[email.strip().casefold() if email is not None else claim.email_key].append(claim.email_key)
    # claims that casefold would make one (straße@, strasse@) keep the keys C1 gave them
    _rekey(conn, [(keys[0], old) for old, keys in by_old.items() if len(keys) == 1 and keys[0] != old])
