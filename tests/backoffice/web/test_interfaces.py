"""The Interface General Screen: settings, inline custom-parameter errors, prerequisites, schedules,
Run now, and the password that never comes back."""

from __future__ import annotations

import re
import threading
import time

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from tests.support.screens import FEATURE, INTERFACE_PASSWORD, World, post_form, token_in
from tixtrace.backoffice.db.tables import executions, interfaces, schedules
from tixtrace.backoffice.interfaces.locks import organizer_lock_name, run_locks
from tixtrace.backoffice.services.interfaces import interface_credentials
from tixtrace.kernel.db import unit_of_work


def _form(**overrides: str) -> dict[str, str]:
    values = {"name": "TIXNGO staging", "type": "TIXNGO", "url": "https://wallet.example.com/organizer/tickets",
              "login": "admin@staging.example", "password": "another-Secret-9",
              "notification_emails": "ops@staging.example\nlead@staging.example", "custom_parameters": FEATURE}
    values.update(overrides)
    return values


def _count(engine: Engine, table) -> int:  # type: ignore[no-untyped-def]
    with unit_of_work(engine, write=False) as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _stored_password(engine: Engine, interface_id: int) -> str:
    """The password as the wallet client gets it (stored encrypted)."""
    with unit_of_work(engine, write=False) as conn:
        return interface_credentials(conn, interface_id).password


def test_the_interface_list_shows_the_feature_state(browser: TestClient, world: World) -> None:
    page = browser.get("/interfaces")
    assert page.status_code == 200
    assert "TIXNGO production" in page.text and 'data-value="ACTIVE"' in page.text
    assert INTERFACE_PASSWORD not in page.text


def test_the_interface_page_shows_settings_prerequisites_and_schedules(browser: TestClient, world: World) -> None:
    html = browser.get(f"/interfaces/{world.interface}").text
    for element in ('id="custom-parameters"', 'id="save-interface"', f'data-run-schedule="{world.feedback}"',
                    f'data-run-schedule="{world.push}"', 'id="feature-status" data-active="true"',
                    'id="prerequisite-lifecycle"', 'hx-post="/interfaces/check-parameters"'):
        assert element in html, element
    assert "ops@organizer.example" in html and "admin@organizer.example" in html
    assert 'id="interface-password" name="password" type="password" maxlength="500" value=""' in html
    assert 'id="parameter-errors"' not in html


def test_creating_an_interface_with_a_bad_parameter_shows_it_inline_and_saves_nothing(
        browser: TestClient, world: World, engine: Engine) -> None:
    before = _count(engine, interfaces)
    text = "TIXNGO_LIFECYCLE_MODE=lifecycle\nenableTicketDistributionToCulturalContact=yes\nmyOwnFlag=1"
    response = post_form(browser, "/interfaces/new", "/interfaces/new", _form(custom_parameters=text))
    assert response.status_code == 422
    html = response.text
    item = r'<li class="parameter-error" data-line="(\d+)" data-parameter="([^"]*)">(.*?)</li>'
    errors = re.findall(item, html, re.S)
    assert len(errors) == 1
    line, parameter, body = errors[0]
    assert (line, parameter) == ("2", "enableTicketDistributionToCulturalContact")
    assert "line 2" in body and "yes" in body and "must be true or false" in body
    assert 'id="parameter-errors"' in html
    assert "unknown parameter &#39;myOwnFlag&#39;" in html  # the unknown name is a warning
    assert 'id="prerequisite-activation"' in html and 'data-active="false"' in html  # evaluated without line 2
    assert "enableTicketDistributionToCulturalContact=true</code>" in html.split('id="feature-missing"')[1]
    assert "TIXNGO staging" in html and text.split("\n")[1] in html  # the form keeps what was typed...
    assert "another-Secret-9" not in html  # ...except the password
    assert _count(engine, interfaces) == before


def test_creating_a_valid_interface_saves_it_and_shows_it(browser: TestClient, world: World, engine: Engine) -> None:
    response = post_form(browser, "/interfaces/new", "/interfaces/new", _form())
    assert response.status_code == 303
    location = response.headers["location"]
    new_id = int(location.rsplit("/", 1)[1])
    page = browser.get(location)
    assert "Interface TIXNGO staging created." in page.text and 'data-active="true"' in page.text
    assert "lead@staging.example" in page.text
    assert _stored_password(engine, new_id) == "another-Secret-9"
    assert "another-Secret-9" not in page.text
    taken = post_form(browser, "/interfaces/new", "/interfaces/new", _form())
    assert taken.status_code == 422 and 'id="error-name"' in taken.text and "already exists" in taken.text


def test_field_errors_are_shown_beside_their_fields(browser: TestClient, world: World, engine: Engine) -> None:
    before = _count(engine, interfaces)
    response = post_form(browser, "/interfaces/new", "/interfaces/new",
                         _form(url="ftp://wallet.example.com/x", password="", notification_emails="not-an-email",
                               custom_parameters="ticketIterationSize=0"))
    assert response.status_code == 422
    for field in ("url", "password", "notificationEmails"):
        assert f'id="error-{field}"' in response.text, field
    assert "ticketIterationSize must be a whole number from 1 to 10000" in response.text  # shown at once too
    assert _count(engine, interfaces) == before


def test_updating_with_a_blank_password_keeps_the_stored_one(browser: TestClient, world: World,
                                                              engine: Engine) -> None:
    page = f"/interfaces/{world.interface}"
    basic = "ticketIterationSize=500"
    response = post_form(browser, page, page, _form(name="TIXNGO production", password="", custom_parameters=basic,
                                                    url="http://127.0.0.1:9/organizer/tickets"))  # same host
    assert response.status_code == 303
    assert _stored_password(engine, world.interface) == INTERFACE_PASSWORD
    html = browser.get(page).text
    assert "Interface TIXNGO production saved." in html
    assert 'data-active="false"' in html and "TIXNGO_LIFECYCLE_MODE=lifecycle</code>" in html  # what is missing
    assert INTERFACE_PASSWORD not in html
    changed = post_form(browser, page, page, _form(name="TIXNGO production", password="New-Key-123"))
    assert changed.status_code == 303 and _stored_password(engine, world.interface) == "New-Key-123"
    refused = post_form(browser, page, page, _form(name="TIXNGO production", password="x",
                                                   custom_parameters="enableTicketDistributionToCulturalContact=yes"))
    assert refused.status_code == 422 and 'class="parameter-error"' in refused.text
    assert _stored_password(engine, world.interface) == "New-Key-123"  # nothing saved


def test_the_parameters_check_is_an_htmx_fragment_that_saves_nothing(browser: TestClient, world: World) -> None:
    token = token_in(browser.get(f"/interfaces/{world.interface}").text)
    bad = browser.post("/interfaces/check-parameters", headers={"HX-Request": "true", "X-CSRF-Token": token},
                       data={"custom_parameters": "TIXNGO_LIFECYCLE_MODE=basic\r\ntixngo_lifecycle_mode=lifecycle"})
    assert bad.status_code == 200 and bad.text.lstrip().startswith('<div id="parameters-panel"')
    assert bad.text.count('class="parameter-error"') == 2 and "names are exact" in bad.text
    good = browser.post("/interfaces/check-parameters", headers={"X-CSRF-Token": token},
                        data={"custom_parameters": FEATURE})
    assert 'data-active="true"' in good.text and "parameter-error" not in good.text
    half = browser.post("/interfaces/check-parameters", headers={"X-CSRF-Token": token},
                        data={"custom_parameters": "enableTicketDistributionToCulturalContact=TRUE"})
    assert 'data-active="false"' in half.text and "has no effect without TIXNGO_LIFECYCLE_MODE" in half.text
    assert browser.post("/interfaces/check-parameters", data={"custom_parameters": FEATURE}).status_code == 403


def test_adding_schedules(browser: TestClient, world: World, engine: Engine) -> None:
    page = f"/interfaces/{world.interface}"
    action = f"{page}/schedules"
    before = _count(engine, schedules)
    added = post_form(browser, page, action, {"function": "TICKETS_INJECTION", "launch": "AUTOMATIC",
                                              "frequency_minutes": "15", "batch_size": "250",
                                              "skip_ticket_numbers": "", "event_codes": "WC26-M01"})
    assert added.status_code == 303
    html = browser.get(page).text
    assert "TICKETS INJECTION) added." in html and "every 15 min" in html and "WC26-M01" in html
    assert _count(engine, schedules) == before + 1
    for data, error in (({"function": "TICKETS_INJECTION", "launch": "MANUAL", "batch_size": "abc"}, "batchSize"),
                        ({"function": "TICKETS_INJECTION", "launch": "MANUAL", "batch_size": "0"}, "batchSize"),
                        ({"function": "TICKETS_INJECTION", "launch": "MANUAL", "event_codes": "NOPE"}, "eventCodes"),
                        ({"function": "NOT_A_FUNCTION", "launch": "MANUAL"}, "function"),
                        ({"function": "RETRIEVE_TICKET_STATUS", "launch": "MANUAL"}, "form")):
        refused = post_form(browser, page, action, data)
        assert refused.status_code == 422, data
        marker = 'id="schedule-form-error"' if error == "form" else f'id="schedule-error-{error}"'
        assert marker in refused.text, (data, error)
    assert _count(engine, schedules) == before + 1
    assert post_form(browser, page, "/interfaces/777/schedules", {"function": "PUSH_CANCELLED"}).status_code == 404


def test_run_now_runs_the_schedule_and_shows_its_execution(browser: TestClient, world: World,
                                                           engine: Engine) -> None:
    """Run now starts the execution in the background: the answer is the execution page at once,
    which follows the run (its live part) until it has ended."""
    page = f"/interfaces/{world.interface}"
    response = post_form(browser, page, f"/schedules/{world.push}/run", {})
    assert response.status_code == 303
    location = response.headers["location"]
    assert re.fullmatch(r"/executions/\d+", location)
    assert _count(engine, executions) == 1  # recorded before the answer
    started = browser.get(location)
    assert started.status_code == 200 and "started; this page follows it" in started.text
    deadline = time.monotonic() + 30
    while "HX-Refresh" not in browser.get(f"{location}/live", headers={"HX-Request": "true"}).headers:
        assert time.monotonic() < deadline, "the execution never ended"
        time.sleep(0.02)
    execution = browser.get(location)
    assert 'id="execution-status" data-status="OK"' in execution.text and "hx-trigger" not in execution.text
    assert "launched by <strong>operator</strong>" in execution.text
    assert post_form(browser, page, "/schedules/4040/run", {}).status_code == 404


def test_run_now_refused_while_the_feedback_runs_shows_a_flash(browser: TestClient, world: World,
                                                                engine: Engine) -> None:
    page = f"/interfaces/{world.interface}"
    token = token_in(browser.get(page).text)
    name = "feedback:" + organizer_lock_name("http://127.0.0.1:9/organizer/tickets", "admin@organizer.example")
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with run_locks(engine, [(name, "a test")]):
            holding.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert holding.wait(10)
        response = browser.post(f"/schedules/{world.feedback}/run", data={"csrf_token": token},
                                follow_redirects=False)
    finally:
        release.set()
        holder.join()
    assert response.status_code == 303 and response.headers["location"] == page
    shown = browser.get(page).text
    assert 'id="flash"' in shown and "already running" in shown
    assert 'id="flash"' not in browser.get(page).text  # shown once
    assert _count(engine, executions) == 0


def test_the_password_never_appears_on_any_page(browser: TestClient, world: World) -> None:
    post_form(browser, f"/interfaces/{world.interface}", f"/schedules/{world.push}/run", {})
    paths = ["/", "/overview/panel", "/tickets", f"/tickets/{world.t1}", f"/tickets/{world.t1}?tab=mobile",
             f"/tickets/{world.t1}?tab=distribution", "/contacts", f"/contacts/{world.bruno}", "/interfaces",
             "/interfaces/new", f"/interfaces/{world.interface}", f"/schedules/{world.push}/executions",
             f"/schedules/{world.feedback}/executions", "/executions/1"]
    for path in paths:
        response = browser.get(path)
        assert response.status_code == 200, path
        assert INTERFACE_PASSWORD not in response.text, path
    refused = post_form(browser, f"/interfaces/{world.interface}", f"/interfaces/{world.interface}",
                        _form(name="TIXNGO production", url="bad", password=""))
    assert refused.status_code == 422 and INTERFACE_PASSWORD not in refused.text


def test_unknown_interfaces_are_404_pages(browser: TestClient, world: World) -> None:
    for path in ("/interfaces/31337", "/interfaces/abc", "/interfaces/0"):
        response = browser.get(path)
        assert response.status_code == 404 and 'data-status="404"' in response.text, path
    assert post_form(browser, "/interfaces", "/interfaces/31337", _form()).status_code == 404


def test_the_parameters_check_shows_typos_with_did_you_mean_and_ignores_a_byte_order_mark(
        browser: TestClient, world: World) -> None:
    token = token_in(browser.get(f"/interfaces/{world.interface}").text)
    headers = {"HX-Request": "true", "X-CSRF-Token": token}
    typo = browser.post("/interfaces/check-parameters", headers=headers,
                        data={"custom_parameters": "TIXNGO_LIFECYCLE_MODE=lifecycle\r\n"
                                                   "enableTicketDistributionToCulturalContct=true"})
    item = r'<li class="parameter-error" data-line="(\d+)" data-parameter="([^"]*)">(.*?)</li>'
    [(line, parameter, body)] = re.findall(item, typo.text, re.S)
    assert (line, parameter) == ("2", "enableTicketDistributionToCulturalContct")
    assert "did you mean enableTicketDistributionToCulturalContact?" in body
    bom = browser.post("/interfaces/check-parameters", headers=headers, data={"custom_parameters": "\ufeff" + FEATURE})
    assert 'data-active="true"' in bom.text
    assert "parameter-error" not in bom.text and "unknown parameter" not in bom.text
