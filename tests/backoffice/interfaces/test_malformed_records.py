"""Malformed records in the diff feed never crash the feedback (DESIGN sections 6 and 10, F8).

The real wallet serves its sound feed over HTTP and a transport rewrites records on their way to the
back office (the wallet never serves a malformed record itself). Scenario: Ana has one ticket per
malformation; each goes to its own recipient, who accepts; the feed is every INJECTED record, then per
ticket its PENDING_TRANSFER and TRANSFERRED records; each ticket's PENDING_TRANSFER record is spoiled
in its own way. One scenario per mode keeps the module fast; each malformation is checked in its own
subtest, so a report names the malformation that is mishandled.

- doContinueInCaseOfSyncError=true: one run parks every spoiled record with the later record of its
  ticket, one WARNING per record naming it and what is wrong; the sound records go through and the
  pagination key reaches the end: WARNING.
- false: the run stops just before the first spoiled record with an ERROR naming it, keeping the work
  before it, keeping the spoiled record (ahead of the feed, for a fixed version to replace), not
  moving the key: ERROR; once that record comes sound, the next run goes on up to the next spoiled
  one, and so on.
- the same records in a "file to upload" (API) are processed as the feed's (section 6): with
  doContinueInCaseOfSyncError=true each spoiled record is parked with the later record of its ticket
  and every other record of the file is applied (WARNING); false stops before the first (ERROR).
A record for a ticket the back office does not know is not malformed: skipped and logged (F8).
No log line ever carries the e-mail addresses of the records (DESIGN section 10).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.support.feedback import (
    ANA,
    BOB,
    CARL,
    accept,
    api_execution,
    api_history,
    api_ticket,
    backoffice_client,
    functions,
    log_of,
    new_ticket,
    parked,
    record_of,
    run_ok,
    run_via,
    schedule_row,
    send,
    two_transfers,
)
from tests.support.system import FEATURE, System
from tixtrace.backoffice.interfaces.runner import run_schedule

CONTINUE = f"{FEATURE}\ndoContinueInCaseOfSyncError=true"



@pytest.fixture
def bo(system: System, operator_hash: str) -> Iterator[TestClient]:
    yield from backoffice_client(system, operator_hash)


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], Any]:
    """A rewrite setting ``a__b__c`` to `value` in a copy of the record."""
    def rewrite(record: dict[str, Any]) -> Any:
        record = json.loads(json.dumps(record))
        *parents, leaf = path.split("__")
        target = record
        for parent in parents:
            target = target[parent]
        target[leaf] = value
        return record
    return rewrite


def _drop(key: str) -> Callable[[dict[str, Any]], Any]:
    def rewrite(record: dict[str, Any]) -> Any:
        return {k: v for k, v in record.items() if k != key}
    return rewrite


@dataclass(frozen=True)
class Malformation:
    rewrite: Callable[[dict[str, Any]], Any]
    says: str  # what the log line must name
    parked_behind: bool = True  # the ticket's later record is parked behind it (its ticket is known)


MALFORMATIONS = {
    # bad e-mails
    "recipient e-mail not an address": Malformation(_set("transfer__recipient__email", "bob-at-example"),
                                                    "transfer.recipient.email"),
    "recipient e-mail blank": Malformation(_set("transfer__recipient__email", "  "), "transfer.recipient.email"),
    "recipient e-mail with a zero-width space (C1)": Malformation(
        _set("transfer__recipient__email", "bob\u200b@example.com"), "transfer.recipient.email"),
    "wallet owner e-mail missing": Malformation(_set("walletOwner__email", None), "walletOwner.email"),
    # unknown values
    "unknown status": Malformation(_set("status", "TELEPORTED"), "status 'TELEPORTED' is not a lifecycle status"),
    "unknown direction": Malformation(_set("transfer__direction", "SIDEWAYS"), "transfer.direction 'SIDEWAYS'"),
    "occurredAt not a time": Malformation(_set("occurredAt", "yesterday"), "occurredAt 'yesterday'"),
    "birth date not a date": Malformation(_set("transfer__recipient__dateOfBirth", "1990-02-30"), "dateOfBirth"),
    # missing fields
    "occurredAt missing": Malformation(_drop("occurredAt"), "occurredAt is missing"),
    "status missing": Malformation(_drop("status"), "status is missing"),
    "transfer missing": Malformation(_set("transfer", None), "must carry its transfer"),
    "transfer id missing": Malformation(_set("transfer__transferId", None), "transfer.transferId is missing"),
    "recipient missing": Malformation(_set("transfer__recipient", None), "transfer.recipient is missing"),
    # wrong types
    "ticketId a number": Malformation(_set("ticketId", 12), "ticketId is missing or not a str",
                                      parked_behind=False),
    "occurredAt a number": Malformation(_set("occurredAt", 1780000000), "occurredAt is missing or not a time"),
    "wallet owner a text": Malformation(_set("walletOwner", "ana"), "walletOwner is missing or not an object"),
    "ticket holder a list": Malformation(_set("ticketHolder", ["Ana"]), "ticketHolder is not an object"),
    "transfer a text": Malformation(_set("transfer", "t-1"), "transfer is not an object"),
    "first name a number": Malformation(_set("transfer__recipient__firstName", 42), "firstName must be text"),
    "consent not a boolean": Malformation(
        _set("transfer__recipient__organizerSpectatorPreference", {"allowPromoEmail": "yes"}), "allowPromoEmail"),
}


class Replacing(httpx.BaseTransport):
    """A real transport to the live wallet that passes the diff pages' records through their rewrite."""

    def __init__(self, rewrites: dict[int, Callable[[dict[str, Any]], Any]]) -> None:
        self.inner = httpx.HTTPTransport()
        self.rewrites = rewrites  # recordId → rewrite; a record left out comes as the wallet sent it

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if not request.url.path.endswith("/diff") or response.status_code != 200:
            return response
        body = json.loads(response.read())
        response.close()
        body["records"] = [self.rewrites[r["recordId"]](r) if r["recordId"] in self.rewrites else r
                           for r in body["records"]]
        return httpx.Response(200, json=body)

    def close(self) -> None:
        self.inner.close()


@dataclass
class Scene:
    """One ticket per malformation, each sent by Ana to its own recipient who accepted."""

    feedback: int
    tickets: dict[str, dict[str, Any]]  # malformation → ticket
    bad: dict[str, dict[str, Any]]  # malformation → its ticket's PENDING_TRANSFER record (sound)
    behind: dict[str, dict[str, Any]]  # malformation → its ticket's TRANSFERRED record
    emails: list[str]

    def rewrites(self, cases: list[str] | None = None) -> dict[int, Callable[[dict[str, Any]], Any]]:
        return {self.bad[case]["recordId"]: MALFORMATIONS[case].rewrite for case in (cases or MALFORMATIONS)}

    def no_personal_data(self, execution: dict[str, Any]) -> None:
        for line in execution["log"]:
            assert not any(email in line["message"].lower() for email in self.emails), line


def scene(system: System, parameters: str) -> Scene:
    ana = system.contact(ANA)
    cases = list(MALFORMATIONS)
    tickets = {case: new_ticket(system, ana) for case in cases}
    injection, feedback = functions(system, parameters)
    run_ok(system, injection)
    emails = [ANA]
    for index, case in enumerate(cases):
        recipient = f"r{index}@example.com"
        emails.append(recipient)
        accept(system, recipient, send(system, ANA, tickets[case], recipient), f"R{index}", "Person")
    records = system.wallet.all_records()
    by_ticket: dict[str, dict[str, dict[str, Any]]] = {}
    for record in records:
        by_ticket.setdefault(record["ticketId"], {})[record["status"]] = record
    return Scene(feedback, tickets, {case: by_ticket[tickets[case]["number"]]["PENDING_TRANSFER"] for case in cases},
                 {case: by_ticket[tickets[case]["number"]]["TRANSFERRED"] for case in cases}, emails)


def test_continue_parks_each_malformed_record_and_goes_on(system: System, bo: TestClient, subtests: Any) -> None:
    """doContinueInCaseOfSyncError=true: every spoiled record is parked (with the later record of its
    ticket), one WARNING per record names it and the fault, nothing of its ticket is applied after it,
    the run goes on to the end of the feed and ends WARNING; never a crash."""
    scene_ = scene(system, CONTINUE)

    execution = api_execution(bo, run_via(system, scene_.feedback, Replacing(scene_.rewrites()), "WARNING"))

    scene_.no_personal_data(execution)
    assert log_of(execution, "ERROR") == [] and execution["counters"]["failed"] == 0
    warnings = {line["message"].split(" ")[1]: line for line in log_of(execution, "WARNING")}
    stored = {p["record_id"]: p for p in parked(system)}
    behind_parked = sum(malformation.parked_behind for malformation in MALFORMATIONS.values())
    assert execution["counters"]["parked"] == len(MALFORMATIONS) + behind_parked == len(stored)
    for case, malformation in MALFORMATIONS.items():
        with subtests.test(msg=case):
            bad, ticket = scene_.bad[case], scene_.tickets[case]
            warning = warnings[str(bad["recordId"])]
            assert warning["message"].startswith(f"record {bad['recordId']} parked: "), warning
            assert malformation.says in warning["message"], warning
            assert malformation.says in stored[bad["recordId"]]["error"]
            if malformation.parked_behind:
                assert warning["ticketNumber"] == ticket["number"]
                assert "parked behind" in stored[scene_.behind[case]["recordId"]]["error"]
                assert api_history(bo, ticket) == [] and api_ticket(bo, ticket)["mobileStatus"] == "INJECTED"
            else:  # its ticket cannot be read off it: the ticket's later record applies on its own
                assert scene_.behind[case]["recordId"] not in stored
                assert [line["status"] for line in api_history(bo, ticket)] == ["CONFIRMED"]
    assert schedule_row(system, scene_.feedback)["pagination_key"] == system.wallet.diff()["paginationKey"]


def test_stop_ends_error_just_before_each_malformed_record(system: System, bo: TestClient, subtests: Any) -> None:
    """doContinueInCaseOfSyncError=false: each run stops just before the next spoiled record with an
    ERROR naming it and the fault, keeps the work before it and the spoiled record (ahead of the feed),
    and leaves the key; once the record comes sound the next run applies it and stops at the
    following one."""
    scene_ = scene(system, FEATURE)
    rewrites = scene_.rewrites()
    cases = list(MALFORMATIONS)
    for index, case in enumerate(cases):
        with subtests.test(msg=case):
            bad, ticket = scene_.bad[case], scene_.tickets[case]
            execution = api_execution(bo, run_via(system, scene_.feedback, Replacing(rewrites), "ERROR"))
            scene_.no_personal_data(execution)
            [error] = log_of(execution, "ERROR")
            assert error["message"].startswith(f"record {bad['recordId']}: "), error
            assert malformation_says(case) in error["message"] and "stops before it" in error["message"], error
            assert execution["counters"]["failed"] == 1 and execution["counters"]["parked"] == 0
            # before it: every INJECTED record (first run), or the record healed last and the one behind it
            assert execution["counters"]["recordsRead"] == (len(cases) if index == 0 else 2)
            assert [p["record_id"] for p in parked(system)] == [bad["recordId"]] and api_history(bo, ticket) == []
            assert api_ticket(bo, ticket)["mobileStatus"] == "INJECTED"
            if index:
                assert [line["status"] for line in api_history(bo, scene_.tickets[cases[index - 1]])] == ["CONFIRMED"]
            assert schedule_row(system, scene_.feedback)["pagination_key"] in (None, "")
        del rewrites[bad["recordId"]]  # the record comes sound from now on
    run_ok(system, scene_.feedback)
    assert all([line["status"] for line in api_history(bo, ticket)] == ["CONFIRMED"]
               for ticket in scene_.tickets.values())


def malformation_says(case: str) -> str:
    return MALFORMATIONS[case].says


def test_malformed_records_in_a_file_to_upload_are_parked_like_the_feeds(system: System, bo: TestClient,
                                                                         subtests: Any) -> None:
    """File to upload (POST /api/schedules/{id}/upload), doContinueInCaseOfSyncError=true: each
    spoiled record is parked with a WARNING naming it and the fault, with the later record of its
    ticket behind it (section 6), every other record of the file is applied; the key does not move.
    The feed then reaches the parked records and applies the wallet's sound versions in order."""
    scene_ = scene(system, CONTINUE)
    rewrites = scene_.rewrites()
    records = [rewrites[r["recordId"]](r) if r["recordId"] in rewrites else r for r in system.wallet.all_records()]

    response = bo.post(f"/api/schedules/{scene_.feedback}/upload", json={"records": records})

    assert response.status_code == 200, response.text
    execution = response.json()
    assert execution["status"] == "WARNING"
    scene_.no_personal_data(execution)
    warnings = {line["message"].split(" ")[1]: line for line in log_of(execution, "WARNING")}
    stored = {p["record_id"]: p for p in parked(system)}
    assert execution["counters"]["failed"] == 0 and log_of(execution, "ERROR") == []
    for case, malformation in MALFORMATIONS.items():
        with subtests.test(msg=case):
            bad, ticket = scene_.bad[case], scene_.tickets[case]
            warning = warnings[str(bad["recordId"])]
            assert warning["message"].startswith(f"record {bad['recordId']} parked: "), warning
            assert malformation.says in warning["message"], warning
            if malformation.parked_behind:  # nothing of its ticket after it: no line from TRANSFERRED alone
                assert scene_.behind[case]["recordId"] in stored and api_history(bo, ticket) == []
            else:
                assert [line["status"] for line in api_history(bo, ticket)] == ["CONFIRMED"]
    assert schedule_row(system, scene_.feedback)["pagination_key"] in (None, "")

    run_ok(system, scene_.feedback)  # the feed brings the sound records: each ticket's, in order

    assert parked(system) == []
    for case, ticket in scene_.tickets.items():
        [line] = api_history(bo, ticket)
        assert line["status"] == "CONFIRMED", case
        if MALFORMATIONS[case].parked_behind:  # opened by its PENDING record, not by the TRANSFERRED alone
            [row] = system.lines(ticket["number"])
            assert row["opened_record_id"] == scene_.bad[case]["recordId"], case
            # W10: the recipients accepted without opening their tickets: an e-mail only, still temporary
            assert line["contactMatch"] == "CREATED_TEMPORARY", case


def test_a_file_to_upload_stops_before_its_first_malformed_record(system: System, bo: TestClient) -> None:
    """doContinueInCaseOfSyncError=false: the file stops before its first spoiled record (ERROR naming
    it), keeping what came before it; nothing is parked; the key does not move."""
    scene_ = scene(system, FEATURE)
    rewrites = scene_.rewrites()
    records = [rewrites[r["recordId"]](r) if r["recordId"] in rewrites else r for r in system.wallet.all_records()]
    first_bad = min(rewrites)

    response = bo.post(f"/api/schedules/{scene_.feedback}/upload", json={"records": records})

    assert response.status_code == 200, response.text
    execution = response.json()
    assert execution["status"] == "ERROR" and execution["counters"]["failed"] == 1
    [error] = log_of(execution, "ERROR")
    assert error["message"].startswith(f"record {first_bad} of the file: ") and "stops before it" in error["message"]
    assert execution["counters"]["recordsRead"] == len([r for r in records if r["recordId"] < first_bad])
    assert parked(system) == [] and all(api_history(bo, ticket) == [] for ticket in scene_.tickets.values())
    assert schedule_row(system, scene_.feedback)["pagination_key"] in (None, "")


@pytest.mark.parametrize("parameters", [FEATURE, CONTINUE], ids=["stop", "continue"])
def test_a_record_of_an_unknown_ticket_is_skipped_and_logged(system: System, bo: TestClient,
                                                             parameters: str) -> None:
    """F8: a sound record for a ticket the back office does not know is skipped with an INFO line
    naming the record and the ticket, whatever doContinueInCaseOfSyncError says; the run ends OK."""
    first, second, feedback = two_transfers(system, parameters)
    bad = record_of(system, first, "PENDING_TRANSFER")

    execution = api_execution(bo, run_via(system, feedback, Replacing({bad["recordId"]:
                                                                       _set("ticketId", "NO-SUCH-TICKET")}), "OK"))

    [info] = [line for line in log_of(execution, "INFO") if line["ticketNumber"] == "NO-SUCH-TICKET"]
    assert info["message"] == f"record {bad['recordId']} skipped: ticket unknown to the back office"
    assert execution["counters"]["failed"] == execution["counters"]["parked"] == 0
    assert execution["counters"]["skipped"] == 1 and parked(system) == []
    assert all(BOB not in line["message"] and CARL not in line["message"] for line in execution["log"])
    assert [line["status"] for line in api_history(bo, first)] == ["CONFIRMED"]  # from its TRANSFERRED record
    assert [line["status"] for line in api_history(bo, second)] == ["CONFIRMED"]


def test_a_record_that_cannot_be_parked_does_not_end_ok(system: System, bo: TestClient) -> None:
    """doContinueInCaseOfSyncError=true and a record whose recordId is not a number: it cannot be parked
    (parked records are ordered by it), so it is dropped with an ERROR line and counted failed; the run
    goes on, but an execution that lost a record must not end OK."""
    first, second, feedback = two_transfers(system, CONTINUE)
    bad = record_of(system, first, "PENDING_TRANSFER")
    transport = Replacing({bad["recordId"]: _set("recordId", str(bad["recordId"]))})

    execution = asdict(run_schedule(system.engine, feedback, clock=system.clock, transport=transport,
                                    client_options={"backoff_seconds": 0.01}))

    [error] = log_of(api_execution(bo, execution), "ERROR")
    assert "without a usable recordId was dropped" in error["message"]
    assert [line["status"] for line in api_history(bo, second)] == ["CONFIRMED"]
    assert execution["status"] != "OK"
