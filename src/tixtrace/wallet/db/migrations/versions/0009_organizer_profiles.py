"""W10: what each organizer may see of each account (organizer_profiles), and who pre-filled a profile.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02

Chained to 0008 (e-mail normalization), the wallet's head when W10 came back.

Existing data, decided conservatively (docs/decisions.md, Privacy): an account that holds the profile
it was created with cannot be told from one its owner edited, so an account that is the original
spectator of a ticket is marked pre-filled by the organizer of its first such ticket; that organizer
gets the profile as INJECTED (its own details pre-filled it). An account that holds a ticket it has
opened (downloaded) shares its profile with that ticket's organizer (SHARED) when the profile is its own
or pre-filled by that organizer. Records already written are left as they are: the back office has read
them, and rewriting history would change what a replay sees (docs/reliability.md, Not covered).
"""
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_PROFILE = {"title": "title", "firstName": "first_name", "lastName": "last_name", "dateOfBirth": "date_of_birth",
            "nationality": "nationality", "idCardNumber": "id_card_number", "phoneNumber": "phone_number",
            "residenceCountry": "residence_country", "language": "language"}


def _profile(row: sa.RowMapping) -> dict:
    profile = {key: row[column] for key, column in _PROFILE.items()}
    promo, third = row["allow_promo_email"], row["allow_third_party_email"]
    profile["organizerSpectatorPreference"] = (
        None if promo is None and third is None
        else {"allowPromoEmail": bool(promo), "allowThirdPartyEmail": bool(third)})
    return profile


def upgrade() -> None:
    op.add_column("accounts", sa.Column("prefilled_by", sa.Integer(), nullable=True))
    profiles = op.create_table(
        "organizer_profiles",
        sa.Column("organizer_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("profile", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"],
                                name=op.f("fk_organizer_profiles_account_id_accounts")),
        sa.ForeignKeyConstraint(["organizer_id"], ["organizers.id"],
                                name=op.f("fk_organizer_profiles_organizer_id_organizers")),
        sa.PrimaryKeyConstraint("organizer_id", "account_id", name=op.f("pk_organizer_profiles")),
    )
    op.create_index("ix_organizer_profiles_account_id", "organizer_profiles", ["account_id"])
    bind = op.get_bind()
    metadata = sa.MetaData()
    accounts = sa.Table("accounts", metadata, autoload_with=bind)
    tickets = sa.Table("tickets", metadata, autoload_with=bind)
    named = [accounts.c[column] for column in _PROFILE.values()]
    has_profile = sa.or_(*(column.is_not(None) for column in named))
    first = (sa.select(tickets.c.original_owner_id, sa.func.min(tickets.c.id).label("pk"))
             .group_by(tickets.c.original_owner_id).subquery())
    prefilled = dict(bind.execute(
        sa.select(accounts.c.id, tickets.c.organizer_id)
        .join(first, first.c.original_owner_id == accounts.c.id).join(tickets, tickets.c.id == first.c.pk)
        .where(has_profile)).all())
    for account_id, organizer_id in prefilled.items():
        bind.execute(sa.update(accounts).where(accounts.c.id == account_id).values(prefilled_by=organizer_id))
    now = datetime.now(UTC)
    rows = {(organizer_id, account_id): "INJECTED" for account_id, organizer_id in prefilled.items()}
    opened = bind.execute(sa.select(tickets.c.organizer_id, tickets.c.owner_id)
                          .where(tickets.c.downloaded.is_(True)).distinct()).all()
    for organizer_id, account_id in opened:
        if prefilled.get(account_id, organizer_id) == organizer_id:
            rows[(organizer_id, account_id)] = "SHARED"
    if not rows:
        return
    by_id = {row["id"]: row for row in bind.execute(
        sa.select(accounts).where(accounts.c.id.in_({account_id for _, account_id in rows}))).mappings()}
    op.bulk_insert(profiles, [
        {"organizer_id": organizer_id, "account_id": account_id, "profile": _profile(by_id[account_id]),
         "source": source, "updated_at": now}
        for (organizer_id, account_id), source in sorted(rows.items())
    ])


def downgrade() -> None:
    op.drop_index("ix_organizer_profiles_account_id", table_name="organizer_profiles")
    op.drop_table("organizer_profiles")
    with op.batch_alter_table("accounts", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.drop_column("prefilled_by")
