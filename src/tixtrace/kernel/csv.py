"""Cells of the CSV files we export, safe to open in a spreadsheet (DESIGN section 7, holders.csv).

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula (and some also
after a leading tab or carriage return), so a spectator who names themself ``=HYPERLINK(...)`` could
make an organizer's export run it. `safe_cell` is the one place every export writes a cell through.
"""

from __future__ import annotations

#: the first characters that make a spreadsheet read a cell as a formula
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: str | int | float | None) -> str:
    """The text of one CSV cell: ``""`` for None, numbers as written, and text starting with one of
    `FORMULA_STARTS` prefixed with ``'`` (a spreadsheet shows it as text, the ``'`` hidden).

    Invariant: the result never starts with one of `FORMULA_STARTS` unless ``value`` is a number
    (``-3`` stays a number, which no spreadsheet runs)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return "'" + value if value.startswith(FORMULA_STARTS) else value
