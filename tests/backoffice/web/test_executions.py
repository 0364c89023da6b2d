"""Execution screens: a schedule's executions (newest first, paged) and one execution's counters, log,
parked records and dumped calls."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, insert, select, update

from tests.support.backoffice import START
from tests.support.screens import World
from tixtrace.backoffice.db.tables import execution_logs, executions, parked_records
from tixtrace.backoffice.domain.executions import ExecutionStatus, LogLevel, LogLine
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
