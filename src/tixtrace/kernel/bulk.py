"""Set-based statements for pages of rows: one statement per page, not one per row.

The feedback writes pages of thousands of rows. Core's executemany is one statement per row for
PostgreSQL (psycopg pipelines them, but each is parsed, planned and run on its own) and it converts
every value in Python; an IN list of thousands of values is one placeholder each, which psycopg
parses in Python and the server plans anew. Here, on PostgreSQL, a page is COPYed into a temporary
staging table typed by the table's columns (psycopg's copy support, values written in C) and written
by one set-based statement from it (``INSERT ... SELECT``, ``UPDATE ... FROM``), and a list of keys
travels as one array parameter (``= ANY``); on SQLite, which has no COPY and no round trips, the
driver's own executemany runs the statement for every row, with the values converted by the
columns' own types exactly as Core would.

Table and column names come from the table objects, never from data. Values are plain (str, int,
bool, float, date, None; a JSON column's value is serialized by orjson) and times timezone-aware.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import zlib

import orjson
from sqlalchemy import ARRAY, JSON, ColumnElement, Connection, Table, any_, bindparam, text


def _is_sqlite(conn: Connection) -> bool:
    return conn.dialect.name == "sqlite"


def _names(conn: Connection, names: Iterable[str], prefix: str = "") -> str:
    quote = conn.dialect.identifier_preparer.quote
    return ", ".join(prefix + quote(name) for name in names)


def one_of(conn: Connection, column: Any, values: Iterable[Any]) -> ColumnElement[bool]:
    """``column IN values``: one array parameter on PostgreSQL (``= ANY``: psycopg would parse a list
    of thousands of placeholders in Python), an IN list on SQLite (measured faster there than a JSON
    array read by ``json_each``)."""
    values = list(values)
    if _is_sqlite(conn):
        return column.in_(values)  # type: ignore[no-any-return]
    return column == any_(bindparam(None, values, type_=ARRAY(column.type)))  # type: ignore[no-any-return]


def _convert(conn: Connection, table: Table, name: str, values: list[Any]) -> list[Any]:
    convert = table.c[name].type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
    return [convert(value) if value is not None else None for value in values] if convert else values


def _staged(conn: Connection, table: Table, names: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> str:
    """PostgreSQL: COPY the rows into a temporary table of those columns (typed as the table's) and
    return its name, for one set-based statement to read.

    One staging table per (table, columns), created by the session's first use and emptied at every
    commit (``ON COMMIT DELETE ROWS``) and before each use, so that it holds exactly this page; it is
    local to the session (no WAL, no lock another session could wait on). COPY's text rows are
    written by psycopg in C; the server converts each value to its column's type. The staging table
    is not analyzed: the set-based statement is planned as a join over the page, whatever its size."""
    quote = conn.dialect.identifier_preparer.quote
    stage = f"bulk_{table.name}_{zlib.crc32(','.join(names).encode()):08x}"
    columns = ", ".join(f"{quote(name)} {table.c[name].type.compile(conn.dialect)}" for name in names)
    as_json = [isinstance(table.c[name].type, JSON) for name in names]
    driver = conn.connection.driver_connection
    assert driver is not None
    with driver.cursor() as cursor:
        # no parameters: one round trip for both (psycopg sends them as one simple query)
        cursor.execute(f"CREATE TEMPORARY TABLE IF NOT EXISTS {stage} ({columns}) ON COMMIT DELETE ROWS; "
                       f"DELETE FROM {stage}")
        with cursor.copy(f"COPY {stage} ({_names(conn, names)}) FROM STDIN") as copy:
            if any(as_json):
                for row in rows:
                    copy.write_row([orjson.dumps(row[name]).decode() if json and row[name] is not None
                                    else row[name] for name, json in zip(names, as_json, strict=True)])
            else:
                for row in rows:
                    copy.write_row([row[name] for name in names])
    return stage


def bulk_insert(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]], *, suffix: str = "") -> None:
    """INSERT every row (each names the same columns); ``suffix`` e.g. ``ON CONFLICT (k) DO NOTHING``."""
    if not rows:
        return
    names = list(rows[0])
    into = f"INSERT INTO {table.name} ({_names(conn, names)})"
    if _is_sqlite(conn):
        columns = [_convert(conn, table, name, [row[name] for row in rows]) for name in names]
        marks = ", ".join("?" for _ in names)
        conn.exec_driver_sql(f"{into} VALUES ({marks}) {suffix}", list(zip(*columns, strict=True)))
        return
    stage = _staged(conn, table, names, rows)
    conn.exec_driver_sql(f"{into} SELECT {_names(conn, names)} FROM {stage} {suffix}")


def bulk_update(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]], *,
                constants: Mapping[str, Any] | None = None, key: str = "id", only_if: str | None = None) -> None:
    """``UPDATE table SET <the row's columns> WHERE key = row[key]`` for every row (each names the same
    columns). ``constants`` are set on every row; ``only_if`` names a boolean column: rows where it is
    not true are left alone."""
    if not rows:
        return
    names = [name for name in rows[0] if name != key]
    fixed = {name: _convert(conn, table, name, [value])[0] for name, value in (constants or {}).items()}
    quote = conn.dialect.identifier_preparer.quote
    condition = f" AND {table.name}.{quote(table.c[only_if].name)} IS TRUE" if only_if else ""
    if _is_sqlite(conn):
        columns = [_convert(conn, table, name, [row[name] for row in rows]) for name in [*names, key]]
        assignments = ", ".join(f"{quote(name)} = ?" for name in [*names, *fixed])
        extra = tuple(fixed.values())
        parameters = [(*row[:-1], *extra, row[-1]) for row in zip(*columns, strict=True)]
        conn.exec_driver_sql(f"UPDATE {table.name} SET {assignments} WHERE {quote(key)} = ?{condition}", parameters)
        return
    assignments = ", ".join([f"{quote(name)} = v.{quote(name)}" for name in names]
                            + [f"{quote(name)} = %(k{i})s" for i, name in enumerate(fixed)])
    stage = _staged(conn, table, [*names, key], rows)
    conn.exec_driver_sql(
        f"UPDATE {table.name} SET {assignments} FROM {stage} AS v "
        f"WHERE {table.name}.{quote(key)} = v.{quote(key)}{condition}",
        {f"k{i}": value for i, value in enumerate(fixed.values())},
    )


def reserve_ids(conn: Connection, table: Table, count: int, column: str = "id") -> list[int]:
    """``count`` new ids, ascending, for rows of ``table`` inserted in this transaction, so that a page
    of rows can be inserted at once with its ids known. Never an id handed out before, not even a
    deleted row's (C4). PostgreSQL draws them from the column's sequence. SQLite takes the ids after
    the table's AUTOINCREMENT counter (``sqlite_sequence``: the largest id ever handed out, or the
    largest present if higher) and moves the counter past them at once, so they are the reservation's
    whether or not rows are inserted with them; only the writing transaction (BEGIN IMMEDIATE) may do
    that, and the table must be declared with ``sqlite_autoincrement=True``, or SQLite itself would
    hand a deleted top id out again."""
    if count <= 0:
        return []
    name = table.c[column].name
    if _is_sqlite(conn):
        if not conn.in_transaction():
            raise RuntimeError("reserve_ids needs the write transaction")
        if not table.dialect_options["sqlite"]["autoincrement"]:
            raise ValueError(f"{table.name} is not declared with sqlite_autoincrement=True")
        top = conn.execute(text(
            f"SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = :table), 0), "
            f"coalesce((SELECT max({name}) FROM {table.name}), 0))"), {"table": table.name}).scalar_one()
        moved = conn.execute(text("UPDATE sqlite_sequence SET seq = :seq WHERE name = :table"),
                             {"seq": top + count, "table": table.name})
        if moved.rowcount == 0:  # no row handed out yet: SQLite adds the table's counter on its first insert
            conn.execute(text("INSERT INTO sqlite_sequence (name, seq) VALUES (:table, :seq)"),
                         {"seq": top + count, "table": table.name})
        return list(range(top + 1, top + 1 + count))
    return sorted(conn.execute(text(
        f"SELECT nextval(pg_get_serial_sequence('{table.name}', '{name}')) FROM generate_series(1, :n)"),
        {"n": count}).scalars())
