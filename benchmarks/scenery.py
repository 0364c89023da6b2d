"""What the continuous-feedback benchmarks (lag.py, scheduler.py) set up alike: tickets injected into
the wallet and known to the back office (PRINTED, owned by their sender), and per wallet organizer an
interface with the feature on and a continuous AUTOMATIC feedback schedule."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import httpx
import orjson
from sqlalchemy import Engine, insert

from tixtrace.backoffice.db.tables import contacts, events, interfaces, schedules
from tixtrace.backoffice.db.tables import tickets as bo_tickets
from tixtrace.backoffice.secret_key import encrypt_password
from tixtrace.kernel.db import unit_of_work

FEATURE = ("TIXNGO_LIFECYCLE_MODE=lifecycle\nenableTicketDistributionToCulturalContact=true\n"
           "overlaySpectatorDetailsWithLastOwner=true")
EVENT = {"id": "WC26-M01", "name": "Opening match", "startTime": "2026-06-11T19:00:00Z",
         "address": {"site": "Estadio Azteca", "city": "Mexico City", "zip": "04650", "countryCode": "MX"}}


def sender_email(s: int) -> str:
    return f"fan{s}@bench.example"


def inject(wallet: httpx.Client, tickets: Sequence[tuple[str, str, int]]) -> None:
    """Inject ``tickets`` (number, barcode, sender index) into the wallet ``wallet`` is signed in to,
    1,000 per call; ticket of sender s goes to ``sender_email(s)``."""
    for lo in range(0, len(tickets), 1000):
        body = [{"ticketId": number, "event": EVENT, "purchaseDetails": {"price": 90.0, "currency": "USD"},
                 "security": {"barcode": barcode},
                 "spectatorDetails": {"firstName": "Fan", "lastName": f"N{s}", "email": sender_email(s)}}
                for number, barcode, s in tickets[lo:lo + 1000]]
        wallet.post("/organizer/tickets", content=orjson.dumps({"tickets": body}),
                    headers={"Content-Type": "application/json"}).raise_for_status()


def seed_backoffice(backoffice: Engine, base: str, tickets: Sequence[tuple[str, str, int]], senders: int,
                    auths: Sequence[tuple[str, str]], batch_size: int) -> list[int]:
    """The event, the ``senders`` as contacts, ``tickets`` (number, barcode, sender index) PRINTED and
    injected, and per wallet organizer login (``auths``: login, API key) an interface of the wallet at
    ``base`` with a continuous AUTOMATIC feedback schedule of ``batch_size``; returns the schedule ids."""
    now = datetime.now(UTC)
    with unit_of_work(backoffice) as conn:
        event_id = conn.execute(insert(events).values(
            code=EVENT["id"], name=EVENT["name"], start_time=datetime(2026, 6, 11, 19, tzinfo=UTC),
            venue_site="Estadio Azteca", venue_city="Mexico City", venue_zip="04650", venue_country_code="MX",
            created_at=now).returning(events.c.id)).scalar_one()
        ids = conn.execute(insert(contacts).returning(contacts.c.id, sort_by_parameter_order=True), [
            {"kind": "INDIVIDUAL", "first_name": "Fan", "last_name": f"N{s}", "email": sender_email(s),
             "email_key": sender_email(s), "has_internet_account": True, "is_temporary": False, "created_at": now,
             "updated_at": now} for s in range(senders)]).scalars().all()
        conn.execute(insert(bo_tickets), [
            {"number": number, "event_id": event_id, "barcode": barcode, "status": "PRINTED",
             "cultural_contact_id": ids[s], "owner_contact_id": ids[s], "injected_at": now,
             "created_at": now, "updated_at": now} for number, barcode, s in tickets])
        schedule_ids = []
        for o, (login, key) in enumerate(auths):
            interface_id = conn.execute(insert(interfaces).values(
                name=f"tixngo {o}" if len(auths) > 1 else "tixngo", type="TIXNGO", url=f"{base}/organizer/tickets",
                login=login, password=encrypt_password(key), notification_emails=[], custom_parameters=FEATURE,
                parameters={"TIXNGO_LIFECYCLE_MODE": "lifecycle", "enableTicketDistributionToCulturalContact": True,
                            "overlaySpectatorDetailsWithLastOwner": True},
                warnings=[], created_at=now, updated_at=now).returning(interfaces.c.id)).scalar_one()
            schedule_ids.append(int(conn.execute(insert(schedules).values(
                interface_id=interface_id, function="RETRIEVE_TICKET_STATUS", launch="AUTOMATIC",
                frequency_minutes=0, batch_size=batch_size, skip_ticket_numbers=[], event_codes=[],
                created_at=now, updated_at=now).returning(schedules.c.id)).scalar_one()))
    return schedule_ids


def sign_in(wallet: httpx.Client, senders: Sequence[str], recipients: Sequence[str]) -> dict[str, str]:
    """A sandbox session token per e-mail (the wallet served with ``--sandbox``); recipients get the
    complete profile accepting a transfer needs."""
    tokens = {}
    for email in [*senders, *recipients]:
        response = wallet.post("/spectator/session", json={"email": email})
        response.raise_for_status()
        tokens[email] = response.json()["token"]
    for r, email in enumerate(recipients):
        wallet.put("/spectator/profile", json={"firstName": "Friend", "lastName": f"R{r}"},
                   headers={"Authorization": f"Bearer {tokens[email]}"}).raise_for_status()
    return tokens
