"""Set-based statements for pages of rows: one statement per page, not one per row.

The feedback writes pages of thousands of rows. Core's executemany is one statement per row for
PostgreSQL (psycopg pipelines them, but each is parsed, planned and run on its own) and it converts
every value in Python; an IN list of thousands of values is one placeholder each, which psycopg
parses in Python and the server plans anew. Here, on PostgreSQL, a page travels as one JSON text
(``json_to_recordset``, typed by the table's columns) and a list of keys as one array parameter
(``= ANY``); on SQLite, which has no round trips, the driver's own executemany runs the statement
for every row, with the values converted by the columns' own types exactly as Core would.

Table and column names come from the table objects, never from data. Values must be what orjson
serializes (no Decimal) and times timezone-aware.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import orjson
from sqlalchemy import ARRAY, JSON, ColumnElement, Connection, DateTime, Table, any_, bindparam, text


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


def _recordset(conn: Connection, table: Table, names: Sequence[str]) -> str:
    """PostgreSQL: the page as ``json_to_recordset(<one JSON text>) AS v(<column> <type>, ...)``.

    One parameter serialized by orjson in C, parsed by the server in C, each value converted to its
    column's type by the server: no per-value work in Python. (Arrays per column cost psycopg a
    Python loop per value, and the planner then guesses the page's size and may scan the table.)"""
    quote = conn.dialect.identifier_preparer.quote
    columns = ", ".join(f"{quote(name)} {table.c[name].type.compile(conn.dialect)}" for name in names)
    return f"json_to_recordset(%(page)s::json) AS v({columns})"


def _page(rows: Sequence[Mapping[str, Any]]) -> str:
    return orjson.dumps(rows).decode()


def bulk_insert(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]], *, suffix: str = "") -> int:
    """INSERT every row (each names the same columns); ``suffix`` e.g. ``ON CONFLICT (k) DO NOTHING``.
    Returns how many rows were inserted (fewer than given when ``suffix`` skipped some)."""
    if not rows:
        return 0
    names = list(rows[0])
    into = f"INSERT INTO {table.name} ({_names(conn, names)})"
    if _is_sqlite(conn):
        columns = [_convert(conn, table, name, [row[name] for row in rows]) for name in names]
        marks = ", ".join("?" for _ in names)
        return int(conn.exec_driver_sql(f"{into} VALUES ({marks}) {suffix}",
                                        list(zip(*columns, strict=True))).rowcount)
    return int(conn.exec_driver_sql(f"{into} SELECT {_names(conn, names, 'v.')} FROM {_recordset(conn, table, names)} "
                                    f"{suffix}", {"page": _page(rows)}).rowcount)


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
    conn.exec_driver_sql(
        f"UPDATE {table.name} SET {assignments} FROM {_recordset(conn, table, [*names, key])} "
        f"WHERE {table.name}.{quote(key)} = v.{quote(key)}{condition}",
        {"page": _page(rows), **{f"k{i}": value for i, value in enumerate(fixed.values())}},
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


def bulk_copy(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """INSERT every row (each names the same columns) of a table none of which can conflict (no ON
    CONFLICT: the caller knows the keys are new, e.g. ids from ``reserve_ids`` under the writer's lock).

    PostgreSQL: one ``COPY ... FROM STDIN`` (psycopg's copy, rows formatted in C; the server inserts
    them in multi-row batches), cheaper for the server than ``bulk_insert``'s JSON page, which it must
    parse and convert row by row. JSON columns travel as their orjson text, None as SQL NULL, as with
    ``bulk_insert``. SQLite: the driver's executemany, as ``bulk_insert``, each distinct time converted
    once (the rows of one write share their times; SQLAlchemy formats each in Python)."""
    if not rows:
        return
    names = list(rows[0])
    if _is_sqlite(conn):
        columns = [_convert_times(conn, table, name, [row[name] for row in rows]) for name in names]
        marks = ", ".join("?" for _ in names)
        conn.exec_driver_sql(f"INSERT INTO {table.name} ({_names(conn, names)}) VALUES ({marks})",
                             list(zip(*columns, strict=True)))
        return
    json_columns = [i for i, name in enumerate(names) if isinstance(table.c[name].type, JSON)]
    values = [[row[name] for name in names] for row in rows]
    for i in json_columns:
        for row in values:
            if row[i] is not None:
                row[i] = orjson.dumps(row[i]).decode()
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f"COPY {table.name} ({_names(conn, names)}) FROM STDIN") as copy:
        for row in values:
            copy.write_row(row)


def _convert_times(conn: Connection, table: Table, name: str, values: list[Any]) -> list[Any]:
    """``_convert``, with the values of a time column converted once per distinct (time, zone)."""
    if not isinstance(table.c[name].type, DateTime):
        return _convert(conn, table, name, values)
    convert = table.c[name].type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
    if convert is None:
        return values
    done: dict[tuple[Any, Any], Any] = {}
    converted: list[Any] = []
    for value in values:
        if value is None:
            converted.append(None)
            continue
        key = (value, value.tzinfo)
        if key not in done:
            done[key] = convert(value)
        converted.append(done[key])
    return converted


def bulk_insert_returning(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]], returning: Sequence[str],
                          *, suffix: str = "") -> list[tuple[Any, ...]]:
    """PostgreSQL only: ``bulk_insert`` (``suffix`` e.g. ``ON CONFLICT (k) DO NOTHING``) that returns these
    columns of the rows it inserted, in one round trip. (SQLite's executemany returns nothing: callers
    there insert, then read.)"""
    if _is_sqlite(conn):
        raise NotImplementedError("bulk_insert_returning is for PostgreSQL")
    if not rows:
        return []
    names = list(rows[0])
    result = conn.exec_driver_sql(
        f"INSERT INTO {table.name} ({_names(conn, names)}) SELECT {_names(conn, names, 'v.')} "
        f"FROM {_recordset(conn, table, names)} {suffix} RETURNING {_names(conn, returning)}", {"page": _page(rows)})
    return [tuple(row) for row in result]


def unique_matches(conn: Connection, table: Table, columns: Sequence[str], key: str, values: Iterable[Any],
                   fixed: Mapping[str, Any], *, condition: str = "") -> list[tuple[Any, ...]]:
    """``SELECT columns FROM table WHERE key IN values AND <fixed columns = their values> [AND condition]``,
    for a ``key`` that, with the ``fixed`` columns, is unique (a unique index leads with them): at most
    one row per value. ``condition``: SQL on the table's columns, never data.

    PostgreSQL: one index probe per value (a LATERAL subquery per array element, ``LIMIT 1`` so the
    planner cannot turn it into a join), whatever the statistics say: with stale or missing statistics
    (no ANALYZE yet) ``key = ANY(array) AND organizer_id = x`` was planned as a scan of every row of the
    organizer, a cost growing with the table (issue 15). SQLite: the IN list of ``one_of``."""
    values = list(values)
    if not values:
        return []
    quote = conn.dialect.identifier_preparer.quote
    extra = f" AND {condition}" if condition else ""
    if _is_sqlite(conn):
        where = " AND ".join(f"{quote(name)} = ?" for name in fixed)
        marks = ", ".join("?" for _ in values)
        return [tuple(row) for row in conn.exec_driver_sql(
            f"SELECT {_names(conn, columns)} FROM {table.name} WHERE {where} AND {quote(key)} IN ({marks}){extra}",
            (*_fixed(conn, table, fixed), *_convert(conn, table, key, values)))]
    matched = " AND ".join([f"{quote(key)} = w.k", *(f"{quote(name)} = %(f{i})s" for i, name in enumerate(fixed))])
    key_type = table.c[key].type.compile(conn.dialect)
    return [tuple(row) for row in conn.exec_driver_sql(
        f"SELECT {_names(conn, columns, 'm.')} FROM unnest(%(keys)s::{key_type}[]) AS w(k) CROSS JOIN LATERAL "
        f"(SELECT {_names(conn, columns)} FROM {table.name} WHERE {matched}{extra} LIMIT 1) AS m",
        {"keys": values, **{f"f{i}": value for i, value in enumerate(_fixed(conn, table, fixed))}})]


def _fixed(conn: Connection, table: Table, fixed: Mapping[str, Any]) -> list[Any]:
    return [_convert(conn, table, name, [value])[0] for name, value in fixed.items()]
