"""O3: an execution's log says what it did, for every function, end to end over HTTP (both databases).

The records and keys read (one line), then one INFO line per contact created / completed / removed, line
confirmed / cancelled, ticket printed / deleted / controlled, naming tickets and contacts by number and id,
never by e-mail or name (section 10); past the cap, one line counts the rest.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support.feedback import (
    ANA,
    BOB,
    CARL,
    accept,
    act,
    api_contacts,
    api_execution,
    backoffice_client,
    functions,
    new_ticket,
    run_ok,
    send,
)
from tests.support.system import FEATURE, System
from tixtrace.backoffice.domain.executions import LogLevel
from tixtrace.backoffice.interfaces.tixngo import run as run_module


@pytest.fixture
def bo(system: System, operator_hash: str) -> Iterator[TestClient]:
    yield from backoffice_client(system, operator_hash)


def info(execution: dict[str, Any]) -> list[tuple[str | None, int | None, str]]:
    return [(line["ticketNumber"], line["contactId"], line["message"]) for line in execution["log"]
            if line["level"] == "INFO"]


def no_personal_data(execution: dict[str, Any]) -> None:
    for line in execution["log"]:
        assert "@" not in line["message"], line
        assert not {"Ana", "Lima", "Bob", "Carl", "Known"} & set(line["message"].split()), line


def test_feedback_logs_each_contact_and_line_with_ids(system: System, bo: TestClient) -> None:
    ana = system.contact(ANA)
    rejected, accepted = new_ticket(system, ana), new_ticket(system, ana)
    injection, feedback = functions(system)
    run_ok(system, injection)
    to_bob = send(system, ANA, rejected, BOB)
    to_carl = send(system, ANA, accepted, CARL)

    first = api_execution(bo, run_ok(system, feedback))

    [bob] = api_contacts(bo, BOB)
    [carl] = api_contacts(bo, CARL)
    lines = info(first)
    assert (rejected["number"], bob["id"], f"contact {bob['id']} created (temporary) as the recipient of "
                                            f"transfer {to_bob}") in lines
    assert (accepted["number"], carl["id"], f"contact {carl['id']} created (temporary) as the recipient of "
                                             f"transfer {to_carl}") in lines
    [read] = [message for _, _, message in lines if message.startswith("read ")]
    assert re.fullmatch(r"read \d+ record\(s\) in 1 page\(s\) of the wallet's feed \(recordIds 1 to \d+\); "
                        r"pagination key \(none: from the start\) -> \S+", read), read
    assert first["logCount"] == len(first["log"]) == 3

    act(system, BOB, to_bob, "reject")
    accept(system, CARL, to_carl, "Carl", "Known")
    system.wallet.open_tickets(CARL)  # W10: his profile comes with the DOWNLOADED record of his opening it
    second = api_execution(bo, run_ok(system, feedback))

    lines = info(second)
    assert (rejected["number"], None, f"line of transfer {to_bob} cancelled: REJECTED") in lines
    assert (rejected["number"], None, f"temporary contact {bob['id']} removed: transfer {to_bob} failed and "
                                      "nothing else holds it") in lines
    assert (accepted["number"], carl["id"], f"line of transfer {to_carl} confirmed (DISTRIBUTE): contact "
                                             f"{carl['id']} is the ticket's cultural contact and owner") in lines
    assert (accepted["number"], carl["id"], f"contact {carl['id']} completed from the wallet profile: no longer "
                                             "temporary, internet account") in lines
    counters = second["counters"]
    # lines updated: the two resolved, and the confirmed one again when Carl's opening completes him (W10)
    assert (counters["contactsRemoved"], counters["contactsCompleted"], counters["linesUpdated"]) == (1, 1, 3)
    for execution in (first, second):
        no_personal_data(execution)


def test_a_contact_created_and_removed_within_one_page_is_logged_without_an_id(system: System,
                                                                                bo: TestClient) -> None:
    ana = system.contact(ANA)
    ticket = new_ticket(system, ana)
    injection, feedback = functions(system)
    run_ok(system, injection)
    tid = send(system, ANA, ticket, BOB)
    act(system, BOB, tid, "reject")

    execution = api_execution(bo, run_ok(system, feedback))

    messages = [message for _, _, message in info(execution)]
    never = "a contact never stored (created and removed within the same page)"
    assert f"{never} created (temporary) as the recipient of transfer {tid}" in messages
    assert f"temporary {never} removed: transfer {tid} failed and nothing else holds it" in messages
    assert all(line["contactId"] is None for line in execution["log"])


def test_injection_logs_each_ticket_printed_then_one_line_counts_the_rest(system: System, bo: TestClient,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(run_module, "DETAIL_LINES", 2)
    ana = system.contact(ANA)
    tickets = [new_ticket(system, ana) for _ in range(5)]
    injection, _ = functions(system)

    execution = api_execution(bo, run_ok(system, injection))

    lines = info(execution)
    assert lines[:2] == [(t["number"], None, f"ticket {t['id']} printed: injected") for t in tickets[:2]]
    assert lines[2][2] == "selected 5 NOT_PRINTED ticket(s) of every event in 1 wallet call(s) of up to 1000"
    assert lines[3][2] == ("... and 3 more line(s) of what this execution did, not logged (the first 2 are; the "
                           "counters count everything)")
    assert execution["logCount"] == 4 and execution["counters"]["ticketsUpdated"] == 5


@pytest.mark.parametrize(("action", "function", "done_as", "statuses"), [
    pytest.param("cancel", "PUSH_CANCELLED", "deleted", "CANCELLED or INVALIDATED", id="cancelled"),
    pytest.param("control", "PUSH_CONTROLLED", "controlled", "CONTROLLED", id="controlled"),
])
def test_pushes_log_each_ticket_they_change_in_the_wallet(system: System, bo: TestClient, action: str,
                                                          function: str, done_as: str, statuses: str) -> None:
    ana = system.contact(ANA)
    pushed, kept = new_ticket(system, ana), new_ticket(system, ana)
    interface = system.interface(FEATURE)
    run_ok(system, system.schedule(interface, "TICKETS_INJECTION"))
    response = bo.post(f"/api/tickets/{pushed['id']}/{action}")
    assert response.status_code == 200, response.text

    execution = api_execution(bo, run_ok(system, system.schedule(interface, function)))

    assert info(execution) == [
        (pushed["number"], None, f"ticket {pushed['id']} {done_as} in the wallet"),
        (None, None, f"selected 1 injected {statuses} ticket(s) not yet {done_as} in the wallet, in 1 wallet "
                     "call(s) of up to 1000"),
    ]
    assert kept["number"] not in {line["ticketNumber"] for line in execution["log"]}


def test_the_cap_counts_only_what_was_done_and_a_rolled_back_page_gives_its_place_back(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(run_module, "DETAIL_LINES", 2)
    ctx = run_module.Run(*([None] * 8))  # type: ignore[arg-type]
    ctx.detail("a", "T1")
    before = ctx.report()
    ctx.detail("b", "T2")
    ctx.detail("c", "T3")
    ctx.restore(before)  # that page was rolled back: its lines, and their place under the cap, are gone
    ctx.detail("d", "T4", 7)
    ctx.detail("e", "T5")
    ctx.log(LogLevel.WARNING, "never dropped", "T6")
    ctx.close_log()
    assert [(line.level, line.message, line.ticket_number, line.contact_id) for line in ctx.lines] == [
        (LogLevel.INFO, "a", "T1", None), (LogLevel.INFO, "d", "T4", 7),
        (LogLevel.WARNING, "never dropped", "T6", None),
        (LogLevel.INFO, "... and 1 more line(s) of what this execution did, not logged (the first 2 are; the "
                        "counters count everything)", None, None),
    ]


def test_the_feedback_past_the_cap_counts_the_rest_in_one_line(system: System, bo: TestClient,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(run_module, "DETAIL_LINES", 1)
    ana = system.contact(ANA)
    first, second = new_ticket(system, ana), new_ticket(system, ana)
    injection, feedback = functions(system)
    run_ok(system, injection)
    send(system, ANA, first, BOB)
    send(system, ANA, second, CARL)

    execution = api_execution(bo, run_ok(system, feedback))

    messages = [message for _, _, message in info(execution)]
    assert [m for m in messages if " created (temporary) " in m] == [messages[0]]
    assert messages[-1].startswith("... and 1 more line(s) of what this execution did, not logged (the first 1 are")
    assert execution["counters"]["contactsCreated"] == 2
