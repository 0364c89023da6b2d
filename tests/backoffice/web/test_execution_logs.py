"""O3 on the execution page: log lines link to their ticket and contact; the dumped calls download as
JSON (``GET /api/executions/{id}/dumps``, with the web session or HTTP Basic)."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine, update

from tests.support.backoffice import START
from tests.support.screens import World
from tixtrace.backoffice.db.tables import executions
from tixtrace.backoffice.domain.executions import ExecutionStatus, LogLevel, LogLine
from tixtrace.backoffice.services.executions import append_log, finish_execution, start_execution
from tixtrace.kernel.db import unit_of_work

DUMP = ('> GET /diff?paginationKey=abc&batchSize=1000 \n< 200 {"records": [], "paginationKey": "abc", "hasMore": false}'
        '\n> POST /delete {"tickets": [{"ticketId": "T1"}]}\n< 200 {"results": [{"ticketId": "T1", "res')


def _execution(engine: Engine, schedule_id: int, lines: list[LogLine], dumped: str | None) -> int:
    with unit_of_work(engine) as conn:
        execution_id = int(start_execution(conn, schedule_id, START).id)
        append_log(conn, execution_id, lines, START)
        conn.execute(update(executions).where(executions.c.id == execution_id).values(dumped_calls=dumped))
        finish_execution(conn, execution_id, ExecutionStatus.OK, START + timedelta(seconds=1))
    return execution_id


def test_log_lines_link_to_their_ticket_and_contact(browser: TestClient, world: World, engine: Engine) -> None:
    execution_id = _execution(engine, world.feedback, [
        LogLine(LogLevel.INFO, "contact 41 created (temporary) as the recipient of transfer 9", "T0001", 41),
        LogLine(LogLevel.INFO, "read 1 record(s)"),
    ], None)

    html = browser.get(f"/executions/{execution_id}").text

    created = html.split("contact 41 created")[0].rsplit('<tr class="log-line"', 1)[1]
    assert 'href="/tickets?number=T0001"' in created and 'href="/contacts/41" data-contact="41"' in created
    assert html.count("data-contact=") == 1
    assert 'id="dumps-json"' not in html  # nothing dumped: nothing to download
    api = browser.get(f"/api/executions/{execution_id}").json()
    assert [line["contactId"] for line in api["log"]] == [41, None]


def test_dumped_calls_download_as_json(browser: TestClient, world: World, engine: Engine) -> None:
    execution_id = _execution(engine, world.feedback, [], DUMP)
    html = browser.get(f"/executions/{execution_id}").text
    assert f'href="/api/executions/{execution_id}/dumps" download id="dumps-json"' in html

    response = browser.get(f"/api/executions/{execution_id}/dumps")

    assert response.status_code == 200
    assert response.headers["content-disposition"] == f'attachment; filename="execution-{execution_id}-dumps.json"'
    assert response.json() == {"executionId": execution_id, "calls": [
        {"direction": "request", "method": "GET", "path": "/diff?paginationKey=abc&batchSize=1000", "body": None},
        {"direction": "response", "status": 200, "body": {"records": [], "paginationKey": "abc", "hasMore": False}},
        {"direction": "request", "method": "POST", "path": "/delete", "body": {"tickets": [{"ticketId": "T1"}]}},
        {"direction": "response", "status": 200, "body": '{"results": [{"ticketId": "T1", "res', "truncated": True},
    ]}


def test_dumps_of_an_execution_without_dumps_or_unknown(browser: TestClient, world: World, engine: Engine) -> None:
    execution_id = _execution(engine, world.feedback, [], None)
    assert browser.get(f"/api/executions/{execution_id}/dumps").json() == {"executionId": execution_id, "calls": []}
    missing = browser.get("/api/executions/999999/dumps")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "EXECUTION_NOT_FOUND"
