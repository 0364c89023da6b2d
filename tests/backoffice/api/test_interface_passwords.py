"""The stored interface password never follows the interface to another host, and is encrypted at rest
(issue 12, item 4; DESIGN 7 and 10)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert, select

from tests.support.backoffice import created, interface_body
from tests.support.migrations import downgrade, reflected
from tests.support.screens import post_form, sign_in
from tests.support.wallet import Wallet
from tixtrace.backoffice.db.database import SCRIPT_LOCATION, VERSION_TABLE
from tixtrace.backoffice.db.tables import interfaces
from tixtrace.backoffice.interfaces.runner import run_schedule
from tixtrace.backoffice.secret_key import SECRET_ENV
from tixtrace.backoffice.services.interfaces import interface_credentials
from tixtrace.backoffice.services.schedules import NewSchedule, create_schedule
from tixtrace.kernel.clock import SystemClock
from tixtrace.kernel.db import migrate, unit_of_work

URL = "http://wallet.example:8001/organizer/tickets"


@pytest.mark.parametrize("url", [
    "https://wallet.example:8001/organizer/tickets",  # scheme
    "http://attacker.example:8001/organizer/tickets",  # host
    "http://wallet.example:9999/organizer/tickets",  # port
    "http://wallet.example/organizer/tickets",  # port (80 instead of 8001)
])
def test_a_new_scheme_host_or_port_needs_the_password(api: TestClient, engine: Engine, url: str) -> None:
    body = interface_body(url=URL, password="the-real-api-key")
    iid = created(api, "/api/interfaces", body)["id"]
    for password in (None, ...):  # null, and left out
        update = {**body, "url": url}
        if password is None:
            update["password"] = None
        else:
            del update["password"]
        refused = api.put(f"/api/interfaces/{iid}", json=update)
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["code"] == "PASSWORD_REQUIRED"
    assert api.get(f"/api/interfaces/{iid}").json()["url"] == URL  # nothing written
    moved = api.put(f"/api/interfaces/{iid}", json={**body, "url": url, "password": "key-for-the-new-host"})
    assert moved.status_code == 200 and moved.json()["url"] == url
    with unit_of_work(engine, write=False) as conn:
        assert interface_credentials(conn, iid).password == "key-for-the-new-host"


def test_a_new_path_or_the_same_origin_spelled_differently_keeps_the_password(api: TestClient,
                                                                            engine: Engine) -> None:
    body = interface_body(url=URL, password="the-real-api-key")
    iid = created(api, "/api/interfaces", body)["id"]
    for url in ("http://wallet.example:8001/v2/organizer/tickets", "HTTP://Wallet.Example:8001/organizer/tickets"):
        assert api.put(f"/api/interfaces/{iid}", json={**body, "url": url, "password": None}).status_code == 200
    with unit_of_work(engine, write=False) as conn:
        assert interface_credentials(conn, iid).password == "the-real-api-key"


def test_the_edit_screen_also_needs_the_password_for_a_new_host(api: TestClient) -> None:

    body = interface_body(url=URL)
    iid = created(api, "/api/interfaces", body)["id"]
    with TestClient(api.app) as browser:
        assert sign_in(browser).status_code == 303
        form = {"name": body["name"], "type": "TIXNGO", "url": "http://attacker.example/organizer/tickets",
                "login": body["login"], "password": "", "notification_emails": "", "custom_parameters": ""}
        refused = post_form(browser, f"/interfaces/{iid}", f"/interfaces/{iid}", form)
        assert refused.status_code == 422 and "needs its password" in refused.text
    assert api.get(f"/api/interfaces/{iid}").json()["url"] == URL


def test_the_stored_password_is_encrypted_not_plaintext(api: TestClient, engine: Engine) -> None:
    iid = created(api, "/api/interfaces", interface_body(password="Plain-Text-Key-123"))["id"]
    with unit_of_work(engine, write=False) as conn:
        stored = conn.scalar(select(interfaces.c.password).where(interfaces.c.id == iid))
        assert stored.startswith("fernet:") and "Plain-Text-Key-123" not in stored
        assert interface_credentials(conn, iid).password == "Plain-Text-Key-123"


def test_another_secret_key_cannot_read_it(api: TestClient, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    iid = created(api, "/api/interfaces", interface_body())["id"]
    monkeypatch.setenv(SECRET_ENV, "another-secret-key-of-at-least-32-bytes")
    with unit_of_work(engine, write=False) as conn, pytest.raises(Exception) as refused:
        interface_credentials(conn, iid)
    assert getattr(refused.value, "code", None) == "PASSWORD_UNREADABLE"


def test_an_interface_saved_before_the_migration_still_runs_after_it(
        engine: Engine, wallet: Wallet) -> None:  # noqa: F811
    """At 0007 the password was stored as typed; 0008 encrypts it and the feedback still signs in."""
    downgrade(engine, SCRIPT_LOCATION, VERSION_TABLE, "0007")
    now = datetime.now(UTC)
    with unit_of_work(engine) as conn:
        (old,) = reflected(conn, "interfaces")
        iid = conn.execute(insert(old).values(
            name="saved before", type="TIXNGO", url="http://testserver/organizer/tickets", login=wallet.auth[0],
            password=wallet.auth[1], notification_emails=[], custom_parameters="", parameters={}, warnings=[],
            created_at=now, updated_at=now).returning(old.c.id)).scalar_one()
    migrate(engine, SCRIPT_LOCATION, VERSION_TABLE)
    with unit_of_work(engine) as conn:
        stored = conn.scalar(select(interfaces.c.password).where(interfaces.c.id == iid))
        assert stored.startswith("fernet:") and wallet.auth[1] not in stored
        schedule = create_schedule(conn, iid, NewSchedule("RETRIEVE_TICKET_STATUS", "MANUAL"), now, actor="test").id
    execution = run_schedule(engine, schedule, clock=SystemClock(), transport=wallet.client._transport)
    assert execution.status == "OK", execution
