"""The schedule page (O1): every field in one form, errors named by their label, pause and resume,
reset feed and delete behind a confirmation; the audit log screen and the entries on the interface,
schedule, ticket and user pages (O2)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update

from tests.support.backoffice import USER
from tests.support.screens import FEATURE, World, post_form
from tixtrace.backoffice.db.tables import schedules, users
from tixtrace.backoffice.interfaces.locks import run_locks
from tixtrace.kernel.db import unit_of_work


def _form(**overrides: str) -> dict[str, str]:
    values = {"launch": "AUTOMATIC", "frequency_minutes": "10", "starts_at": "2026-06-10T08:00",
              "ends_at": "2026-06-20T22:30", "batch_size": "200", "skip_ticket_numbers": "T-1, T-2",
              "event_codes": "", "active": "on"}
    values.update(overrides)
    return values


def _row(engine: Engine, schedule_id: int) -> dict[str, object]:
    with unit_of_work(engine, write=False) as conn:
        return dict(conn.execute(select(schedules).where(schedules.c.id == schedule_id)).mappings().one())


def test_the_schedule_page_has_every_field(browser: TestClient, world: World) -> None:
    html = browser.get(f"/schedules/{world.feedback}").text
    for element in ('name="launch"', 'name="frequency_minutes"', 'name="starts_at"', 'name="ends_at"',
                    'name="batch_size"', 'name="skip_ticket_numbers"', 'name="event_codes"', 'name="active"',
                    'id="reset-feed"', 'id="delete-schedule"', 'id="pause-schedule"', 'id="audit-entries"'):
        assert element in html, element
    assert 'id="reset-feed"' not in browser.get(f"/schedules/{world.push}").text  # no feed to reset
    assert f'href="/schedules/{world.feedback}"' in browser.get(f"/interfaces/{world.interface}").text


def test_editing_saves_every_field_and_shows_who_did_it(browser: TestClient, world: World, engine: Engine) -> None:
    response = post_form(browser, f"/schedules/{world.feedback}", f"/schedules/{world.feedback}",
                         _form(active=""))
    assert response.status_code == 303, response.text
    row = _row(engine, world.feedback)
    assert (row["launch"], row["frequency_minutes"], row["batch_size"], row["active"]) == ("AUTOMATIC", 10, 200, False)
    assert row["skip_ticket_numbers"] == ["T-1", "T-2"]
    assert str(row["starts_at"])[:16] == "2026-06-10 08:00" and str(row["ends_at"])[:16] == "2026-06-20 22:30"
    html = browser.get(f"/schedules/{world.feedback}").text
    assert 'value="2026-06-10T08:00"' in html and 'id="schedule-state">paused' in html
    assert f'data-action="UPDATE" data-actor="{USER}"' in html and 'data-field="frequencyMinutes"' in html


def test_refused_values_are_shown_under_their_field_with_its_label(browser: TestClient, world: World,
                                                                   engine: Engine) -> None:
    before = _row(engine, world.feedback)
    response = post_form(browser, f"/schedules/{world.feedback}", f"/schedules/{world.feedback}",
                         _form(frequency_minutes="99999", ends_at="2026-06-01T00:00", batch_size="lots"))
    assert response.status_code == 422
    assert 'id="error-frequencyMinutes">Frequency (minutes):' in response.text
    assert 'id="error-batchSize">Batch size:' in response.text
    assert 'value="99999"' in response.text  # what was typed stays in the form
    response = post_form(browser, f"/schedules/{world.feedback}", f"/schedules/{world.feedback}",
                         _form(ends_at="2026-06-01T00:00", event_codes="WC26-M01"))
    assert response.status_code == 422
    assert 'id="error-endsAt">Ends at (UTC):' in response.text
    assert 'id="error-eventCodes">Event codes:' in response.text
    assert _row(engine, world.feedback) == before


def test_pause_and_resume_buttons(browser: TestClient, world: World, engine: Engine) -> None:
    page = f"/schedules/{world.push}"
    assert post_form(browser, page, f"{page}/pause", {}).status_code == 303
    assert _row(engine, world.push)["active"] is False
    assert 'id="resume-schedule"' in browser.get(page).text
    assert post_form(browser, page, f"{page}/resume", {}).status_code == 303
    assert _row(engine, world.push)["active"] is True
    assert 'data-action="RESUME"' in browser.get(page).text


def test_reset_feed_asks_first(browser: TestClient, world: World, engine: Engine) -> None:
    with unit_of_work(engine) as conn:
        conn.execute(update(schedules).where(schedules.c.id == world.feedback).values(pagination_key="k-7"))
    page = f"/schedules/{world.feedback}"
    asked = post_form(browser, page, f"{page}/reset-feed", {})
    assert asked.status_code == 200 and 'id="confirm-reset-feed"' in asked.text and 'name="confirm"' in asked.text
    assert _row(engine, world.feedback)["pagination_key"] == "k-7"
    done = post_form(browser, page, f"{page}/reset-feed", {"confirm": "yes"})
    assert done.status_code == 303 and _row(engine, world.feedback)["pagination_key"] is None
    assert 'data-action="RESET_FEED"' in browser.get(page).text


def test_delete_asks_first_is_refused_while_running_and_keeps_the_executions_page(
        browser: TestClient, world: World, engine: Engine) -> None:
    page = f"/schedules/{world.push}"
    asked = post_form(browser, page, f"{page}/delete", {})
    assert asked.status_code == 200 and 'id="confirm-delete"' in asked.text
    assert _row(engine, world.push)["deleted_at"] is None
    with run_locks(engine, [(f"schedule:{world.push}", "a run")]):
        refused = post_form(browser, page, f"{page}/delete", {"confirm": "yes"})
    assert refused.status_code == 303 and _row(engine, world.push)["deleted_at"] is None
    assert "is running" in browser.get(refused.headers["location"]).text
    done = post_form(browser, page, f"{page}/delete", {"confirm": "yes"})
    assert done.status_code == 303 and done.headers["location"] == f"/interfaces/{world.interface}"
    assert _row(engine, world.push)["deleted_at"] is not None
    assert browser.get(page).status_code == 404
    assert f'data-schedule-id="{world.push}"' not in browser.get(f"/interfaces/{world.interface}").text
    executions = browser.get(f"/schedules/{world.push}/executions")
    assert executions.status_code == 200 and 'id="schedule-deleted"' in executions.text
    assert f'data-run-schedule="{world.push}"' not in executions.text


def test_an_interface_parameter_change_shows_on_its_page_and_in_the_audit_list(
        browser: TestClient, world: World) -> None:
    form = {"name": "TIXNGO production", "type": "TIXNGO", "url": "http://127.0.0.1:9/organizer/tickets",
            "login": "admin@organizer.example", "password": "", "notification_emails": "ops@organizer.example",
            "custom_parameters": FEATURE + "\nticketIterationSize=300"}
    page = f"/interfaces/{world.interface}"
    assert post_form(browser, page, page, form).status_code == 303
    html = browser.get(page).text
    assert f'data-action="UPDATE" data-actor="{USER}"' in html
    assert 'data-field="customParameters"' in html and "ticketIterationSize=300" in html
    listed = browser.get("/audit", params={"objectType": "interface", "objectId": str(world.interface)})
    assert listed.status_code == 200 and listed.text.count('class="audit-entry"') == 2  # create, update
    assert browser.get("/audit", params={"objectType": "ticket"}).text.count('class="audit-entry"') == 1
    assert 'class="audit-entry"' in browser.get("/audit").text


def test_bad_audit_filters_show_a_message_not_an_error_page(browser: TestClient, world: World) -> None:
    for params in ({"objectType": "contact"}, {"objectId": "7"}, {"objectType": "ticket", "objectId": "x"}):
        response = browser.get("/audit", params=params)
        assert response.status_code == 422 and 'id="audit-error"' in response.text, params


def test_the_ticket_and_user_pages_show_their_entries(browser: TestClient, world: World, engine: Engine) -> None:
    html = browser.get(f"/tickets/{world.t3}").text
    assert 'data-action="CANCEL" data-actor="test"' in html
    with unit_of_work(engine, write=False) as conn:
        uid = conn.execute(select(users.c.id).where(users.c.name == USER)).scalar_one()
    user_page = browser.get(f"/users/{uid}")
    assert user_page.status_code == 200 and 'id="audit-entries"' in user_page.text
    assert browser.get("/users/999999").status_code == 404


def test_the_add_form_takes_start_and_end_and_labels_its_errors(browser: TestClient, world: World,
                                                                 engine: Engine) -> None:
    page = f"/interfaces/{world.interface}"
    form = {"function": "PUSH_CONTROLLED", "launch": "AUTOMATIC", "frequency_minutes": "5", "batch_size": "100",
            "starts_at": "2026-06-20T08:00", "ends_at": "2026-06-10T08:00", "skip_ticket_numbers": "",
            "event_codes": ""}
    refused = post_form(browser, page, f"{page}/schedules", form)
    assert refused.status_code == 422 and 'id="schedule-error-endsAt">Ends at (UTC):' in refused.text
    added = post_form(browser, page, f"{page}/schedules", {**form, "ends_at": "2026-06-30T08:00"})
    assert added.status_code == 303
    with unit_of_work(engine, write=False) as conn:
        row = conn.execute(select(schedules).where(schedules.c.function == "PUSH_CONTROLLED")).mappings().one()
    assert str(row["starts_at"])[:16] == "2026-06-20 08:00" and str(row["ends_at"])[:16] == "2026-06-30 08:00"
