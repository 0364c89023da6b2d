"""/api/interfaces, schedules and executions: custom parameters, the password never shown back."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, update

from tests.support.backoffice import START, created, interface_body, new_event
from tixtrace.backoffice.db.tables import executions, interfaces
from tixtrace.backoffice.domain.executions import ExecutionStatus, LogLevel, LogLine
from tixtrace.backoffice.interfaces.scheduler import Scheduler
from tixtrace.backoffice.services.executions import (
    add_counts,
    append_log,
    finish_execution,
    start_execution,
)
from tixtrace.backoffice.services.interfaces import interface_credentials
from tixtrace.kernel.clock import TestClock
from tixtrace.kernel.db import unit_of_work

INTERFACE_FIELDS = {"id", "name", "type", "url", "login", "notificationEmails", "customParameters", "parameters",
                    "warnings"}


def test_the_password_never_appears_in_any_response(api: TestClient) -> None:
    body = interface_body(password="Pa55-Never-Shown")
    responses = [api.post("/api/interfaces", json=body)]
    interface = responses[0].json()
    assert responses[0].status_code == 201 and INTERFACE_FIELDS <= set(interface) and "password" not in interface
    iid = interface["id"]
    responses += [
        api.get(f"/api/interfaces/{iid}"),
        api.get("/api/interfaces"),
        api.put(f"/api/interfaces/{iid}", json={**body, "password": None, "login": "other@organizer.example"}),
        api.post("/api/interfaces", json=body),  # 409: name taken
        api.post("/api/interfaces", json={**body, "name": "x", "url": "ftp://nope"}),  # 422
        api.post("/api/interfaces", json={**body, "name": "y", "customParameters": "ticketIterationSize=0"}),
        api.post("/api/interfaces", json={**body, "name": "z", "password": "Pa55-Never-Shown\x00"}),
        api.post("/api/interfaces", json={**body, "name": "w", "bogus": "Pa55-Never-Shown"}),
    ]
    assert [r.status_code for r in responses] == [201, 200, 200, 200, 409, 422, 422, 422, 422]
    for response in responses:
        assert "Pa55-Never-Shown" not in response.text
        assert '"password":' not in response.text.replace(" ", "")


def test_interface_shape_and_typed_parameters(api: TestClient) -> None:
    text = "TIXNGO_LIFECYCLE_MODE=lifecycle; enableTicketDistributionToCulturalContact=TRUE\n" \
           "# a comment\nticketIterationSize = 500\nsomethingElse=42"
    interface = created(api, "/api/interfaces", interface_body(customParameters=text,
                                                               notificationEmails=["a@x.example", "a@x.example"]))
    assert interface["type"] == "TIXNGO" and interface["notificationEmails"] == ["a@x.example"]
    assert interface["customParameters"] == text
    params = interface["parameters"]
    assert params["TIXNGO_LIFECYCLE_MODE"] == "lifecycle"
    assert params["enableTicketDistributionToCulturalContact"] is True
    assert params["ticketIterationSize"] == 500 and params["stickToTheHour"] is True
    assert params["overlaySpectatorDetailsWithLastOwner"] is False
    warnings = interface["warnings"]
    assert any("somethingElse" in w and "line 4" in w for w in warnings)
    assert any("overlaySpectatorDetailsWithLastOwner" in w for w in warnings)  # the feature's prerequisite
    assert api.get(f"/api/interfaces/{interface['id']}").json() == interface


def test_bad_custom_parameters_are_refused_line_by_line_and_nothing_is_saved(api: TestClient) -> None:
    text = "TIXNGO_LIFECYCLE_MODE=lifecycle\nenableTicketDistributionToCulturalContact=yes\n" \
           "ticketiterationsize=10\nticketIterationSize=0\nnot an entry"
    response = api.post("/api/interfaces", json=interface_body(customParameters=text))
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "INVALID_CUSTOM_PARAMETERS"
    errors = error["details"]["errors"]
    assert [(e["line"], e["parameter"], e["value"]) for e in errors] == [
        (2, "enableTicketDistributionToCulturalContact", "yes"), (3, "ticketiterationsize", "10"),
        (4, "ticketIterationSize", "0"), (5, "not an entry", "")]
    assert all(e["message"] for e in errors)
    assert api.get("/api/interfaces").json()["items"] == []


def test_bad_interface_fields(api: TestClient) -> None:
    body = interface_body(type="OTHER", url="http://wallet.example/organizer/ticket", login=" ",
                          notificationEmails=["ok@example.com", "nope"])
    response = api.post("/api/interfaces", json=body)
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["error"]["details"]["errors"]}
    assert fields == {"type", "url", "login", "notificationEmails[1]"}
    for url in ("https://wallet.example/organizer/tickets/", "wallet.example/organizer/tickets",
                "https://wallet.example/organizer/tickets?x=1"):
        assert api.post("/api/interfaces", json=interface_body(url=url)).status_code == 422, url
    ok = api.post("/api/interfaces", json=interface_body(url="https://wallet.example/base/organizer/tickets"))
    assert ok.status_code == 201


def test_update_keeps_or_replaces_the_password_and_checks_parameters(api: TestClient, engine: Engine) -> None:

    body = interface_body(password="first-secret")
    iid = created(api, "/api/interfaces", body)["id"]
    assert api.put(f"/api/interfaces/{iid}", json={**body, "password": None}).status_code == 200
    with unit_of_work(engine, write=False) as conn:
        assert interface_credentials(conn, iid).password == "first-secret"
    assert api.put(f"/api/interfaces/{iid}", json={**body, "password": "second-secret"}).status_code == 200
    with unit_of_work(engine, write=False) as conn:
        assert interface_credentials(conn, iid).password == "second-secret"
    refused = api.put(f"/api/interfaces/{iid}", json={**body, "customParameters": "stickToTheHour=1"})
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "INVALID_CUSTOM_PARAMETERS"
    assert api.put("/api/interfaces/9999", json=body).status_code == 404


def test_schedules(api: TestClient) -> None:
    iid = created(api, "/api/interfaces", interface_body())["id"]
    event = new_event(api)
    feedback = created(api, f"/api/interfaces/{iid}/schedules", {"function": "RETRIEVE_TICKET_STATUS",
                                                                 "launch": "AUTOMATIC"})
    assert feedback == {**feedback, "interfaceId": iid, "function": "RETRIEVE_TICKET_STATUS", "launch": "AUTOMATIC",
                        "frequencyMinutes": 5, "batchSize": 1000, "paginationKey": None, "skipTicketNumbers": [],
                        "eventCodes": [], "startsAt": None, "endsAt": None}
    assert api.get(f"/api/schedules/{feedback['id']}").json() == feedback
    injection = created(api, f"/api/interfaces/{iid}/schedules", {
        "function": "TICKETS_INJECTION", "launch": "MANUAL", "frequencyMinutes": 0, "batchSize": 10000,
        "eventCodes": [event["code"]], "skipTicketNumbers": ["123", "456"],
        "startsAt": "2026-06-01T00:00:00Z", "endsAt": "2026-07-20T00:00:00+02:00"})
    assert (injection["frequencyMinutes"], injection["batchSize"], injection["eventCodes"],
            injection["endsAt"]) == (0, 10000, [event["code"]], "2026-07-19T22:00:00.000Z")
    listed = api.get(f"/api/interfaces/{iid}/schedules").json()["items"]
    assert [s["id"] for s in listed] == [feedback["id"], injection["id"]]
    second = api.post(f"/api/interfaces/{iid}/schedules", json={"function": "RETRIEVE_TICKET_STATUS",
                                                                "launch": "MANUAL"})
    assert second.status_code == 409 and second.json()["error"]["code"] == "SCHEDULE_ALREADY_EXISTS"
    bad = api.post(f"/api/interfaces/{iid}/schedules", json={
        "function": "FETCH", "launch": "SOMETIMES", "frequencyMinutes": -1, "batchSize": 10001})
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["error"]["details"]["errors"]} == {
        "function", "launch", "frequencyMinutes", "batchSize"}
    unknown = api.post(f"/api/interfaces/{iid}/schedules", json={"function": "TICKETS_INJECTION",
                                                                 "launch": "MANUAL", "eventCodes": ["NOPE"]})
    assert unknown.status_code == 422 and "NOPE" in unknown.json()["error"]["message"]
    not_injection = api.post(f"/api/interfaces/{iid}/schedules", json={
        "function": "PUSH_CANCELLED", "launch": "MANUAL", "eventCodes": [event["code"]]})
    assert not_injection.status_code == 422
    assert api.post("/api/interfaces/999/schedules", json={"function": "PUSH_CANCELLED",
                                                           "launch": "MANUAL"}).status_code == 404
    assert api.get("/api/schedules/999").status_code == 404


def test_execution_counters_and_log(api: TestClient, engine: Engine) -> None:
    iid = created(api, "/api/interfaces", interface_body())["id"]
    sid = created(api, f"/api/interfaces/{iid}/schedules", {"function": "RETRIEVE_TICKET_STATUS",
                                                            "launch": "MANUAL"})["id"]
    with unit_of_work(engine) as conn:
        eid = start_execution(conn, sid, START).id
    running = api.get(f"/api/executions/{eid}").json()
    assert (running["status"], running["endedAt"], running["log"]) == ("RUNNING", None, [])
    with unit_of_work(engine) as conn:
        add_counts(conn, eid, {"records_read": 3, "skipped": 1, "lines_created": 2})
        add_counts(conn, eid, {"records_read": 2})
        append_log(conn, eid, [LogLine(LogLevel.INFO, "3 records read"),
                               LogLine(LogLevel.WARNING, "unknown ticket, skipped", "T-9")], START)
        finish_execution(conn, eid, ExecutionStatus.WARNING, START)
    execution = api.get(f"/api/executions/{eid}").json()
    assert execution["status"] == "WARNING" and execution["scheduleId"] == sid
    assert execution["function"] == "RETRIEVE_TICKET_STATUS"
    assert execution["startedAt"] == execution["endedAt"] == "2026-06-01T09:00:00.000Z"
    assert execution["counters"] == {"recordsRead": 5, "ticketsUpdated": 0, "contactsCreated": 0,
                                     "contactsCompleted": 0, "contactsRemoved": 0, "linesCreated": 2,
                                     "linesUpdated": 0, "skipped": 1, "failed": 0, "parked": 0}
    assert execution["log"] == [
        {"level": "INFO", "ticketNumber": None, "contactId": None, "message": "3 records read"},
        {"level": "WARNING", "ticketNumber": "T-9", "contactId": None, "message": "unknown ticket, skipped"}]
    page = api.get(f"/api/executions/{eid}/log", params={"limit": 1}).json()
    rest = api.get(f"/api/executions/{eid}/log", params={"cursor": page["nextCursor"]}).json()
    assert [x["message"] for x in page["items"] + rest["items"]] == ["3 records read", "unknown ticket, skipped"]
    assert api.get("/api/executions/999").status_code == 404


def test_typos_of_known_names_are_refused_and_invisible_characters_ignored(api: TestClient) -> None:
    """Section 5: a name within two edits of a known one is an error saying "did you mean"; a byte-order
    mark or zero-width character is removed before parsing."""
    text = "TIXNGO_LIFECYCLE_MODE=lifecycle\nenableTicketDistributionToCulturalContct=true\n" \
           "overlaySpectatirDetailsWithLastOwner=true\nsomethingElse=1"
    response = api.post("/api/interfaces", json=interface_body(customParameters=text))
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "INVALID_CUSTOM_PARAMETERS"
    assert [(e["line"], e["parameter"], e["value"], e["message"]) for e in error["details"]["errors"]] == [
        (2, "enableTicketDistributionToCulturalContct", "true",
         "'enableTicketDistributionToCulturalContct' (value 'true') is not a parameter: "
         "did you mean enableTicketDistributionToCulturalContact?"),
        (3, "overlaySpectatirDetailsWithLastOwner", "true",
         "'overlaySpectatirDetailsWithLastOwner' (value 'true') is not a parameter: "
         "did you mean overlaySpectatorDetailsWithLastOwner?")]
    assert api.get("/api/interfaces").json()["items"] == []

    text = "\ufeffTIXNGO_LIFECYCLE_MODE=lifecycle\r\nenableTicketDistribution\u200bToCulturalContact=true\r\n" \
           "overlaySpectatorDetailsWithLastOwner=true\u200b"
    interface = created(api, "/api/interfaces", interface_body(customParameters=text))
    assert interface["parameters"]["TIXNGO_LIFECYCLE_MODE"] == "lifecycle"
    assert interface["parameters"]["enableTicketDistributionToCulturalContact"] is True
    assert interface["parameters"]["overlaySpectatorDetailsWithLastOwner"] is True
    assert interface["warnings"] == []


def test_a_text_saved_before_near_misses_were_errors_fails_its_runs_naming_them(api: TestClient,
                                                                              engine: Engine) -> None:
    iid = created(api, "/api/interfaces", interface_body())["id"]
    feedback = created(api, f"/api/interfaces/{iid}/schedules", {"function": "RETRIEVE_TICKET_STATUS",
                                                                 "launch": "AUTOMATIC"})
    with unit_of_work(engine) as conn:  # as an older version saved it: the typo was only a warning
        conn.execute(update(interfaces).where(interfaces.c.id == iid).values(
            custom_parameters="TIXNGO_LIFECYCLE_MODE=lifecycle\nenableTicketDistributionToCulturalContct=true"))

    response = api.post(f"/api/schedules/{feedback['id']}/run")

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "INVALID_CUSTOM_PARAMETERS"
    [problem] = error["details"]["errors"]
    assert (problem["line"], problem["parameter"]) == (2, "enableTicketDistributionToCulturalContct")
    assert problem["message"].endswith("did you mean enableTicketDistributionToCulturalContact?")
    with unit_of_work(engine, write=False) as conn:
        assert conn.scalar(select(func.count()).select_from(executions)) == 0  # refused before it started
    # the scheduler keeps going: the schedule is still due (its runs fail, logged), others are not held up
    assert feedback["id"] in Scheduler(engine, TestClock(START)).due(START)
