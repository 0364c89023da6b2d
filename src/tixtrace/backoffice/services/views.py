"""Building the typed views services return (docs/decisions.md, Layers) from the rows they read.

A view is a frozen dataclass whose fields are named after the columns it shows; `view_of` copies
those columns from a row and ignores the others (a contact's matching key, an interface's password
is never even selected).
"""

from __future__ import annotations

from dataclasses import fields
from functools import cache
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import RowMapping

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

V = TypeVar("V", bound="DataclassInstance")


def view_of(cls: type[V], row: RowMapping) -> V:
    """A `cls` holding the row's columns of the same names as its fields."""
    return cls(**{name: row[name] for name in _names(cls)})


@cache
def _names(cls: type[DataclassInstance]) -> tuple[str, ...]:
    """The field names of a view class, looked up once (``fields`` costs more than the copy: the
    holders export builds 200,000 contact views for 100,000 tickets)."""
    return tuple(field.name for field in fields(cls))
