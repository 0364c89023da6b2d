"""Execution screens: a schedule's executions (newest first, paged) and one execution's counters, log,
parked records and dumped calls."""

from __future__ import annotations

import re
import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, insert, select, update

from tests.support.backoffice import START
from tests.support.screens import World, token_in
from tixtrace.backoffice.db.tables import execution_logs, executions, parked_records
from tixtrace.backoffice.domain.executions import ExecutionStatus, LogLevel, LogLine
from tixtrace.backoffice.interfaces import runner
from tixtrace.backoffice.services.executions import (
    add_counts,
    append_log,
    finish_execution,
    start_execution,
)
from tixtrace.backoffice.web import executions as execution_screens
from tixtrace.backoffice.web import schedules as schedule_screens
from tixtrace.kernel.cursors import encode_cursor
from tixtrace.kernel.db import unit_of_work


def _execution(engine: Engine, schedule_id: int, status: ExecutionStatus, lines: list[LogLine],
               dumped: str | None = None) -> int:
    with unit_of_work(engine) as conn:
        execution_id = int(start_execution(conn, schedule_id, START).id)
        add_counts(conn, execution_id, {"records_read": 7, "lines_created": 3, "parked": 1})
        append_log(conn, execution_id, lines, START)
        if dumped is not None:
            conn.execute(update(executions).where(executions.c.id == execution_id).values(dumped_calls=dumped))
        finish_execution(conn, execution_id, status, START + timedelta(seconds=3))
    return execution_id


def test_the_execution_page_shows_status_counters_log_parked_records_and_dumps(
        browser: TestClient, world: World, engine: Engine) -> None:
    execution_id = _execution(engine, world.feedback, ExecutionStatus.WARNING, [
        LogLine(LogLevel.INFO, "read 7 records"),
        LogLine(LogLevel.WARNING, "record 12 parked: <b>bad</b> profile", "1000000000000001"),
    ], dumped='> GET /organizer/tickets/diff {"batchSize": 1000}\n< 200 {"records": []}')
    with unit_of_work(engine) as conn:
        conn.execute(insert(parked_records).values(schedule_id=world.feedback, record_id=12,
                                                   ticket_number="1000000000000001", record={"recordId": 12},
                                                   error="profile email missing", parked_at=START))
    html = browser.get(f"/executions/{execution_id}").text
    assert 'id="execution-status" data-status="WARNING"' in html and "tone-amber" in html
    assert re.search(r'data-counter="records_read">7<', html) and re.search(r'data-counter="lines_created">3<', html)
    assert re.findall(r'<tr class="log-line" data-level="(\w+)"', html) == ["INFO", "WARNING"]
    assert "&lt;b&gt;bad&lt;/b&gt;" in html and "<b>bad</b>" not in html  # escaped
    assert 'href="/tickets?number=1000000000000001"' in html
    parked = html.split('id="parked-records"')[1].split("</section>")[0]
    assert "profile email missing" in parked and ">12<" in parked
    assert '<pre id="dumped-calls">&gt; GET /organizer/tickets/diff' in html
    assert "2026-06-01 09:00:03 UTC" in html  # ended


def test_the_log_pages_when_long(browser: TestClient, world: World, engine: Engine,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(execution_screens, "LOG_PAGE", 1)
    execution_id = _execution(engine, world.push, ExecutionStatus.OK,
                              [LogLine(LogLevel.INFO, f"line {n}") for n in range(3)])
    first = browser.get(f"/executions/{execution_id}").text
    assert "line 0" in first and "line 2" in first  # the execution comes with its first 1,000 lines
    with unit_of_work(engine, write=False) as conn:
        first_id = conn.execute(select(func.min(execution_logs.c.id))
                                .where(execution_logs.c.execution_id == execution_id)).scalar_one()
    second = browser.get(f"/executions/{execution_id}?cursor={encode_cursor(first_id)}").text
    assert "line 0" not in second and "line 1" in second and "line 2" not in second
    assert 'rel="next"' in second and "« First lines" in second
    assert browser.get(f"/executions/{execution_id}?cursor=garbage").status_code == 422


def test_a_schedules_executions_newest_first_with_paging(browser: TestClient, world: World, engine: Engine,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(schedule_screens, "PAGE", 2)
    ids = [_execution(engine, world.push, status, []) for status in
           (ExecutionStatus.OK, ExecutionStatus.ERROR, ExecutionStatus.WARNING)]
    first = browser.get(f"/schedules/{world.push}/executions")
    assert first.status_code == 200
    rows = re.findall(r'<tr class="execution" data-status="(\w+)" data-execution-id="(\d+)"', first.text)
    assert rows == [("WARNING", str(ids[2])), ("ERROR", str(ids[1]))]
    assert f'data-run-schedule="{world.push}"' in first.text
    next_url = re.search(r'href="([^"]+)" rel="next"', first.text)
    assert next_url
    second = browser.get(next_url.group(1))
    assert re.findall(r'data-execution-id="(\d+)"', second.text) == [str(ids[0])]
    empty = browser.get(f"/schedules/{world.feedback}/executions").text
    assert "has not run yet" in empty


@pytest.mark.parametrize("path", ["/executions/5150", "/executions/nope", "/schedules/5150/executions",
                                  "/schedules/x/executions"])
def test_unknown_executions_and_schedules_are_404_pages(browser: TestClient, world: World, path: str) -> None:
    response = browser.get(path)
    assert response.status_code == 404 and 'data-status="404"' in response.text


# -- every schedule's executions (/executions) -------------------------------------------------------

def _launched(engine: Engine, schedule_id: int, status: ExecutionStatus, minutes: int, who: str) -> int:
    with unit_of_work(engine) as conn:
        execution_id = int(start_execution(conn, schedule_id, START + timedelta(minutes=minutes), launched_by=who).id)
        if status is not ExecutionStatus.RUNNING:
            finish_execution(conn, execution_id, status, START + timedelta(minutes=minutes, seconds=3))
    return execution_id


def _listed(html: str) -> list[tuple[str, str]]:
    return re.findall(r'<tr class="execution" data-status="(\w+)" data-execution-id="(\d+)"', html)


def test_every_schedules_executions_newest_first_with_filters(browser: TestClient, world: World,
                                                               engine: Engine) -> None:
    ok = _launched(engine, world.feedback, ExecutionStatus.OK, 0, "scheduler")
    error = _launched(engine, world.push, ExecutionStatus.ERROR, 10, "operator")
    warning = _launched(engine, world.feedback, ExecutionStatus.WARNING, 20, "cli")
    page = browser.get("/executions")
    assert page.status_code == 200
    assert _listed(page.text) == [("WARNING", str(warning)), ("ERROR", str(error)), ("OK", str(ok))]
    assert '<a href="/executions" class="current" aria-current="page">Executions</a>' in page.text  # nav link
    rows = page.text.split('id="execution-list"')[1]
    assert rows.index(">cli<") < rows.index(">operator<") < rows.index(">scheduler<")  # launched by
    assert "TIXNGO production #" in rows  # the schedule is named by its interface

    def listed(**params: str) -> list[str]:
        response = browser.get("/executions", params=params)
        assert response.status_code == 200, response.text
        return [execution_id for _, execution_id in _listed(response.text)]

    assert listed(status="ERROR") == [str(error)]
    assert listed(function="RETRIEVE_TICKET_STATUS") == [str(warning), str(ok)]
    assert listed(schedule=str(world.push)) == [str(error)]
    assert listed(since="2026-06-01T09:05", until="2026-06-01T09:15") == [str(error)]  # datetime-local, UTC
    assert listed(status="BOGUS") == [str(warning), str(error), str(ok)]  # not a choice: ignored
    filtered = browser.get("/executions", params={"status": "ERROR"}).text
    assert '<option value="ERROR" selected>' in filtered
    assert f'<option value="{world.push}"' in filtered  # the schedule filter offers every schedule
    bad = browser.get("/executions", params={"since": "yesterday"})
    assert bad.status_code == 422 and "since" in bad.text


def test_every_schedules_executions_page_by_page(browser: TestClient, world: World, engine: Engine,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(execution_screens, "PAGE", 2)
    ids = [_launched(engine, world.push, ExecutionStatus.ERROR, n, "scheduler") for n in range(3)]
    first = browser.get("/executions?status=ERROR").text
    assert [i for _, i in _listed(first)] == [str(ids[2]), str(ids[1])]
    next_url = re.search(r'href="([^"]+)" rel="next"', first)
    assert next_url and "status=ERROR" in next_url.group(1)
    second = browser.get(next_url.group(1).replace("&amp;", "&")).text
    assert [i for _, i in _listed(second)] == [str(ids[0])]


# -- Run now in the background, followed live ----------------------------------------------------------

class Gate:
    """The schedule's function, held RUNNING until the test opens it."""

    def __init__(self) -> None:
        self.release = threading.Event()

    def __call__(self, run: Any) -> None:
        run.count("records_read", 2)
        with unit_of_work(run.engine) as conn:  # counters committed while it runs, as a page would
            run.flush(conn)
        assert self.release.wait(30), "the test never opened the gate"
        run.log(LogLevel.WARNING, "record 9 parked: no e-mail", "1000000000000002")


def test_run_now_shows_the_execution_running_with_live_counters_until_it_ends(
        browser: TestClient, world: World, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    gate = Gate()
    monkeypatch.setitem(runner.FUNCTIONS, "PUSH_CANCELLED", gate)
    try:
        started = browser.post(f"/schedules/{world.push}/run", follow_redirects=False, headers={"HX-Request": "true"},
                               data={"csrf_token": token_in(browser.get(f"/interfaces/{world.interface}").text)})
        assert started.status_code == 200  # htmx: the form stays busy until this answer, then follows
        location = started.headers["HX-Redirect"]
        assert re.fullmatch(r"/executions/\d+", location)
        page = browser.get(location).text
        assert 'id="execution-status" data-status="RUNNING"' in page
        assert f'hx-get="{location}/live" hx-trigger="every 1s"' in page
        assert "launched by <strong>operator</strong>" in page
        deadline = time.monotonic() + 30
        while 'data-counter="records_read">2<' not in (live := browser.get(f"{location}/live",
                                                                          headers={"HX-Request": "true"})).text:
            assert time.monotonic() < deadline, "the counters never showed"
            time.sleep(0.02)
        assert "HX-Refresh" not in live.headers and 'data-status="RUNNING"' in live.text
        assert "<html" not in live.text  # a fragment
    finally:
        gate.release.set()
    deadline = time.monotonic() + 30
    while "HX-Refresh" not in (live := browser.get(f"{location}/live", headers={"HX-Request": "true"})).headers:
        assert time.monotonic() < deadline, "the execution never ended"
        time.sleep(0.02)
    ended = browser.get(location).text
    assert 'id="execution-status" data-status="WARNING"' in ended and "hx-trigger" not in ended
    assert "record 9 parked: no e-mail" in ended


def test_a_refused_run_now_comes_back_with_a_message_for_htmx_too(browser: TestClient, world: World,
                                                                  engine: Engine,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    gate = Gate()
    monkeypatch.setitem(runner.FUNCTIONS, "PUSH_CANCELLED", gate)
    token = token_in(browser.get(f"/interfaces/{world.interface}").text)
    try:
        first = browser.post(f"/schedules/{world.push}/run", data={"csrf_token": token}, follow_redirects=False)
        assert first.status_code == 303
        second = browser.post(f"/schedules/{world.push}/run", data={"csrf_token": token}, follow_redirects=False,
                              headers={"HX-Request": "true"})
        assert second.headers["HX-Redirect"] == f"/interfaces/{world.interface}"
        shown = browser.get(f"/interfaces/{world.interface}").text
        assert 'id="flash"' in shown and "already running" in shown
        with unit_of_work(engine, write=False) as conn:
            assert conn.scalar(select(func.count()).select_from(executions)) == 1
    finally:
        gate.release.set()
