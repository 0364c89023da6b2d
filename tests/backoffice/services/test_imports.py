"""CSV import: good files land whole; a broken file writes nothing and its report names every bad row."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, func, select

from tests.support.backoffice import START
from tests.support.imports import CONTACTS, EVENTS, TICKETS
from tixtrace.backoffice.db.tables import contacts, events, tickets
from tixtrace.backoffice.services.imports import ImportKind, ImportReport, count_rows, import_csv
from tixtrace.kernel.db import unit_of_work


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def count(engine: Engine, table) -> int:  # type: ignore[no-untyped-def]
    with unit_of_work(engine, write=False) as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def run(engine: Engine, kind: ImportKind, path: Path) -> ImportReport:
    seen: list[tuple[str, int]] = []
    report = import_csv(engine, kind, path, START, progress=lambda phase, done: seen.append((phase, done)))
    if report.ok:
        assert seen[-1] == ("write", report.rows)
    return report


def test_good_files_are_imported_whole(engine: Engine, tmp_path: Path) -> None:
    for kind, text, expected in ((ImportKind.EVENTS, EVENTS, 2), (ImportKind.CONTACTS, CONTACTS, 3),
                             (ImportKind.TICKETS, TICKETS, 3)):
        report = run(engine, kind, write(tmp_path, f"{kind}.csv", text))
        assert report.ok and report.rows == expected and report.written == expected, report
    with unit_of_work(engine, write=False) as conn:
        m02 = conn.execute(select(events).where(events.c.code == "WC26-M02")).mappings().one()
        ana = conn.execute(select(contacts).where(contacts.c.reference == "C1")).mappings().one()
        acme = conn.execute(select(contacts).where(contacts.c.reference == "C3")).mappings().one()
        rows = {r["number"]: r for r in conn.execute(select(tickets).order_by(tickets.c.id)).mappings()}
    assert m02["name"] == "Match 2, group A" and m02["end_time"] is None
    assert (ana["email_key"], ana["country"], ana["allow_promo_email"], ana["has_internet_account"],
            str(ana["birth_date"])) == ("ana@example.com", "BR", True, True, "1990-04-02")
    assert acme["kind"] == "STRUCTURE" and acme["first_name"] is None
    first = rows["T-0001"]
    assert (first["status"], first["price_cents"], first["currency"], first["cultural_contact_id"],
            first["owner_contact_id"], first["buyer_contact_id"]) == ("NOT_PRINTED", 12050, "USD", ana["id"],
                                                                      ana["id"], acme["id"])
    generated = [number for number in rows if number not in ("T-0001", "T-0002")]
    assert len(generated) == 1 and generated[0].isdigit()


def test_a_broken_file_writes_nothing_and_names_every_bad_row(engine: Engine, tmp_path: Path) -> None:
    assert run(engine, ImportKind.EVENTS, write(tmp_path, "events.csv", EVENTS)).ok
    assert run(engine, ImportKind.CONTACTS, write(tmp_path, "contacts.csv", CONTACTS)).ok
    broken = (
        "number,eventCode,culturalContactReference,price\n"
        "T-1,WC26-M01,C1,10\n"          # line 2: fine
        "T-2,NOPE,C1,10\n"              # line 3: unknown event
        "T-3,WC26-M01,C9,10\n"          # line 4: unknown contact reference
        "T-1,WC26-M01,C2,ten\n"         # line 5: duplicate number, bad price
        "T-5,WC26-M01,C3,1\n"           # line 6: a STRUCTURE cannot attend
        "T-6,WC26-M01\n"                # line 7: missing cells
        "T 7,WC26-M01,C1,1\n"           # line 8: bad number
        "\n"                            # blank lines are skipped
        "T-8,WC26-M01,C2,1\n"           # line 10: fine
    )
    report = run(engine, ImportKind.TICKETS, write(tmp_path, "tickets.csv", broken))
    assert not report.ok and report.written == 0 and report.rows == 8
    by_line = {p.line: " ".join(p.messages) for p in report.problems}
    assert sorted(by_line) == [3, 4, 5, 6, 7, 8]
    assert "'NOPE'" in by_line[3] and "'C9'" in by_line[4]
    assert "line 2" in by_line[5] and "'ten'" in by_line[5]
    assert "STRUCTURE" in by_line[6] and "cells" in by_line[7] and "'T 7'" in by_line[8]
    assert count(engine, tickets) == 0


def test_a_clash_with_the_database_refuses_the_file(engine: Engine, tmp_path: Path) -> None:
    path = write(tmp_path, "events.csv", EVENTS)
    assert run(engine, ImportKind.EVENTS, path).ok
    report = run(engine, ImportKind.EVENTS, path)
    assert [p.line for p in report.problems] == [2, 3] and "already" in report.problems[0].messages[0]
    assert count(engine, events) == 2


def test_bad_contacts_are_reported_with_field_and_value(engine: Engine, tmp_path: Path) -> None:
    text = ("kind,firstName,lastName,email,birthDate,allowPromoEmail,reference\n"
            "INDIVIDUAL,Ana,Lima,ana@@example.com,1990-02-30,yes,R1\n"
            "ALIEN,,,,,,R1\n")
    report = run(engine, ImportKind.CONTACTS, write(tmp_path, "contacts.csv", text))
    messages = {p.line: p.messages for p in report.problems}
    assert any("ana@@example.com" in m for m in messages[2])
    assert any("1990-02-30" in m for m in messages[2]) and any("'yes'" in m for m in messages[2])
    assert any("ALIEN" in m for m in messages[3]) and any("lastName" in m for m in messages[3])
    assert any("line 2" in m for m in messages[3])  # duplicate reference
    assert count(engine, contacts) == 0


def test_unusable_files_are_refused_as_a_whole(engine: Engine, tmp_path: Path) -> None:
    cases = {
        "empty.csv": b"",
        "latin1.csv": "code,name,startTime,venueSite,venueCity,venueZip,venueCountryCode\n"
                      "X,Café,2026-06-11T19:00:00Z,S,C,Z,FR\n".encode("latin-1"),
        "unknown.csv": b"code,name,startTime,venueSite,venueCity,venueZip,venueCountryCode,colour\n",
        "missing.csv": b"code,name\nX,Y\n",
        "twice.csv": b"code,code,name,startTime,venueSite,venueCity,venueZip,venueCountryCode\n",
    }
    for name, raw in cases.items():
        path = tmp_path / name
        path.write_bytes(raw)
        report = import_csv(engine, ImportKind.EVENTS, path, START)
        assert not report.ok and report.file_error and report.written == 0, name
    assert "UTF-8" in import_csv(engine, ImportKind.EVENTS, tmp_path / "latin1.csv", START).file_error  # type: ignore[operator]
    assert "colour" in import_csv(engine, ImportKind.EVENTS, tmp_path / "unknown.csv", START).file_error  # type: ignore[operator]
    assert count(engine, events) == 0


def test_count_rows(tmp_path: Path) -> None:
    assert count_rows(write(tmp_path, "a.csv", "h\n1\n2\n")) == 2
    assert count_rows(write(tmp_path, "b.csv", "h\n1\n2")) == 2
    assert count_rows(write(tmp_path, "c.csv", "")) == 0


def test_i3_events_may_carry_max_transfers(engine: Engine, tmp_path: Path) -> None:
    """The optional maxTransfers column: empty = no limit; 0 to 1000 otherwise, a bad one named with its line."""
    good = ("code,name,startTime,venueSite,venueCity,venueZip,venueCountryCode,maxTransfers\n"
            "E-1,One,2026-06-11T19:00:00Z,Azteca,Mexico City,04650,MX,1\n"
            "E-2,Two,2026-06-11T19:00:00Z,Azteca,Mexico City,04650,MX,\n"
            "E-3,Three,2026-06-11T19:00:00Z,Azteca,Mexico City,04650,MX, 1000 \n")
    assert run(engine, ImportKind.EVENTS, write(tmp_path, "good.csv", good)).ok
    with unit_of_work(engine, write=False) as conn:
        limits = dict(conn.execute(select(events.c.code, events.c.max_transfers)).all())
    assert limits == {"E-1": 1, "E-2": None, "E-3": 1000}
    bad = ("code,name,startTime,venueSite,venueCity,venueZip,venueCountryCode,maxTransfers\n"
           "E-4,Four,2026-06-11T19:00:00Z,Azteca,Mexico City,04650,MX,1001\n"
           "E-5,Five,2026-06-11T19:00:00Z,Azteca,Mexico City,04650,MX,two\n"
           "E-6,Six,2026-06-11T19:00:00Z,Azteca,Mexico City,04650,MX,-1\n")
    report = run(engine, ImportKind.EVENTS, write(tmp_path, "bad.csv", bad))
    assert not report.ok and [problem.line for problem in report.problems] == [2, 3, 4]
    for problem, value in zip(report.problems, ("1001", "two", "-1"), strict=True):
        assert any("maxTransfers" in m and "0 to 1000" in m and repr(value) in m for m in problem.messages), problem
    assert count(engine, events) == 3
