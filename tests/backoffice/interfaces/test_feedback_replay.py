"""F11, invariant 7: replaying records already applied changes nothing (issue 16 item 4).

A feedback schedule's feed is reset (pagination key and last applied recordId cleared, as the
``reset-feed`` operation does, O1) and the whole status log is read again: every contact, e-mail
claim, ticket and distribution line is left exactly as it was, row for row, whatever the batch
size, and a contact erased for data protection stays erased (the replayed profiles of its e-mail
are not written back, and do not complete a stranger who later took the same e-mail).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.support.feedback import (
    ANA,
    BOB,
    accept,
    act,
    functions,
    new_ticket,
    rows,
    run_ok,
    send,
)
from tests.support.system import System
from tixtrace.backoffice.db.tables import contact_emails, contacts, distribution_lines, tickets
from tixtrace.backoffice.services.erasure import erase_contact
from tixtrace.backoffice.services.feed_state import FeedState, save_feed_state
from tixtrace.kernel.db import unit_of_work

CARL = "carl@example.com"
DAN = "dan@example.com"


def state(system: System) -> dict[str, list[dict[str, Any]]]:
    """Every row the feedback may write, whole (ids, times and all)."""
    return {table.name: rows(system.engine, table) for table in (contacts, contact_emails, tickets, distribution_lines)}


def reset_feed(system: System, feedback: int) -> None:
    with unit_of_work(system.engine) as conn:
        save_feed_state(conn, feedback, FeedState(None, 0))


def history(system: System, batch_size: int) -> tuple[int, dict[str, Any]]:
    """A chain with a return, a cancelled transfer, a rejected one and one left pending."""
    ana = system.contact(ANA)
    first, second, third = (new_ticket(system, ana) for _ in range(3))
    injection, feedback = functions(system, batch_size=batch_size)
    run_ok(system, injection)
    accept(system, BOB, send(system, ANA, first, BOB), "Bob", "Ross")
    system.wallet.open_tickets(BOB)  # W10: his profile first comes on the DOWNLOADED record of this opening
    accept(system, CARL, send(system, BOB, first, CARL), "Carl", "Known")
    act(system, ANA, send(system, ANA, second, DAN), "cancel")
    act(system, CARL, send(system, CARL, first, DAN), "cancel")
    accept(system, ANA, send(system, CARL, first, ANA), "Ana", "Lima")  # back to Ana
    send(system, ANA, third, DAN)  # left pending: Dan's temporary contact
    return feedback, {"first": first, "second": second, "third": third}


@pytest.mark.parametrize("batch_size", [1, 2, 1000])
def test_reading_the_whole_status_log_again_changes_nothing(system: System, batch_size: int) -> None:
    feedback, _ = history(system, batch_size)
    run_ok(system, feedback)
    before = state(system)

    reset_feed(system, feedback)
    again = run_ok(system, feedback)

    assert state(system) == before
    assert again["records_read"] > 0  # the log was read again ...
    assert again["contacts_created"] == again["lines_created"] == again["lines_updated"] == 0  # ... to no effect
    assert again["tickets_updated"] == again["contacts_completed"] == again["contacts_removed"] == 0


@pytest.mark.parametrize("batch_size", [1, 1000])
def test_a_contact_erased_for_data_protection_stays_erased_after_a_replay(system: System, batch_size: int) -> None:
    """Bob accepted a ticket and was erased; later a stranger with Bob's old e-mail is sent a ticket
    (pending: a new temporary contact). Replaying the log writes Bob's profile back nowhere: not on
    the ticket he held, not on the stranger's temporary contact, and no contact is created for him."""
    feedback, sent = history(system, batch_size)
    run_ok(system, feedback)
    [bob] = [row for row in system.contacts_of(BOB)]
    assert bob["is_temporary"] is False and bob["first_name"] == "Bob"
    # the ticket Bob held is back with Ana: erase him (no pending transfer involves him)
    with unit_of_work(system.engine) as conn:
        erase_contact(conn, bob["id"], datetime.now(UTC))
    fourth = new_ticket(system, system.contact("eve@example.com", "Eve", "Moreau"))
    injection = next(row["id"] for row in rows(system.engine, __import__(
        "tixtrace.backoffice.db.tables", fromlist=["schedules"]).schedules) if row["function"] == "TICKETS_INJECTION")
    run_ok(system, injection)
    send(system, "eve@example.com", fourth, BOB)  # a stranger now: pending, a new temporary contact
    run_ok(system, feedback)
    before = state(system)
    [stranger] = system.contacts_of(BOB)
    assert stranger["is_temporary"] is True and stranger["id"] != bob["id"]

    reset_feed(system, feedback)
    run_ok(system, feedback)

    assert state(system) == before
    erased = next(row for row in rows(system.engine, contacts) if row["id"] == bob["id"])
    assert erased["erased_at"] is not None and erased["email"] is None and erased["first_name"] == "Erased"
    assert all((row["wallet_owner"] or {}).get("firstName") != "Bob" for row in rows(system.engine, tickets))
    assert system.contacts_of(BOB) == [stranger]


@pytest.mark.parametrize("batch_size", [1, 1000])
def test_an_erased_contact_stays_erased_whatever_record_carries_the_profile(system: System, batch_size: int) -> None:
    """W10: Bob accepted Ana's ticket without opening it, so the organizer had his e-mail only and his
    contact is still the temporary one when he is erased. He then opens the ticket, and that DOWNLOADED
    record is the first to carry his profile. Neither that record nor a replay of the whole log completes
    the erased contact, creates a contact for him or marks the line COMPLETED."""
    first = new_ticket(system, system.contact(ANA))
    injection, feedback = functions(system, batch_size=batch_size)
    run_ok(system, injection)
    accept(system, BOB, send(system, ANA, first, BOB), "Bob", "Ross")
    run_ok(system, feedback)
    [bob] = system.contacts_of(BOB)
    assert bob["is_temporary"] is True and bob["last_name"] == "CREATION"
    with unit_of_work(system.engine) as conn:
        erase_contact(conn, bob["id"], datetime.now(UTC))

    system.wallet.open_tickets(BOB)
    downloaded = system.wallet.all_records()[-1]
    assert (downloaded["status"], downloaded["walletOwner"]["lastName"]) == ("DOWNLOADED", "Ross")
    run_ok(system, feedback)
    after = state(system)
    reset_feed(system, feedback)
    run_ok(system, feedback)

    assert state(system) == after
    erased = next(row for row in rows(system.engine, contacts) if row["id"] == bob["id"])
    assert (erased["first_name"], erased["last_name"], erased["email"], erased["is_temporary"]) == (
        "Erased", f"CONTACT #{bob['id']}", None, False)
    assert system.contacts_of(BOB) == []
    assert all(row["first_name"] != "Bob" and row["last_name"] != "Ross" for row in rows(system.engine, contacts))
    [line] = system.lines(first["number"])
    assert (line["status"], line["contact_match"], line["new_contact_id"]) == (
        "CONFIRMED", "CREATED_TEMPORARY", bob["id"])
