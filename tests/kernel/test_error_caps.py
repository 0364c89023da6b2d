"""Error envelopes stay small whatever the bad input (DESIGN section 10, issue 12 item 2): at most 100
entries in a list, the number left out counted, every echoed text cut at 200 characters, in both
services' validation errors and in every error raised with details."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from tests.kernel.test_limits import _app
from tixtrace.kernel.clock import TestClock
from tixtrace.kernel.db import unit_of_work
from tixtrace.kernel.web import MAX_ECHOED_CHARS, MAX_LISTED_ERRORS, bounded_details, cut
from tixtrace.wallet.db.database import open_wallet_database
from tixtrace.wallet.services.organizers import create_organizer


def test_bounded_details_caps_lists_counts_the_rest_and_cuts_texts() -> None:
    details = {"errors": [{"line": i, "value": "v" * 5000, "message": "bad"} for i in range(350)],
               "key": "k" * 1000, "nested": {"deep": ["x" * 300]}}
    bounded = bounded_details(details)
    assert len(bounded["errors"]) == MAX_LISTED_ERRORS and bounded["errorsOmitted"] == 250
    assert bounded["errors"][0]["line"] == 0 and len(bounded["errors"][0]["value"]) == MAX_ECHOED_CHARS
    assert len(bounded["key"]) == MAX_ECHOED_CHARS and bounded["key"].endswith("\u2026")
    assert len(bounded["nested"]["deep"][0]) == MAX_ECHOED_CHARS
    assert bounded_details({"errors": [1, 2]}) == {"errors": [1, 2]}  # small ones unchanged, no count
    assert cut("short") == "short"


def test_both_services_cap_validation_errors_at_100_and_cut_values_at_200(tmp_path: Path) -> None:
    """150 bad items (wallet: ticket ids that are lists of a 1,000-character text; back office: 150
    event codes that are lists of such a text): 422 with exactly 100 errors, ``errorsOmitted`` the rest, no
    text over 200 characters (before: every error, every value whole)."""
    long_key = "k" * 1000
    for service in ("wallet", "backoffice"):
        app = _app(service, tmp_path / service)
        with TestClient(app) as client:
            if service == "wallet":
                path, body = "/organizer/tickets/control", {"tickets": [{"ticketId": [long_key]}] * 150}
                auth = _wallet_auth(tmp_path / service)
            else:
                path, body = "/api/interfaces/1/schedules", {"function": "RETRIEVE_TICKET_STATUS", "launch": "MANUAL",
                                                             "eventCodes": [[long_key]] * 150}
                auth = ("admin", "a long enough password")
            answer = client.post(path, json=body, auth=auth)
            assert answer.status_code == 422, answer.text[:500]
            error = answer.json()["error"]
            errors = error["details"]["errors"]
            assert len(errors) == MAX_LISTED_ERRORS, (service, len(errors))
            assert error["details"]["errorsOmitted"] >= 50
            texts = [value for entry in errors for value in entry.values() if isinstance(value, str)]
            assert max(len(text) for text in texts) <= MAX_ECHOED_CHARS
            assert len(error["message"]) <= 2 * MAX_ECHOED_CHARS


def _wallet_auth(directory: Path) -> tuple[str, str]:

    engine = open_wallet_database(f"sqlite:///{directory}/wallet.db")
    with unit_of_work(engine) as conn:
        organizer, key = create_organizer(conn, TestClock(), "caps@wc26.example")
    engine.dispose()
    return organizer.email, key
