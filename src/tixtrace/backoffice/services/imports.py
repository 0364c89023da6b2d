"""CSV import of events, contacts and tickets: all or nothing per file, with a report of every bad row.

A file is read twice. The first pass checks every row (the same checks as the API, plus duplicates
inside the file and clashes with the database) in a read transaction and collects every problem with
its line number; if there is any, nothing is written. Otherwise the second pass checks again, chunk by
chunk, and inserts in one write transaction: a clash that appeared meanwhile (another writer) rolls
the whole file back. Memory stays flat in the file size except for the keys checked for duplicates.

Files are UTF-8 (a BOM is accepted), comma-separated, with a header row naming the columns (the API's
field names); blank cells are "unknown". Unknown or missing required columns refuse the whole file.
Line numbers count the header as line 1.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, insert, select
from sqlalchemy.exc import IntegrityError

from tixtrace.backoffice.db.tables import contacts, events, tickets
from tixtrace.backoffice.domain.contacts import ContactKind
from tixtrace.backoffice.services.contacts import NewContact, contact_values
from tixtrace.backoffice.services.events import NewEvent, event_values
from tixtrace.backoffice.services.tickets import NewTicket, finish_values, ticket_values
from tixtrace.backoffice.services.validation import Checker, parse_bool, parse_date, parse_datetime
from tixtrace.kernel.clock import as_utc
from tixtrace.kernel.db import unit_of_work

CHUNK = 1000


class ImportKind(StrEnum):
    EVENTS = "events"
    CONTACTS = "contacts"
    TICKETS = "tickets"


#: kind -> (required columns, optional columns); documented in ``tixtrace backoffice import --help``
COLUMNS: dict[ImportKind, tuple[tuple[str, ...], tuple[str, ...]]] = {
    ImportKind.EVENTS: (("code", "name", "startTime", "venueSite", "venueCity", "venueZip", "venueCountryCode"),
                        ("endTime", "maxTransfers")),
    ImportKind.CONTACTS: (("kind", "lastName"),
                          ("reference", "title", "firstName", "email", "phone", "mobilePhone", "birthDate",
                           "nationality", "idNumber", "country", "language", "allowPromoEmail",
                           "allowThirdPartyEmail", "hasInternetAccount")),
    ImportKind.TICKETS: (("eventCode", "culturalContactReference"),
                         ("number", "buyerContactReference", "ownerContactReference", "seat", "price",
                          "currency", "barcode", "fileNumber")),
}


@dataclass(frozen=True)
class RowProblem:
    line: int
    messages: list[str]


@dataclass
class ImportReport:
    kind: ImportKind
    path: Path
    rows: int = 0
    written: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    file_error: str | None = None

    @property
    def ok(self) -> bool:
        return self.file_error is None and not self.problems


Progress = Callable[[str, int], None]
"""Called with (phase "check" | "write", rows done so far)."""


class _FileRefused(Exception):
    """The file as a whole is unusable (encoding, header, CSV syntax)."""


class _Refused(Exception):
    def __init__(self, problems: list[RowProblem]) -> None:
        super().__init__(f"{len(problems)} bad rows")
        self.problems = problems


@dataclass
class _Row:
    line: int
    cells: dict[str, str]
    checker: Checker = field(default_factory=Checker)
    values: dict[str, Any] = field(default_factory=dict)

    def cell(self, name: str) -> str | None:
        value = self.cells.get(name)
        return value if value is not None and value.strip() != "" else None


def count_rows(path: Path) -> int:
    """Physical lines after the header (the progress total; exact unless cells hold line breaks)."""
    lines = 0
    last = b"\n"
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    if last != b"\n":
        lines += 1
    return max(lines - 1, 0)


def _read(path: Path, kind: ImportKind) -> Iterator[_Row]:
    """Rows of the file; raises _FileRefused with the reason when the file itself is unusable."""
    required, optional = COLUMNS[kind]
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle, strict=True)  # strict: a quote never closed is an error, not one huge cell
        try:
            header = next(reader, None)
        except UnicodeDecodeError:
            raise _FileRefused("the file is not UTF-8 text") from None
        if header is None or not any(cell.strip() for cell in header):
            raise _FileRefused("the file is empty: its first line must name the columns")
        names = [cell.strip() for cell in header]
        problems = []
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            problems.append(f"columns named twice: {', '.join(duplicates)}")
        unknown = [n for n in names if n not in required and n not in optional]
        if unknown:
            problems.append(f"unknown columns: {', '.join(unknown)} (allowed: {', '.join(required + optional)})")
        missing = [n for n in required if n not in names]
        if missing:
            problems.append(f"missing required columns: {', '.join(missing)}")
        if problems:
            raise _FileRefused("; ".join(problems))
        while True:
            start = reader.line_num + 1  # the line the next row starts on
            try:
                cells = next(reader)
            except StopIteration:
                return
            except UnicodeDecodeError:
                raise _FileRefused(f"the file is not UTF-8 text (after line {reader.line_num})") from None
            except csv.Error as exc:
                if "unexpected end of data" in str(exc):
                    raise _FileRefused(f"line {start}: a quoted cell is never closed") from None
                raise _FileRefused(f"line {start}: {exc}") from None
            if not any(cell.strip() for cell in cells):
                continue
            row = _Row(reader.line_num, dict(zip(names, cells, strict=False)))
            if len(cells) != len(names):
                row.checker.fail("row", len(cells), f"has {len(cells)} cells, the header has {len(names)}")
            yield row


def _chunks(rows: Iterator[_Row]) -> Iterator[list[_Row]]:
    chunk: list[_Row] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class _Seen:
    """First line of each key already met in the file, to name duplicates."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.lines: dict[str, int] = {}

    def check(self, row: _Row, key: str | None) -> None:
        if key is None:
            return
        first = self.lines.setdefault(key, row.line)
        if first != row.line:
            row.checker.fail(self.what, key, f"{self.what} {key!r} is also on line {first}")


def _events(conn: Connection, chunk: list[_Row], seen: _Seen) -> None:
    for row in chunk:
        c = row.checker
        start = parse_datetime("startTime", row.cell("startTime") or "", c) if row.cell("startTime") else None
        end = parse_datetime("endTime", row.cell("endTime") or "", c) if row.cell("endTime") else None
        new = NewEvent(code=row.cell("code"), name=row.cell("name"), start_time=start, end_time=end,
                       venue_site=row.cell("venueSite"), venue_city=row.cell("venueCity"),
                       venue_zip=row.cell("venueZip"), venue_country_code=row.cell("venueCountryCode"),
                       max_transfers=row.cell("maxTransfers"))
        row.values = event_values(new, c)
        seen.check(row, row.values["code"])
    codes = [row.values["code"] for row in chunk if row.values["code"]]
    taken = set(conn.execute(select(events.c.code).where(events.c.code.in_(codes))).scalars())
    for row in chunk:
        if row.values["code"] in taken:
            row.checker.fail("code", row.values["code"], f"code {row.values['code']!r} is already an event")


def _contacts(conn: Connection, chunk: list[_Row], seen: _Seen) -> None:
    for row in chunk:
        c = row.checker
        birth = row.cell("birthDate")
        new = NewContact(
            kind=row.cell("kind"), last_name=row.cell("lastName"), first_name=row.cell("firstName"),
            title=row.cell("title"), email=row.cell("email"), phone=row.cell("phone"),
            mobile_phone=row.cell("mobilePhone"), birth_date=parse_date("birthDate", birth, c) if birth else None,
            nationality=row.cell("nationality"), id_number=row.cell("idNumber"), country=row.cell("country"),
            language=row.cell("language"),
            allow_promo_email=parse_bool("allowPromoEmail", row.cell("allowPromoEmail") or "", c),
            allow_third_party_email=parse_bool("allowThirdPartyEmail", row.cell("allowThirdPartyEmail") or "", c),
            has_internet_account=bool(parse_bool("hasInternetAccount", row.cell("hasInternetAccount") or "", c)),
            reference=row.cell("reference"),
        )
        row.values = contact_values(new, c)
        seen.check(row, row.values["reference"])
    references = [row.values["reference"] for row in chunk if row.values["reference"]]
    taken = set(conn.execute(select(contacts.c.reference).where(contacts.c.reference.in_(references))).scalars())
    for row in chunk:
        if row.values["reference"] in taken:
            row.checker.fail("reference", row.values["reference"],
                             f"reference {row.values['reference']!r} is already a contact")


_TICKET_REFERENCES = {"culturalContactReference": "cultural_contact_id",
                      "buyerContactReference": "buyer_contact_id", "ownerContactReference": "owner_contact_id"}


def _tickets(conn: Connection, chunk: list[_Row], seen: _Seen) -> None:
    for row in chunk:
        new = NewTicket(event_code=row.cell("eventCode"), cultural_contact_id=None, number=row.cell("number"),
                        seat=row.cell("seat"), price=row.cell("price"), currency=row.cell("currency"),
                        barcode=row.cell("barcode"), file_number=row.cell("fileNumber"))
        checker = Checker()  # culturalContactId is resolved from its reference below
        row.values = ticket_values(new, checker)
        row.checker.problems.extend(p for p in checker.problems if p.field != "culturalContactId")
        for column in _TICKET_REFERENCES:
            row.values[column] = row.checker.code(column, row.cell(column), required=column.startswith("cultural"))
        seen.check(row, row.values["number"])
    codes = {row.values["event_code"] for row in chunk if row.values["event_code"]}
    query = select(events.c.code, events.c.id).where(events.c.code.in_(codes))
    event_ids = {code: event_id for code, event_id in conn.execute(query)}
    references = {row.values[c] for row in chunk for c in _TICKET_REFERENCES if row.values[c]}
    people = {ref: (cid, kind) for ref, cid, kind in conn.execute(
        select(contacts.c.reference, contacts.c.id, contacts.c.kind).where(contacts.c.reference.in_(references)))}
    numbers = [row.values["number"] for row in chunk if row.values["number"]]
    taken = set(conn.execute(select(tickets.c.number).where(tickets.c.number.in_(numbers))).scalars())
    for row in chunk:
        c, v = row.checker, row.values
        if v["event_code"] and v["event_code"] not in event_ids:
            c.fail("eventCode", v["event_code"], f"eventCode {v['event_code']!r} is not a known event")
        v["event_id"] = event_ids.get(v["event_code"])
        for column, id_column in _TICKET_REFERENCES.items():
            ref = v.pop(column)
            if ref is not None and ref not in people:
                c.fail(column, ref, f"{column} {ref!r} is not a known contact reference")
            v[id_column] = people[ref][0] if ref in people else None
            if column == "culturalContactReference" and ref in people \
                    and people[ref][1] == ContactKind.STRUCTURE:
                c.fail(column, ref, f"{column} {ref!r} is a STRUCTURE; the cultural contact attends")
        if v["number"] in taken:
            c.fail("number", v["number"], f"number {v['number']!r} is already a ticket")


_PREPARE = {ImportKind.EVENTS: (_events, "code"), ImportKind.CONTACTS: (_contacts, "reference"),
            ImportKind.TICKETS: (_tickets, "number")}


def _insert(conn: Connection, kind: ImportKind, chunk: list[_Row], now: datetime) -> None:
    if kind is ImportKind.EVENTS:
        conn.execute(insert(events), [{**row.values, "created_at": now} for row in chunk])
    elif kind is ImportKind.CONTACTS:
        conn.execute(insert(contacts), [{**row.values, "is_temporary": False, "created_at": now,
                                         "updated_at": now} for row in chunk])
    else:
        conn.execute(insert(tickets), [finish_values(row.values, now) for row in chunk])


def _pass(engine: Engine, kind: ImportKind, path: Path, now: datetime, *, write: bool,
          report: ImportReport, progress: Progress | None) -> None:
    prepare, key = _PREPARE[kind]
    seen = _Seen(key)
    done = 0
    with unit_of_work(engine, write=write) as conn:
        for chunk in _chunks(_read(path, kind)):
            prepare(conn, chunk, seen)
            bad = [RowProblem(row.line, [p.message for p in row.checker.problems])
                   for row in chunk if row.checker.problems]
            if write:
                if bad:
                    raise _Refused(bad)
                _insert(conn, kind, chunk, now)
                report.written += len(chunk)
            else:
                report.problems.extend(bad)
                report.rows += len(chunk)
            done += len(chunk)
            if progress:
                progress("write" if write else "check", done)


def import_csv(engine: Engine, kind: ImportKind, path: Path, now: datetime, *,
               progress: Progress | None = None) -> ImportReport:
    """Import one CSV file of `kind`, all or nothing; the report names every bad row and why."""
    report = ImportReport(kind, path)
    now = as_utc(now)
    try:
        _pass(engine, kind, path, now, write=False, report=report, progress=progress)
        if report.ok and report.rows:
            _pass(engine, kind, path, now, write=True, report=report, progress=progress)
    except _FileRefused as exc:
        report.file_error = str(exc)
        report.written = 0
    except IntegrityError:
        report.file_error = "another writer added a clashing row meanwhile; nothing was written, import again"
        report.written = 0
    except _Refused as exc:
        report.problems = exc.problems
        report.written = 0
    except OSError as exc:
        report.file_error = f"cannot read the file: {exc.strerror or exc}"
        report.written = 0
    return report
