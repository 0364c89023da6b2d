"""W10 and invariant 8: no organizer ever reads profile data that W10 does not give it.

Two organizers on one wallet (HTTP, sandbox). An organizer may see, in its feed, its ticket details and
any other answer, only (a) the spectatorDetails it injected itself and (b) the profile a spectator
shared with it by opening (listing) one of its tickets while holding it; anybody else is an e-mail
only. One organizer's injection never changes what another organizer, or the spectator's own profile,
shows. The three leaks of issue 12 each have a test; the property drives random two-organizer
histories and checks every profile in every answer against what W10 allows.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, select

from tests.support.migrations import downgrade, reflected
from tests.support.wallet import START, Wallet, run, ticket_payload
from tixtrace.kernel.clock import TestClock
from tixtrace.kernel.db import make_engine, migrate, unit_of_work
from tixtrace.wallet.app import create_wallet_app
from tixtrace.wallet.db.database import SCRIPT_LOCATION, VERSION_TABLE, open_wallet_database
from tixtrace.wallet.db.tables import accounts as accounts_table
from tixtrace.wallet.db.tables import organizer_profiles
from tixtrace.wallet.services.organizers import create_organizer

#: the profile fields besides the e-mail, as on the wire
FIELDS = ("title", "firstName", "lastName", "dateOfBirth", "nationality", "idCardNumber", "phoneNumber",
          "residenceCountry", "language", "organizerSpectatorPreference")
_serial = itertools.count(1)


@dataclass
class Two:
    a: Wallet
    b: Wallet
    engine: Any
    clock: TestClock

    def organizer(self) -> Wallet:
        """One more organizer on the same wallet (the property uses fresh ones per example)."""
        organizer, api_key = run(self.engine, create_organizer, self.clock, f"org{next(_serial)}@privacy.example")
        wallet = Wallet(self.a.client, self.clock, (organizer.email, api_key))
        wallet._tokens = self.a._tokens  # one app per spectator, whichever organizer they deal with
        return wallet


@pytest.fixture
def two(wallet_url: str) -> Iterator[Two]:
    engine = open_wallet_database(wallet_url)
    clock = TestClock(START)
    made = [run(engine, create_organizer, clock, email) for email in ("a@org.example", "b@org.example")]
    with TestClient(create_wallet_app(engine, clock=clock, sandbox=True)) as client:
        a, b = (Wallet(client, clock, (organizer.email, key)) for organizer, key in made)
        b._tokens = a._tokens
        yield Two(a, b, engine, clock)
    engine.dispose()


def details(email: str, first: str, last: str, **extra: Any) -> dict[str, Any]:
    return {"firstName": first, "lastName": last, "email": email, **extra}


def inject(organizer: Wallet, ticket_id: str, spectator: dict[str, Any]) -> None:
    payload = ticket_payload(ticket_id, spectator["email"])
    payload["spectatorDetails"] = spectator
    assert organizer.inject(payload)[0]["result"] == "INJECTED"


def list_tickets(wallet: Wallet, email: str) -> Any:
    response = wallet.as_spectator(email, "GET", "/spectator/tickets")
    assert response.status_code == 200, response.text
    return response.json()["items"]


def people_in(answer: Any) -> Iterator[dict[str, Any]]:
    """Every profile object in an organizer's answer (walletOwner, sender, recipient, anywhere)."""
    if isinstance(answer, dict):
        if "email" in answer and "lastName" in answer:
            yield answer
        for value in answer.values():
            yield from people_in(value)
    elif isinstance(answer, list):
        for value in answer:
            yield from people_in(value)


def answers(organizer: Wallet) -> list[Any]:
    """All an organizer can read about people: its whole feed and the detail of each of its tickets."""
    records = organizer.all_records()
    return [records, *(organizer.detail(ticket_id) for ticket_id in sorted({r["ticketId"] for r in records}))]


def values_seen(organizer: Wallet, email: str) -> set[Any]:
    return {person[key] for answer in answers(organizer) for person in people_in(answer)
            if person["email"] == email for key in FIELDS if person[key] is not None}


# -- the three leaks of issue 12 --------------------------------------------------------------------


def test_an_organizers_transfer_to_another_organizers_customer_gives_it_nothing_until_opened(two: Two) -> None:
    """B moved its own ticket to A's customer and read her date of birth, ID card, phone and nationality."""
    ana = "ana@example.com"
    private = dict(dateOfBirth="1990-04-01", idCardNumber="ID-ANA-77", phoneNumber="+33 6 00 00 00 01",
                   nationality="BR")
    inject(two.a, "A1", details(ana, "Ana", "Lima", **private))
    two.a.profile(ana, "Ana", "Lima", **private)  # her own profile, too
    list_tickets(two.a, ana)  # she opens A's ticket: A may see it (W10 b)
    inject(two.b, "B1", details("yan@example.com", "Yan", "Roe"))

    response = two.b.client.post("/organizer/tickets/B1/transfer", auth=two.b.auth,
                                 json={"recipientEmail": ana, "reason": "re-seated"})
    assert response.status_code == 200, response.text

    detail = two.b.detail("B1")
    assert detail["walletOwner"]["email"] == ana
    assert {key: detail["walletOwner"][key] for key in FIELDS} == dict.fromkeys(FIELDS)
    assert values_seen(two.b, ana) == set()  # feed and details: an e-mail only
    assert {"1990-04-01", "ID-ANA-77", "BR"} <= values_seen(two.a, ana)  # A was given it

    list_tickets(two.b, ana)  # now she opens B's ticket: shared with B (W10 b), on a DOWNLOADED record
    records = two.b.all_records()
    assert [r["status"] for r in records if r["ticketId"] == "B1"] == ["INJECTED", "TRANSFERRED", "DOWNLOADED"]
    assert records[-1]["walletOwner"]["idCardNumber"] == "ID-ANA-77"
    assert two.b.detail("B1")["walletOwner"]["idCardNumber"] == "ID-ANA-77"


def test_a_pending_transfer_carries_the_recipients_email_only_until_the_ticket_is_opened(two: Two) -> None:
    ana, bob = "ana@example.com", "bob@example.com"
    inject(two.a, "A1", details(ana, "Ana", "Lima"))
    two.a.profile(bob, "Bob", "Ross", dateOfBirth="1985-02-03", idCardNumber="ID-BOB-1", phoneNumber="+1 555 0101")
    response = two.a.transfer(ana, "A1", bob)
    assert response.status_code == 201, response.text
    pending = two.a.all_records()[-1]
    assert pending["status"] == "PENDING_TRANSFER"
    assert pending["transfer"]["recipient"] == {"email": bob, **dict.fromkeys(FIELDS)}
    assert values_seen(two.a, bob) == set()

    assert two.a.act(bob, response.json()["transferId"], "accept").status_code == 200
    moved = two.a.all_records()[-1]
    assert moved["status"] == "TRANSFERRED"
    assert moved["transfer"]["recipient"]["lastName"] is None and moved["walletOwner"]["lastName"] is None
    assert values_seen(two.a, bob) == set()  # accepted, not yet opened: still an e-mail only

    list_tickets(two.a, bob)
    opened = two.a.all_records()[-1]
    assert opened["status"] == "DOWNLOADED" and opened["walletOwner"]["idCardNumber"] == "ID-BOB-1"
    assert values_seen(two.b, bob) == set()


def test_one_organizers_injection_never_shows_in_anothers_answers_nor_changes_the_spectators_profile(
        two: Two) -> None:
    """B injected "Forged / FAKE-ID" for an e-mail first and A's feed showed it."""
    xav, zoe = "xav@example.com", "zoe@example.com"
    inject(two.b, "B1", details(xav, "Forged", "FAKE", idCardNumber="FAKE-ID"))  # creates the account
    inject(two.a, "A1", details(xav, "Xavier", "Real", idCardNumber="ID-X"))
    assert values_seen(two.a, xav) == {"Xavier", "Real", "ID-X"}

    # the account was pre-filled for its owner's app from B's details, and A's injection changed nothing
    own = two.a.as_spectator(xav, "GET", "/spectator/profile").json()
    assert (own["firstName"], own["idCardNumber"]) == ("Forged", "FAKE-ID")
    list_tickets(two.a, xav)  # he opens both tickets without saving his profile: B's words reach nobody else
    assert values_seen(two.a, xav) == {"Xavier", "Real", "ID-X"}

    two.a.profile(xav, "Xavier", "Own", idCardNumber="ID-OWN")  # his own words, shared when he opens A's ticket
    list_tickets(two.a, xav)
    response = two.a.as_spectator(xav, "POST", "/spectator/tickets/A1/holder",
                                  json={"firstName": "Kid", "lastName": "X"})
    assert response.status_code == 200, response.text
    assert two.a.detail("A1")["walletOwner"]["lastName"] == "Own"
    assert "FAKE-ID" not in values_seen(two.a, xav) and "Forged" not in values_seen(two.a, xav)

    # an account that exists keeps its own (empty) profile whatever an organizer injects
    two.a.token(zoe)
    inject(two.b, "B2", details(zoe, "Zoe", "Forged", idCardNumber="FAKE-2"))
    own = two.a.as_spectator(zoe, "GET", "/spectator/profile").json()
    assert {key: own[key] for key in FIELDS} == dict.fromkeys(FIELDS)
    assert values_seen(two.a, zoe) == set()


# -- invariant 8 over random histories ----------------------------------------------------------------

PEOPLE = 4
step = st.one_of(
    st.tuples(st.just("inject"), st.integers(0, 1), st.integers(0, PEOPLE - 1), st.integers(0, 2)),
    st.tuples(st.just("profile"), st.integers(0, PEOPLE - 1), st.integers(0, 2)),
    st.tuples(st.just("list"), st.integers(0, PEOPLE - 1)),
    st.tuples(st.just("transfer"), st.integers(0, 7), st.integers(0, PEOPLE - 1)),
    st.tuples(st.sampled_from(["accept", "reject", "cancel"]), st.integers(0, 7)),
    st.tuples(st.just("organizer_transfer"), st.integers(0, 7), st.integers(0, PEOPLE - 1)),
    st.tuples(st.sampled_from(["control", "delete"]), st.integers(0, 7)),
)

#: what an organizer is never given of another organizer's injections, whatever the history: the first
#: names and ID card numbers the property injects carry the injecting organizer's number
_INJECTED_BY = {org: re.compile(rf"\bo{org}p\d+v\d+\b|ID-o{org}-") for org in (0, 1)}


def _wire(profile: dict[str, Any]) -> tuple[Any, ...]:
    """A profile as a comparable value: its fields but the e-mail, the preference object as pairs."""
    return tuple(tuple(sorted(value.items())) if isinstance(value, dict) else value
                 for value in (profile.get(key) for key in FIELDS))


@dataclass
class Ticket:
    organizer: int
    ticket_id: str
    owner: str
    pending: tuple[str, str, str] | None = None  # (transfer id, sender, recipient)


@dataclass
class Model:
    """What W10 allows each organizer to see of each person, built from the history alone."""

    emails: list[str]
    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)  # e-mail → own profile
    saved: set[str] = field(default_factory=set)  # spectators who saved their profile themselves
    tickets: list[Ticket] = field(default_factory=list)
    allowed: dict[tuple[int, str], set[tuple[Any, ...]]] = field(default_factory=dict)

    def account(self, email: str, prefill: dict[str, Any] | None = None) -> None:
        if email not in self.accounts:
            self.accounts[email] = {key: (prefill or {}).get(key) for key in FIELDS}

    def allow(self, organizer: int, email: str, profile: dict[str, Any]) -> None:
        self.allowed.setdefault((organizer, email), set()).add(_wire(profile))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(history=st.lists(step, min_size=1, max_size=25))
def test_no_organizer_ever_reads_a_profile_w10_does_not_give_it(two: Two, history: list[tuple[Any, ...]]) -> None:
    run_id = next(_serial)
    organizers = [two.organizer(), two.organizer()]
    heard: list[list[Any]] = [[], []]  # every other answer each organizer got (injection, transfer, control, ...)
    model = Model([f"p{i}-{run_id}@privacy.example" for i in range(PEOPLE)])
    w = two.a

    def spectator(email: str) -> None:
        model.account(email)  # signing in makes the account

    for action, *args in history:
        if action == "inject":
            org, person, variant = args
            email = model.emails[person]
            spectator_details = details(email, f"o{org}p{person}v{variant}", f"Inj{variant}",
                                        idCardNumber=f"ID-o{org}-p{person}-v{variant}", nationality="FR")
            ticket_id = f"T{len(model.tickets)}"
            payload = ticket_payload(ticket_id, email) | {"spectatorDetails": spectator_details}
            results = organizers[org].inject(payload)
            assert results[0]["result"] == "INJECTED", results
            heard[org].append(results)
            model.account(email, spectator_details)
            model.allow(org, email, spectator_details)
            model.tickets.append(Ticket(org, ticket_id, email))
        elif action == "profile":
            person, variant = args
            email = model.emails[person]
            spectator(email)
            own = dict(title="Dr", dateOfBirth=f"19{70 + variant}-01-02", idCardNumber=f"OWN-p{person}-v{variant}",
                       phoneNumber=f"+1 555 {person}{variant}", residenceCountry="BR", language="pt",
                       organizerSpectatorPreference={"allowPromoEmail": True, "allowThirdPartyEmail": False})
            w.profile(email, f"own{person}v{variant}", "Own", **own)
            model.accounts[email] = model.accounts[email] | {"firstName": f"own{person}v{variant}", "lastName": "Own",
                                                             **own}  # the fields given replace theirs
            model.saved.add(email)
        elif action == "list":
            email = model.emails[args[0]]
            spectator(email)
            list_tickets(w, email)
            if email in model.saved:
                for ticket in model.tickets:
                    if ticket.owner == email:
                        model.allow(ticket.organizer, email, model.accounts[email])
        elif action in ("transfer", "organizer_transfer") and model.tickets:
            ticket = model.tickets[args[0] % len(model.tickets)]
            recipient = model.emails[args[1]]
            if action == "transfer":
                spectator(ticket.owner)
                response = w.transfer(ticket.owner, ticket.ticket_id, recipient)
            else:
                organizer = organizers[ticket.organizer]
                response = w.client.post(f"/organizer/tickets/{ticket.ticket_id}/transfer", auth=organizer.auth,
                                         json={"recipientEmail": recipient, "reason": "moved"})
                heard[ticket.organizer].append(response.json())
            if response.status_code in (200, 201):
                model.account(recipient)
                if response.json()["status"] == "PENDING":
                    ticket.pending = (response.json()["transferId"], ticket.owner, recipient)
                else:
                    ticket.owner = recipient
            else:
                assert response.status_code == 409, response.text
        elif action in ("control", "delete") and model.tickets:
            ticket = model.tickets[args[0] % len(model.tickets)]
            organizer = organizers[ticket.organizer]
            response = w.client.post(f"/organizer/tickets/{action}", auth=organizer.auth,
                                     json={"tickets": [{"ticketId": ticket.ticket_id} | (
                                         {"showDeletedTicket": True} if action == "delete" else {})]})
            assert response.status_code == 200, response.text
            heard[ticket.organizer].append(response.json())
            ticket.pending = None  # a pending transfer is failed first (W8); the ticket moves no more
        elif action in ("accept", "reject", "cancel") and model.tickets:
            ticket = model.tickets[args[0] % len(model.tickets)]
            if ticket.pending is None:
                continue
            transfer_id, sender, recipient = ticket.pending
            actor = sender if action == "cancel" else recipient
            spectator(actor)
            response = w.act(actor, transfer_id, action)
            if response.status_code == 200:
                ticket.pending = None
                if action == "accept":
                    ticket.owner = recipient
            else:
                assert response.json()["error"]["code"] == "PROFILE_INCOMPLETE", response.text

    empty = _wire({})
    for org, organizer in enumerate(organizers):
        said = [*answers(organizer), *heard[org]]
        text = json.dumps(said, ensure_ascii=False)
        leaked = _INJECTED_BY[1 - org].search(text)
        assert leaked is None, f"organizer {org} reads {leaked.group()}, injected by the other organizer"
        for answer in said:
            for person in people_in(answer):
                seen = _wire(person)
                assert seen == empty or seen in model.allowed.get((org, person["email"]), set()), (
                    f"organizer {org} sees {person} for {person['email']}; W10 gives it only "
                    f"{model.allowed.get((org, person['email']))}")
    for email, own in model.accounts.items():  # the spectator's own profile changes only by the spectator
        shown = w.as_spectator(email, "GET", "/spectator/profile").json()
        assert _wire(shown) == _wire(own), email


# -- migration 0009 on existing data --------------------------------------------------------------------


def test_the_upgrade_gives_each_organizer_only_what_w10_allows_of_existing_accounts(wallet_url: str) -> None:
    """Before 0009 nothing says who pre-filled a profile: the original spectator's profile counts as
    pre-filled by the organizer of their first ticket (privacy first, docs/decisions.md)."""
    engine = make_engine(wallet_url)
    try:
        downgrade(engine, SCRIPT_LOCATION, VERSION_TABLE, "0005")
        with unit_of_work(engine) as conn:
            organizers, accounts, tickets = reflected(conn, "organizers", "accounts", "tickets")
            org_a, org_b = (conn.execute(insert(organizers).values(
                email=email, api_key_hash="h", transfer_timeout_seconds=3600, acceptance_required=True,
                created_at=START).returning(organizers.c.id)).scalar_one() for email in ("a@o.example", "b@o.example"))
            ana, bob, cid = (conn.execute(insert(accounts).values(
                email=email, first_name=first, last_name="X", id_card_number=f"ID-{first}", created_at=START)
                .returning(accounts.c.id)).scalar_one() for email, first in (
                ("ana@x.example", "Ana"), ("bob@x.example", "Bob"), ("cid@x.example", "Cid")))

            def ticket(organizer: int, ticket_id: str, owner: int, original: int, downloaded: bool) -> None:
                conn.execute(insert(tickets).values(
                    organizer_id=organizer, ticket_id=ticket_id, event={}, purchase={}, barcode=ticket_id,
                    status="DOWNLOADED", owner_id=owner, original_owner_id=original, previous_owner_ids=[],
                    downloaded=downloaded, transfers_done=0, show_deleted=True, created_at=START, updated_at=START))

            ticket(org_a, "A1", ana, ana, True)  # Ana: A's customer, opened it
            ticket(org_b, "B1", ana, bob, True)  # Bob: B's customer; Ana received B1 and opened it
            ticket(org_b, "B2", cid, cid, False)  # Cid: B's customer, never opened
        migrate(engine, SCRIPT_LOCATION, VERSION_TABLE)
        with unit_of_work(engine, write=False) as conn:
            prefilled = dict(conn.execute(select(accounts_table.c.id, accounts_table.c.prefilled_by)).all())
            views = {(row.organizer_id, row.account_id): (row.source, row.profile["idCardNumber"])
                     for row in conn.execute(select(organizer_profiles))}
        assert prefilled == {ana: org_a, bob: org_b, cid: org_b}
        assert views == {(org_a, ana): ("SHARED", "ID-Ana"), (org_b, bob): ("INJECTED", "ID-Bob"),
                         (org_b, cid): ("INJECTED", "ID-Cid")}  # Ana's profile, pre-filled by A, not given to B
    finally:
        engine.dispose()
