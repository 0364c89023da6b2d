"""``/api/executions``: one run of a schedule with its counters and log."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from tixtrace.backoffice.api.deps import Cursor, ExecutionId, Limit, User, after_id, next_cursor
from tixtrace.backoffice.api.documents import ExecutionOut, LogPage
from tixtrace.backoffice.api.schemas import execution_view_json, log_json, page
from tixtrace.backoffice.backend import BackendDep
from tixtrace.backoffice.interfaces.tixngo.client import dumped_calls
from tixtrace.backoffice.services.executions import dumped_calls_text, execution_log, get_execution
from tixtrace.kernel.web import documented, error_responses

router = APIRouter(prefix="/api/executions", tags=["executions"],
                   responses=error_responses(400, 401, 404, 409, 422, 429))


@router.get("/{execution_id}", summary="One execution: counters and the first 1000 log lines (logCount: all)",
            **documented(ExecutionOut))
def get_one_execution(execution_id: ExecutionId, backend: BackendDep, _user: User) -> dict[str, Any]:
    with backend.read() as conn:
        return execution_view_json(get_execution(conn, execution_id))


@router.get("/{execution_id}/log", summary="The execution's log lines, in order, page by page", **documented(LogPage))
def get_log(execution_id: ExecutionId, backend: BackendDep, _user: User, cursor: Cursor = None,
            limit: Limit = 100) -> dict[str, Any]:
    start = after_id(cursor)
    with backend.read() as conn:
        get_execution(conn, execution_id)
        rows, last = execution_log(conn, execution_id, after_id=start, limit=limit)
    return page([log_json(row) for row in rows], next_cursor(last))


@router.get("/{execution_id}/dumps", summary="The payloads the execution exchanged with the wallet (kept per "
            "maxLengthDumpedCallsInKbs), as a JSON file: {executionId, calls: [request | response]}",
            response_class=JSONResponse)
def get_dumps(execution_id: ExecutionId, backend: BackendDep, _user: User) -> JSONResponse:
    with backend.read() as conn:
        text = dumped_calls_text(conn, execution_id)
    return JSONResponse({"executionId": execution_id, "calls": dumped_calls(text)},
                        headers={"Content-Disposition": f'attachment; filename="execution-{execution_id}-dumps.json"'})
