"""What the system writes down carries no secrets and no personal data (DESIGN 10).

A realistic run of both services over HTTP (the `System` fixture: a wallet served by uvicorn, a back
office whose TIXNGO interface points at it, payload dumps on): injection, transfers to a known contact
and to unknown e-mails, accepted, rejected and timed out, a chain, feedback runs in between and at the
end, push cancelled and push controlled. Every Python log record of every logger (root, tixtrace,
uvicorn, httpx, httpcore ...) is captured at DEBUG, with tracebacks, and scanned along with the
executions' log lines. (SQLAlchemy's own loggers keep their WARNING level: see `captured`.)

- The interface password (the wallet API key; and a distinctive wrong one on a second interface whose
  run the wallet refuses, ending ERROR) appears nowhere: not in the log records, the execution logs, the
  payload dumps, nor in any response of a back-office GET route (API and screens, enumerated).
- No e-mail address and none of the people's names appear in the log records or execution log lines.
  The payload dumps are left out of that scan on purpose: they are the wallet exchanges themselves
  (spectator details included), a support feature off by default and bounded by
  maxLengthDumpedCallsInKbs (and erased with the contact, see services/contacts.py).
"""

from __future__ import annotations

import logging
import re
import smtplib
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select

from tests.support.backoffice import PASSWORD, START, USER
from tests.support.routes import BACKOFFICE_ROUTES, fill_path
from tests.support.system import FEATURE, System
from tests.support.wallet import ticket_payload
from tixtrace.backoffice.api import contacts as api_contacts
from tixtrace.backoffice.app import create_backoffice_app
from tixtrace.backoffice.db.tables import contact_emails, execution_logs, executions, users
from tixtrace.backoffice.domain.tickets import TicketAction
from tixtrace.backoffice.interfaces import notifications
from tixtrace.backoffice.interfaces.locks import run_locks
from tixtrace.backoffice.interfaces.runner import run_locks_of
from tixtrace.backoffice.interfaces.scheduler import Scheduler
from tixtrace.backoffice.interfaces.tixngo import feedback as feedback_function
from tixtrace.backoffice.services.interfaces import NewInterface, create_interface, interface_credentials
from tixtrace.backoffice.services.schedules import NewSchedule, create_schedule
from tixtrace.backoffice.services.tickets import apply_action
from tixtrace.kernel.clock import TestClock
from tixtrace.kernel.db import unit_of_work

#: people of the story: (first name, last name, e-mail); names unusual enough not to occur by chance
HOLDER = ("Quintessa", "Vorhaltova", "quintessa.vorhaltova@example.com")
KNOWN = ("Bartholo", "Mirandelli", "bartholo.mirandelli@example.net")
ACCEPTS = ("Cassiopeia", "Dunwoodyne", "cassiopeia.dunwoodyne@example.org")
REJECTS = ("Ermenegildo", "Fitzwarrenne", "ermenegildo.f@example.com")
SLEEPS = ("Gwendolyn", "Hardcastlowe", "g.hardcastlowe@example.com")
SECOND = ("Ysolde", "Kirkpatrickova", "ysolde.k@example.com")
NO_EMAIL = ("Octavian", "Pembertonne", None)  # a contact the wallet cannot take: the injection logs a refusal
ORPHAN = ("Philippa", "Quarrendon", "philippa.quarrendon@example.com")  # holds a ticket the back office lacks
SKIPPED = ("Rosalind", "Stavrakopoulou", "rosalind.s@example.com")  # gets a ticket of the skip list
PEOPLE = (HOLDER, KNOWN, ACCEPTS, REJECTS, SLEEPS, SECOND, NO_EMAIL, ORPHAN, SKIPPED)
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
DUMPS = "maxLengthDumpedCallsInKbs=1000"
WRONG_PASSWORD = "Zq8-distinctive-Passw0rd-never-shown"


class Capture(logging.Handler):
    """Keeps every record, formatted with its traceback, from every logger it is attached to."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []
        self.records: list[logging.LogRecord] = []  # kept alive, so their ids stay unique
        self._seen: set[int] = set()

    def emit(self, record: logging.LogRecord) -> None:
        if id(record) in self._seen:  # attached along a propagation path: keep each record once
            return
        self._seen.add(id(record))
        self.records.append(record)
        self.lines.append(self.format(record))


@pytest.fixture
def captured() -> Iterator[Capture]:
    """A handler on the root logger and on every logger that exists (some, like uvicorn's, do not
    propagate), all set to DEBUG for the test, then restored.

    Except SQLAlchemy's: they keep the level the library gives them (WARNING, whatever the root level).
    Lowering it is SQLAlchemy's ``echo``: a debugging switch that prints statements, parameters and rows,
    i.e. the data itself, like the payload dumps; nothing in tixtrace turns it on."""
    capture = Capture()
    loggers = [logging.getLogger()] + [logging.getLogger(name) for name in list(logging.root.manager.loggerDict)]
    for name in ("tixtrace", "uvicorn", "uvicorn.error", "uvicorn.access", "httpx", "httpcore", "sqlalchemy",
                 "fastapi", "starlette"):
        loggers.append(logging.getLogger(name))
    levels = [(logger, logger.level) for logger in loggers]
    for logger in loggers:
        logger.addHandler(capture)
        if not logger.name.startswith("sqlalchemy"):
            logger.setLevel(logging.DEBUG)
    yield capture
    for logger, level in levels:
        logger.removeHandler(capture)
        logger.setLevel(level)


def _story(both: System) -> dict[str, Any]:
    """The whole flow; returns the back office's ids and the ticket numbers."""
    wallet = both.wallet
    holder = both.contact(HOLDER[2], HOLDER[0], HOLDER[1])
    both.contact(KNOWN[2], KNOWN[0], KNOWN[1], has_internet_account=True)
    numbers = [both.ticket(holder)["number"] for _ in range(7)]
    t_known, t_accept, t_reject, t_sleep, t_cancel, t_control, t_skip = numbers
    refused = both.ticket(both.contact(None, NO_EMAIL[0], NO_EMAIL[1]))["number"]  # type: ignore[arg-type]
    interface = both.interface(FEATURE + "\n" + DUMPS)
    injection = both.schedule(interface, "TICKETS_INJECTION")
    feedback = both.schedule(interface, "RETRIEVE_TICKET_STATUS", skip_ticket_numbers=[t_skip])
    runs = [both.run(injection)]
    wallet.inject(ticket_payload("ORPHAN-1", ORPHAN[2], first=ORPHAN[0], last=ORPHAN[1]))

    def send(sender: str, number: str, recipient: str) -> str:
        response = wallet.transfer(sender, number, recipient)
        assert response.status_code == 201, response.text
        return str(response.json()["transferId"])

    def accept(person: tuple[str, str, str], transfer: str) -> None:
        wallet.profile(person[2], first=person[0], last=person[1])
        response = wallet.act(person[2], transfer, "accept")
        assert response.status_code == 200, response.text

    wallet.profile(HOLDER[2], first=HOLDER[0], last=HOLDER[1])
    accept(KNOWN, send(HOLDER[2], t_known, KNOWN[2]))  # to a contact the back office knows
    pending = send(HOLDER[2], t_accept, ACCEPTS[2])  # to an unknown e-mail: temporary contact, then accepted
    runs.append(both.run(feedback))
    accept(ACCEPTS, pending)
    accept(SECOND, send(ACCEPTS[2], t_accept, SECOND[2]))  # a chain
    rejected = send(HOLDER[2], t_reject, REJECTS[2])
    wallet.profile(REJECTS[2], first=REJECTS[0], last=REJECTS[1])
    assert wallet.act(REJECTS[2], rejected, "reject").status_code == 200
    send(HOLDER[2], t_sleep, SLEEPS[2])  # nobody answers: time-out
    send(HOLDER[2], t_skip, SKIPPED[2])
    runs.append(both.run(feedback))
    wallet.advance(3601)
    assert wallet.transfer(KNOWN[2], t_known, HOLDER[2]).status_code == 201  # BACKWARD, back to the holder
    with unit_of_work(both.engine) as conn:
        cancel_id = both.ticket_row(t_cancel)["id"]
        control_id = both.ticket_row(t_control)["id"]
        apply_action(conn, cancel_id, TicketAction.CANCEL, START, actor="test")
        apply_action(conn, control_id, TicketAction.CONTROL, START, actor="test")
    runs.append(both.run(both.schedule(interface, "PUSH_CANCELLED")))
    runs.append(both.run(both.schedule(interface, "PUSH_CONTROLLED")))
    runs.append(both.run(feedback))
    with unit_of_work(both.engine) as conn:  # an interface whose password the wallet refuses: a run ending ERROR
        wrong = create_interface(conn, NewInterface("wrong key", "TIXNGO", f"{both.base_url}/organizer/tickets",
                                                    both.wallet.auth[0], WRONG_PASSWORD, [], FEATURE + "\n" + DUMPS),
                                 START, actor="test").id
    failed = both.run(both.schedule(wrong, "RETRIEVE_TICKET_STATUS"))
    assert failed["status"] == "ERROR"
    assert [run["status"] for run in runs] == ["WARNING"] + ["OK"] * (len(runs) - 1), runs  # the refusal
    assert both.ticket_row(refused)["status"] == "NOT_PRINTED"
    # the story happened as told
    assert both.ticket_row(t_accept)["cultural_contact_id"] == both.contacts_of(SECOND[2])[0]["id"]
    assert [line["status"] for line in both.lines(t_reject)] == ["CANCELLED"]
    assert [line["reason"] for line in both.lines(t_sleep)] == ["TIMEOUT"]
    assert both.contacts_of(REJECTS[2]) == [] and both.contacts_of(SLEEPS[2]) == []
    assert wallet.detail(t_control)["status"] == "CONTROLLED"
    assert wallet.detail(t_cancel)["status"] in ("DELETED", "DELETION_PENDING")
    return {"interface": interface, "feedback": feedback, "executions": [run["id"] for run in [*runs, failed]],
            "holder": holder, "ticket": cancel_id, "numbers": numbers}


def _execution_texts(both: System) -> tuple[list[str], list[str]]:
    """(every execution log line, every execution's payload dump)."""
    with unit_of_work(both.engine, write=False) as conn:
        lines = [str(row.message) for row in conn.execute(select(execution_logs.c.message))]
        dumps = [str(text) for text in conn.scalars(select(executions.c.dumped_calls)) if text]
    return lines, dumps


def test_logs_carry_no_email_and_no_name_and_nothing_carries_the_interface_password(
        system: System, captured: Capture, operator_hash: str) -> None:  # noqa: F811
    """The run above, scanned: log records and execution log lines hold no e-mail address and none of
    the names; the interface password is in no log record, execution log, payload dump, API response
    or screen of the back office."""
    ids = _story(system)
    password = system.wallet.auth[1]
    assert len(password) >= 20  # a random API key: it cannot occur by chance
    log_lines, dumps = _execution_texts(system)
    assert len(captured.lines) > 0 and len(log_lines) > 0
    assert dumps and any(HOLDER[2] in dump for dump in dumps)  # the dumps were on (and are excluded below)

    leaks = []
    for source, texts in (("python log", captured.lines), ("execution log", log_lines)):
        for text in texts:
            for found in EMAIL.findall(text):
                leaks.append((source, "e-mail", found, text[:300]))
            for person in PEOPLE:
                for name in person[:2]:
                    assert name is not None
                    if name.casefold() in text.casefold():
                        leaks.append((source, "name", name, text[:300]))
    assert leaks == []

    # the password, now also in everything the back office shows to its users
    with unit_of_work(system.engine) as conn:
        conn.execute(insert(users).values(name=USER, password_hash=operator_hash, created_at=START))
    shown = _every_backoffice_get(system, ids)
    assert len(shown) >= 20
    secret_leaks = [source for source, text in [*(("python log", line) for line in captured.lines),
                                                 *(("execution log", line) for line in log_lines),
                                                 *(("dump", dump) for dump in dumps), *shown]
                    if password in text or WRONG_PASSWORD in text]
    assert secret_leaks == []


def _every_backoffice_get(both: System, ids: dict[str, Any]) -> list[tuple[str, str]]:
    """(path, body) of every GET route of the back office (the API with HTTP Basic, the screens with a
    session), path parameters filled with the story's ids, plus the API's lists and interface edits."""
    app = create_backoffice_app(both.engine, TestClock(START))
    values = {"contact_id": str(ids["holder"]), "ticket_id": str(ids["ticket"]), "interface_id": str(ids["interface"]),
              "schedule_id": str(ids["feedback"]), "execution_id": str(ids["executions"][-1]), "event_id": "1",
              "tab": "mobile"}
    shown: list[tuple[str, str]] = []
    with TestClient(app, raise_server_exceptions=False) as client:
        page = client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token is not None
        signed = client.post("/login", data={"csrf_token": token.group(1), "user": USER, "password": PASSWORD},
                             follow_redirects=False)
        assert signed.status_code == 303
        paths = [fill_path(template, values) for (method, template), kind in BACKOFFICE_ROUTES
                 if method == "GET" and kind in ("api", "screen", "public")]
        paths += [f"/executions/{execution}" for execution in ids["executions"]]
        paths += [f"/api/executions/{execution}" for execution in ids["executions"]]
        paths += [f"/api/executions/{execution}/log" for execution in ids["executions"]]
        paths += [f"/tickets/{ids['ticket']}/tabs/{tab}" for tab in ("general", "mobile", "distribution")]
        paths += ["/interfaces/new", f"/interfaces/{ids['interface']}?edit=1"]
        for path in paths:
            auth = (USER, PASSWORD) if path.startswith("/api/") or path == "/metrics" else None
            response = client.get(path, auth=auth)
            assert response.status_code < 500, (path, response.text[:300])
            shown.append((path, response.text))
    interface_page = dict(shown)[f"/interfaces/{ids['interface']}"]
    assert "password" in interface_page.casefold()  # the screen has a password field, left empty
    return shown


def test_an_unexpected_database_error_is_logged_without_the_data_it_carries(
        system: System, captured: Capture, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    """A bug that makes the feedback's write fail with a real IntegrityError, whose SQL parameters (and,
    on PostgreSQL, DETAIL line) hold an e-mail: the run ends ERROR with the error's type in its log, the
    failure is logged with its traceback, and neither the Python log nor the execution log holds the
    e-mail."""
    holder = system.contact(HOLDER[2], HOLDER[0], HOLDER[1])
    number = system.ticket(holder)["number"]
    interface = system.interface(FEATURE)
    assert system.run(system.schedule(interface, "TICKETS_INJECTION"))["status"] == "OK"
    assert system.wallet.transfer(HOLDER[2], number, KNOWN[2]).status_code == 201
    real = feedback_function.write_fold

    def broken(conn: Any, fold: Any, now: Any) -> None:
        for _ in range(2):  # the same claim twice: a unique violation, whatever the first finds
            conn.execute(insert(contact_emails).values(email_key=KNOWN[2], contact_id=holder, created_at=now))
        real(conn, fold, now)

    monkeypatch.setattr(feedback_function, "write_fold", broken)
    failed = system.run(system.schedule(interface, "RETRIEVE_TICKET_STATUS"))
    assert failed["status"] == "ERROR"
    log_lines, _ = _execution_texts(system)
    kinds = ("IntegrityError", "UniqueViolation")  # SQLite's driver error, psycopg's
    assert any(kind in line for line in log_lines for kind in kinds)
    failure = [line for line in captured.lines if "Traceback" in line and any(kind in line for kind in kinds)]
    assert failure, "the unexpected failure is logged with its traceback"
    leaks = [text for text in [*captured.lines, *log_lines] if EMAIL.search(text)]
    assert leaks == []


def test_a_refused_automatic_start_is_logged_without_the_organizer_login(
        system: System, captured: Capture) -> None:  # noqa: F811
    """The scheduler finds a due feedback whose wallet organizer already has a feedback running (another
    process holds the organizer's run lock): the start is refused, recording nothing, and logged (at
    DEBUG: schedulers sharing a database skip each other's schedules all day) naming the schedule, not
    the organizer's login e-mail that the refusal's message (shown to the operator by the API) carries."""
    interface = system.interface(FEATURE)
    with unit_of_work(system.engine) as conn:
        schedule = create_schedule(conn, interface, NewSchedule("RETRIEVE_TICKET_STATUS", "AUTOMATIC",
                                                                frequency_minutes=5), START, actor="test")
        credentials = interface_credentials(conn, interface)
    scheduler = Scheduler(system.engine, TestClock(START))
    organizer_lock = run_locks_of(schedule, credentials)[:1]
    with run_locks(system.engine, organizer_lock):  # another feedback of the organizer, in another process
        assert scheduler.tick() == [schedule.id]
        for thread in list(scheduler._running.values()):
            thread.join(timeout=60)
    refused = [line for line in captured.lines if f"schedule {schedule.id} skipped" in line]
    assert refused, captured.lines[-5:]
    assert [line for line in captured.lines if EMAIL.search(line)] == []


def test_a_failed_error_notification_is_logged_without_the_addresses(
        captured: Capture, monkeypatch: pytest.MonkeyPatch) -> None:
    """The SMTP server refuses the notification's recipients (SMTPRecipientsRefused, whose text lists
    them): the failure is logged with the execution id and the error's kind, not the addresses."""
    recipients = ["ops.quintessa@organizer.example", "night.desk@organizer.example"]

    class RefusingSmtp:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            pass

        def __enter__(self) -> RefusingSmtp:
            return self

        def __exit__(self, *args: Any) -> None:
            return None

        def send_message(self, message: Any) -> None:
            raise smtplib.SMTPRecipientsRefused({address: (550, b"5.1.1 " + address.encode() + b" unknown")
                                                 for address in recipients})

    monkeypatch.setenv("TIXTRACE_SMTP_HOST", "smtp.invalid")
    monkeypatch.setattr(notifications.smtplib, "SMTP", RefusingSmtp)
    view = SimpleNamespace(execution=SimpleNamespace(id=41, schedule_id=7, function="RETRIEVE_TICKET_STATUS",
                                                     ended_at=START),
                           log=[SimpleNamespace(level="ERROR", message="the wallet refused")])
    interface = SimpleNamespace(name="tixngo", notification_emails=recipients)
    assert notifications.notify_error(interface, view) is False  # type: ignore[arg-type]
    failure = [line for line in captured.lines if "execution 41" in line]
    assert failure and "SMTPRecipientsRefused" in failure[0]
    assert [line for line in captured.lines if EMAIL.search(line)] == []


def test_an_api_error_500_is_logged_without_the_data_it_carries(
        system: System, captured: Capture, monkeypatch: pytest.MonkeyPatch, operator_hash: str) -> None:  # noqa: F811
    """A bug turns POST /api/contacts into a database error whose text holds the new contact's e-mail:
    the answer is the 500 envelope, and the logged failure (with its traceback) does not hold it."""
    with unit_of_work(system.engine) as conn:
        conn.execute(insert(users).values(name=USER, password_hash=operator_hash, created_at=START))

    def broken(conn: Any, new: Any, now: Any) -> Any:
        for _ in range(2):  # a unique violation carrying the e-mail in its parameters
            conn.execute(insert(contact_emails).values(email_key=new.email, contact_id=1, created_at=now))
        raise AssertionError("unreachable")

    holder = system.contact(HOLDER[2], HOLDER[0], HOLDER[1])
    assert holder == 1
    monkeypatch.setattr(api_contacts, "create_contact", broken)
    app = create_backoffice_app(system.engine, TestClock(START))
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.post("/api/contacts", auth=(USER, PASSWORD), json={
            "kind": "INDIVIDUAL", "firstName": ACCEPTS[0], "lastName": ACCEPTS[1], "email": ACCEPTS[2],
            "hasInternetAccount": False})
    assert response.status_code == 500 and response.json()["error"]["code"] == "INTERNAL_ERROR"
    assert ACCEPTS[2] not in response.text
    failure = [line for line in captured.lines if "Traceback" in line]
    assert failure, "the failure is logged with its traceback"
    assert [line for line in captured.lines if EMAIL.search(line) or ACCEPTS[1] in line] == []
