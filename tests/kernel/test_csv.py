"""`safe_cell`: no exported cell is read as a formula by a spreadsheet (DESIGN section 7, holders.csv)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tixtrace.kernel.csv import FORMULA_STARTS, safe_cell


@pytest.mark.parametrize(("value", "cell"), [
    ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
    ("+33 6 12", "'+33 6 12"),
    ("-2+3", "'-2+3"),
    ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1", "'\t=1"),
    ("\r=1", "'\r=1"),
    ("Ana", "Ana"),
    ("a=b", "a=b"),
    ("", ""),
    (None, ""),
    (-3, "-3"),
    (2.5, "2.5"),
    (True, "true"),
])
def test_formula_like_cells_are_prefixed_and_others_kept(value: str | int | float | None, cell: str) -> None:
    assert safe_cell(value) == cell


@given(st.text())
def test_no_text_cell_starts_like_a_formula_and_the_text_is_kept(text: str) -> None:
    cell = safe_cell(text)
    assert not cell.startswith(FORMULA_STARTS)
    assert cell in (text, "'" + text)
