"""The feedback's find-or-create of contacts (C1, C2) against a real database."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

import tixtrace.backoffice.services.contacts as contacts_service
from tests.support.backoffice import START
from tixtrace.backoffice.db.tables import contact_emails, contacts
from tixtrace.backoffice.domain.contacts import ContactMatch
from tixtrace.backoffice.services.contacts import (
    NewContact,
    complete_temporary_contacts,
    create_contact,
    find_or_create_contacts,
)
from tixtrace.kernel.db import unit_of_work
from tixtrace.kernel.errors import BadInput

PROFILE = {"firstName": "Bea", "lastName": "Silva", "email": "bea@example.com", "title": "Ms",
           "dateOfBirth": "1990-04-02", "phoneNumber": "+33 6 12 34 56 78", "residenceCountry": "FR",
           "organizerSpectatorPreference": {"allowPromoEmail": True, "allowThirdPartyEmail": False}}


def person(engine: Engine, email: str, **fields: Any) -> int:
    with unit_of_work(engine) as conn:
        values: dict[str, Any] = {"kind": "INDIVIDUAL", "first_name": "Ana", "last_name": "Lima", "email": email}
        values.update(fields)
        return int(create_contact(conn, NewContact(**values), START)["id"])


def count_by_key(engine: Engine) -> dict[str, int]:
    with unit_of_work(engine, write=False) as conn:
        rows = conn.execute(select(contacts.c.email_key, func.count()).group_by(contacts.c.email_key)).all()
    return {key: n for key, n in rows}


def test_existing_contact_is_found_by_trimmed_casefolded_email_and_left_alone(engine: Engine) -> None:
    cid = person(engine, "Ana.Lima@Example.com")
    with unit_of_work(engine) as conn:
        found = find_or_create_contacts(conn, ["  ana.lima@EXAMPLE.com "], START)
    assert list(found) == ["ana.lima@example.com"]
    assert found["ana.lima@example.com"].contact["id"] == cid
    assert found["ana.lima@example.com"].match is ContactMatch.EXISTING
    assert count_by_key(engine) == {"ana.lima@example.com": 1}


def test_c1_prefers_non_temporary_then_internet_account_then_individual_then_oldest(engine: Engine) -> None:
    email = "shared@example.com"
    person(engine, email, kind="STRUCTURE", first_name=None, last_name="Acme")
    relay = person(engine, email, kind="RELAY", has_internet_account=True)
    person(engine, email, kind="INDIVIDUAL")
    with unit_of_work(engine) as conn:
        assert find_or_create_contacts(conn, [email], START)[email].contact["id"] == relay
    individual_online = person(engine, email, kind="INDIVIDUAL", has_internet_account=True)
    with unit_of_work(engine) as conn:
        assert find_or_create_contacts(conn, [email], START)[email].contact["id"] == individual_online


def test_a_structure_never_matches_so_a_temporary_contact_is_created(engine: Engine) -> None:
    person(engine, "office@acme.example", kind="STRUCTURE", first_name=None, last_name="Acme")
    with unit_of_work(engine) as conn:
        found = find_or_create_contacts(conn, ["office@acme.example"], START)["office@acme.example"]
    assert found.match is ContactMatch.CREATED_TEMPORARY
    row = found.contact
    assert (row["first_name"], row["last_name"], row["is_temporary"], row["kind"]) == \
        ("Pending", "CREATION", True, "INDIVIDUAL")
    assert row["email"] == "office@acme.example"


def test_a_page_is_one_bulk_operation_and_claims_every_created_contact(engine: Engine) -> None:
    person(engine, "known@example.com")
    emails = ["known@example.com", "New1@example.com", "new1@example.com ", "new2@example.com", "bea@example.com"]
    with unit_of_work(engine) as conn:
        found = find_or_create_contacts(conn, emails, START, profiles={"bea@example.com": PROFILE})
    assert {k: v.match for k, v in found.items()} == {
        "known@example.com": ContactMatch.EXISTING,
        "new1@example.com": ContactMatch.CREATED_TEMPORARY,
        "new2@example.com": ContactMatch.CREATED_TEMPORARY,
        "bea@example.com": ContactMatch.CREATED,
    }
    assert found["new1@example.com"].contact["email"] == "New1@example.com"  # as first written
    bea = found["bea@example.com"].contact
    assert (bea["first_name"], bea["is_temporary"], bea["has_internet_account"], bea["country"],
            bea["mobile_phone"], bea["allow_promo_email"]) == ("Bea", False, True, "FR", "+33 6 12 34 56 78", True)
    with unit_of_work(engine, write=False) as conn:
        claims = {k: v for k, v in conn.execute(select(contact_emails.c.email_key, contact_emails.c.contact_id))}
    assert claims == {key: found[key].contact["id"] for key in ("new1@example.com", "new2@example.com",
                                                                "bea@example.com")}
    with unit_of_work(engine) as conn:  # a second run finds them all
        again = find_or_create_contacts(conn, emails, START + timedelta(minutes=1))
    assert {v.match for v in again.values()} == {ContactMatch.EXISTING}
    assert {k: v.contact["id"] for k, v in again.items()} == {k: v.contact["id"] for k, v in found.items()}


def test_blank_email_is_refused(engine: Engine) -> None:
    with unit_of_work(engine) as conn, pytest.raises(BadInput):
        find_or_create_contacts(conn, ["  "], START)


def test_completing_a_temporary_contact_never_touches_a_normal_one(engine: Engine) -> None:
    normal = person(engine, "bea@example.com")
    with unit_of_work(engine) as conn:
        temporary = find_or_create_contacts(conn, ["tmp@example.com"], START)["tmp@example.com"].contact["id"]
        done = complete_temporary_contacts(conn, {temporary: {**PROFILE, "email": "tmp@example.com"},
                                                  normal: PROFILE}, START)
        assert done == {temporary}
        rows = {r["id"]: r for r in conn.execute(select(contacts)).mappings()}
    assert (rows[temporary]["first_name"], rows[temporary]["is_temporary"],
            rows[temporary]["has_internet_account"]) == ("Bea", False, True)
    assert rows[temporary]["email"] == "tmp@example.com"
    assert rows[normal]["first_name"] == "Ana"


def test_deleting_a_created_contact_releases_its_claim(engine: Engine) -> None:
    with unit_of_work(engine) as conn:
        cid = find_or_create_contacts(conn, ["gone@example.com"], START)["gone@example.com"].contact["id"]
        conn.execute(contacts.delete().where(contacts.c.id == cid))
        assert conn.execute(select(func.count()).select_from(contact_emails)).scalar_one() == 0
        again = find_or_create_contacts(conn, ["gone@example.com"], START)["gone@example.com"]
    assert again.match is ContactMatch.CREATED_TEMPORARY


def _race(engine: Engine, pages: list[list[str]], *, interleave: bool) -> list[dict[str, Any]]:
    """Each page in its own thread and transaction; with `interleave`, every writer has read (and found
    nothing) before any of them claims, so the claims really collide."""
    barrier = threading.Barrier(len(pages), timeout=20)
    results: list[dict[str, Any]] = [{} for _ in pages]
    errors: list[BaseException] = []
    original = contacts_service._claim

    def claim_after_everyone_read(conn: Any, claims: list[dict[str, Any]]) -> set[str]:
        if interleave:
            barrier.wait()
        return original(conn, claims)

    def work(index: int) -> None:
        try:
            with unit_of_work(engine) as conn:
                found = find_or_create_contacts(conn, pages[index], START)
                results[index] = {k: (v.contact["id"], v.match) for k, v in found.items()}
        except BaseException as exc:  # reported below
            errors.append(exc)
            barrier.abort()

    contacts_service._claim = claim_after_everyone_read  # type: ignore[assignment]
    try:
        threads = [threading.Thread(target=work, args=(i,)) for i in range(len(pages))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        contacts_service._claim = original  # type: ignore[assignment]
    assert not errors, errors
    return results


@pytest.mark.parametrize("interleave", [True, False], ids=["claims-collide", "free-run"])
def test_two_concurrent_writers_create_one_contact_per_email(engine: Engine, backend: str,
                                                              interleave: bool) -> None:
    if backend == "sqlite" and interleave:
        pytest.skip("SQLite admits one writer at a time (BEGIN IMMEDIATE): claims cannot collide")
    shared = [f"shared{i}@example.com" for i in range(40)]
    first = shared + [f"only-a{i}@example.com" for i in range(10)]
    second = [e.upper() for e in reversed(shared)] + [f"only-b{i}@example.com" for i in range(10)]
    a, b = _race(engine, [first, second], interleave=interleave)
    counts = count_by_key(engine)
    assert len(counts) == 60 and set(counts.values()) == {1}
    for key in (e.lower() for e in shared):
        assert a[key][0] == b[key][0], key  # both writers see the same contact
        # exactly one of them created it; with interleaving the other one lost its claim and re-read
        assert sorted([a[key][1], b[key][1]]) == [ContactMatch.CREATED_TEMPORARY, ContactMatch.EXISTING], key
    with unit_of_work(engine, write=False) as conn:
        assert conn.execute(select(func.count()).select_from(contact_emails)).scalar_one() == 60
