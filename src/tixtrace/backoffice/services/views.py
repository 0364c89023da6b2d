"""Building the typed views services return (docs/decisions.md, Layers) from the rows they read.

A view is a frozen dataclass whose fields are named after the columns it shows; `view_of` copies
those columns from a row and ignores the others (a contact's matching key, an interface's password
is never even selected).
"""

from __future__ import annotations

from dataclasses import fields
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import RowMapping

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

V = TypeVar("V", bound="DataclassInstance")


def view_of(cls: type[V], row: RowMapping) -> V:
    """A `cls` holding the row's columns of the same names as its fields."""
    return cls(**{field.name: row[field.name] for field in fields(cls)})
