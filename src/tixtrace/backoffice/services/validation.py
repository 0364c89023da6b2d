"""Field checks shared by the API and the CSV import, so both refuse the same values with the same words.

Every check names the field and the value it refused, and collects problems instead of stopping at
the first, so a caller can report them all at once. `refuse` turns the problems into one `BadInput`
(422, code INVALID_INPUT, ``details.errors = [{field, value, message}]``).

Text is checked for what the databases cannot store (NUL characters, lone surrogates, more characters
than the column holds): such a value must be a 422 here, never a driver error (a 500) later.

The e-mail check is deliberately simple and documented: one ``@``, a non-empty local part without
spaces, a domain with at least one dot, no spaces, at most 254 characters. It catches typing mistakes;
it does not try to be RFC 5322. An address with a control, zero-width or bidi character is refused
(C1, ``kernel.emails.email_defect``, the same rule as the wallet's).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from tixtrace.kernel.emails import email_defect
from tixtrace.kernel.errors import BadInput, KernelCode

EMAIL_MAX = 254
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")
_COUNTRY = re.compile(r"[A-Za-z]{2}")
_NATIONALITY = re.compile(r"[A-Za-z]{2,3}")
_LANGUAGE = re.compile(r"[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})?")
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-]*")
_CURRENCY = re.compile(r"[A-Za-z]{3}")
MAX_ID = 2**63 - 1


@dataclass(frozen=True)
class FieldProblem:
    field: str
    value: Any
    message: str

    def as_json(self) -> dict[str, Any]:
        return {"field": self.field, "value": echo(self.value), "message": echo(self.message)}


def echo(value: Any) -> Any:
    """`value` as it may be echoed in a JSON error: text that is not valid Unicode (lone surrogates) is
    escaped, since a response that cannot be encoded would turn a 422 into a 500."""
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, (date, datetime, Decimal)):
        return str(value)
    if isinstance(value, list):
        return [echo(item) for item in value]
    return value


def refuse(problems: list[FieldProblem], *, code: str = KernelCode.INVALID_INPUT) -> BadInput:
    """The one error for a list of problems: a message naming each, and every problem in details."""
    return BadInput(
        echo("; ".join(p.message for p in problems)),
        code=code,
        details={"errors": [p.as_json() for p in problems]},
    )


class Checker:
    """Collects `FieldProblem`s; each ``check`` method returns the cleaned value (None when refused)."""

    def __init__(self) -> None:
        self.problems: list[FieldProblem] = []

    def fail(self, field: str, value: Any, message: str) -> None:
        """Record a problem; only the first one of a field is kept (the others follow from it)."""
        if not any(problem.field == field for problem in self.problems):
            self.problems.append(FieldProblem(field, value, message))

    def raise_if_any(self) -> None:
        if self.problems:
            raise refuse(self.problems)

    def text(self, field: str, value: str | None, *, max_length: int, required: bool = False,
             multiline: bool = False) -> str | None:
        """Trimmed text, None when absent or blank; refused if required and blank, too long or unstorable."""
        if value is None:
            if required:
                self.fail(field, None, f"{field} is required")
            return None
        if not isinstance(value, str):
            self.fail(field, value, f"{field} must be text, got {value!r}")
            return None
        problem = unstorable(value, multiline=multiline)
        if problem:
            self.fail(field, value, f"{field} {value!r} {problem}")
            return None
        value = value.strip()
        if not value:
            if required:
                self.fail(field, value, f"{field} is required and must not be blank")
            return None
        if len(value) > max_length:
            self.fail(field, value, f"{field} must be at most {max_length} characters, got {len(value)}")
            return None
        return value

    def pattern(self, field: str, value: str | None, regex: re.Pattern[str], what: str, *,
                max_length: int, required: bool = False, upper: bool = False) -> str | None:
        cleaned = self.text(field, value, max_length=max_length, required=required)
        if cleaned is None:
            return None
        if not regex.fullmatch(cleaned):
            self.fail(field, value, f"{field} {cleaned!r} must be {what}")
            return None
        return cleaned.upper() if upper else cleaned

    def email(self, field: str, value: str | None, *, required: bool = False) -> str | None:
        """The e-mail as written (trimmed); refused if it holds a control, zero-width or bidi character
        (C1: it would look like another person's address, so it is never silently a new person)."""
        defect = email_defect(value) if value is not None else None
        if defect is not None:
            self.fail(field, value, f"{field} is not an e-mail address: it {defect}")
            return None
        return self.pattern(field, value, _EMAIL, "an e-mail address like name@example.com",
                            max_length=EMAIL_MAX, required=required)

    def country(self, field: str, value: str | None, *, required: bool = False) -> str | None:
        return self.pattern(field, value, _COUNTRY, "a 2-letter ISO 3166 country code like FR",
                            max_length=2, required=required, upper=True)

    def nationality(self, field: str, value: str | None) -> str | None:
        return self.pattern(field, value, _NATIONALITY, "a 2- or 3-letter country code like FR or FRA",
                            max_length=3, upper=True)

    def language(self, field: str, value: str | None) -> str | None:
        return self.pattern(field, value, _LANGUAGE, "a language code like fr or fr-CH", max_length=10)

    def code(self, field: str, value: str | None, *, max_length: int = 50, required: bool = False) -> str | None:
        return self.pattern(field, value, _CODE,
                            "letters, digits, '.', '_' or '-' (starting with a letter or digit)",
                            max_length=max_length, required=required)

    def currency(self, field: str, value: str | None) -> str | None:
        return self.pattern(field, value, _CURRENCY, "a 3-letter ISO 4217 currency code like EUR",
                            max_length=3, upper=True)

    def identifier(self, field: str, value: int | None, *, required: bool = False) -> int | None:
        if value is None:
            if required:
                self.fail(field, None, f"{field} is required")
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
            self.fail(field, value, f"{field} must be a positive whole number, got {value!r}")
            return None
        return value

    def price_cents(self, field: str, value: Any) -> int | None:
        """A price of at most 2 decimals, 0 to 1,000,000,000, as cents."""
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            self.fail(field, value, f"{field} must be a number like 12.50, got {value!r}")
            return None
        try:
            amount = Decimal(str(value).strip())
        except InvalidOperation:
            self.fail(field, value, f"{field} must be a number like 12.50, got {value!r}")
            return None
        if not amount.is_finite() or amount < 0 or amount > 1_000_000_000:
            self.fail(field, value, f"{field} must be from 0 to 1000000000, got {value!r}")
            return None
        cents = amount * 100
        if cents != cents.to_integral_value():
            self.fail(field, value, f"{field} must have at most 2 decimals, got {value!r}")
            return None
        return int(cents)

    def aware(self, field: str, value: datetime | None, *, required: bool = False) -> datetime | None:
        if value is None:
            if required:
                self.fail(field, None, f"{field} is required")
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            self.fail(field, value.isoformat(),
                      f"{field} {value.isoformat()!r} must include a time zone, e.g. 2026-06-11T18:00:00Z")
            return None
        if not 1900 <= value.year <= 9999:
            self.fail(field, value.isoformat(), f"{field} {value.isoformat()!r} is out of range")
            return None
        return value


def unstorable(value: str, *, multiline: bool = False) -> str | None:
    """Why `value` cannot be stored as text (None when it can)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid Unicode text"
    for char in value:
        if char < " " and not (multiline and char in "\t\r\n"):
            return "contains a control character"
        if char == "\x7f":
            return "contains a control character"
    return None


def cents_to_price(cents: int | None) -> float | int | None:
    """The JSON price of a ticket: a number with at most 2 decimals."""
    if cents is None:
        return None
    if cents % 100 == 0:
        return cents // 100
    return float(Decimal(cents) / 100)


def parse_date(field: str, raw: str, checker: Checker) -> date | None:
    """``YYYY-MM-DD`` (CSV cells); records a problem and returns None otherwise."""
    try:
        if len(raw) != 10:
            raise ValueError
        return date.fromisoformat(raw)
    except ValueError:
        checker.fail(field, raw, f"{field} {raw!r} must be a date YYYY-MM-DD")
        return None


def parse_datetime(field: str, raw: str, checker: Checker) -> datetime | None:
    """RFC 3339 date-time with a time zone (CSV cells); records a problem and returns None otherwise."""
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        checker.fail(field, raw, f"{field} {raw!r} must be a date-time like 2026-06-11T18:00:00Z")
        return None
    return checker.aware(field, value)


def parse_bool(field: str, raw: str, checker: Checker) -> bool | None:
    """``true``/``false`` in any case (CSV cells), as in the custom parameters; blank = unknown."""
    folded = raw.strip().casefold()
    if folded == "":
        return None
    if folded in ("true", "false"):
        return folded == "true"
    checker.fail(field, raw, f"{field} {raw!r} must be true or false")
    return None
