"""Custom parameters of a TIXNGO interface: grammar, typed values and canonical text (DESIGN section 5).

The Interface General Screen stores the operator's text; everything else in the back office reads the
typed values of a `ParsedParameters`, validated once here (house rule 8), and names parameters through
`ParameterName` rather than string literals.

Grammar: one ``name=value`` entry per line, ``;`` also separates entries. A ``#`` where an entry
starts (first non-blank character of a line, or after a ``;``) begins a comment that runs to the end of
the line, ``;`` included: so a ``#`` line is a comment as a whole, and ``ticketIterationSize=500; # was
1000; or 2000`` holds one entry. A ``#`` inside a value is part of the value. Blank entries are ignored,
spaces around names and values are trimmed, the value runs from the first ``=`` to the end of the entry.
Byte-order marks and zero-width characters (`INVISIBLE`) are removed from the whole text first: pasted
from an editor or a mail, they are invisible in the box, yet a byte-order mark before
``TIXNGO_LIFECYCLE_MODE`` made it an unknown name and silently switched the feature off.

Names are exact. A name that is not a known one but matches it when case-folded, or is within
`MAX_NEAR_MISS_EDITS` edits of it (case-folded, `edit_distance`), is a typo of it, and an error: a typo
must not quietly disable the feature on match day. The known names are 14 to 41 characters long and
far apart from each other, so two edits never confuse one with another or with a deliberate name.

Invariants:
- `parse_parameters` either returns a `ParsedParameters` or raises `InvalidParameters` carrying every
  error of the text (never only the first), each with its 1-based line number.
- A `ParsedParameters` only ever holds valid typed values for known names, and unknown names and values
  that survive a trip through the text; so `parse_parameters(format_parameters(p)) == p` always.
- Unknown names (none of them a case variant or near miss of a known name) are kept and each produces
  one warning.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from typing import Final, Literal

__all__ = [
    "INVISIBLE",
    "LIFECYCLE",
    "MAX_NEAR_MISS_EDITS",
    "SPECS",
    "InvalidParameters",
    "LifecycleMode",
    "ParameterError",
    "ParameterName",
    "ParameterSpec",
    "ParameterValue",
    "ParsedParameters",
    "ValueKind",
    "edit_distance",
    "format_parameters",
    "parse_parameters",
]


class ParameterName(StrEnum):
    """The known parameter names, exactly as written in the custom parameters box (table order)."""

    TIXNGO_LIFECYCLE_MODE = "TIXNGO_LIFECYCLE_MODE"
    ENABLE_TICKET_DISTRIBUTION_TO_CULTURAL_CONTACT = "enableTicketDistributionToCulturalContact"
    OVERLAY_SPECTATOR_DETAILS_WITH_LAST_OWNER = "overlaySpectatorDetailsWithLastOwner"
    DO_CONTINUE_IN_CASE_OF_SYNC_ERROR = "doContinueInCaseOfSyncError"
    TICKET_ITERATION_SIZE = "ticketIterationSize"
    STICK_TO_THE_HOUR = "stickToTheHour"
    MAX_LENGTH_DUMPED_CALLS_IN_KBS = "maxLengthDumpedCallsInKbs"


LifecycleMode = Literal["lifecycle"]
LIFECYCLE: Final[LifecycleMode] = "lifecycle"

ParameterValue = bool | int | str
"""A typed value: bool for flags, int for sizes, str (only ``"lifecycle"``) for the mode."""


class ValueKind(Enum):
    BOOLEAN = "boolean"
    INTEGER = "integer"
    CHOICE = "choice"


_DIGITS = re.compile(r"[0-9]+")


@dataclass(frozen=True)
class ParameterSpec:
    """What one known parameter accepts, and its default (None = absent means "off", e.g. basic mode)."""

    name: ParameterName
    kind: ValueKind
    default: ParameterValue | None
    minimum: int = 0
    maximum: int = 0
    choices: tuple[str, ...] = ()

    def convert(self, raw: str) -> ParameterValue:
        """Typed value of the trimmed text `raw`; ValueError with the user-facing message otherwise."""
        if self.kind is ValueKind.BOOLEAN:
            folded = raw.casefold()
            if folded in ("true", "false"):
                return folded == "true"
            raise ValueError(f"{self.name} must be true or false (any case), got {raw!r}")
        if self.kind is ValueKind.INTEGER:
            # Plain ASCII digits only: no sign, no spaces, no underscores, no other scripts' digits.
            if _DIGITS.fullmatch(raw) and self.minimum <= int(raw) <= self.maximum:
                return int(raw)
            raise ValueError(
                f"{self.name} must be a whole number from {self.minimum} to {self.maximum}, got {raw!r}"
            )
        if raw in self.choices:
            return raw
        allowed = " or ".join(self.choices)
        raise ValueError(f"{self.name} must be {allowed} (leave it out for the basic mode), got {raw!r}")

    def check(self, value: object) -> None:
        """Raise ValueError unless `value` is a typed value this parameter can hold."""
        if self.kind is ValueKind.BOOLEAN:
            ok = isinstance(value, bool)
        elif self.kind is ValueKind.INTEGER:
            ok = (
                isinstance(value, int)
                and not isinstance(value, bool)
                and self.minimum <= value <= self.maximum
            )
        else:
            ok = isinstance(value, str) and value in self.choices
        if not ok:
            raise ValueError(f"{value!r} is not a valid value of {self.name}")

    def render(self, value: ParameterValue) -> str:
        """Canonical text of a typed value (booleans lower case)."""
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)


SPECS: Final[dict[ParameterName, ParameterSpec]] = {
    spec.name: spec
    for spec in (
        ParameterSpec(ParameterName.TIXNGO_LIFECYCLE_MODE, ValueKind.CHOICE, None, choices=(LIFECYCLE,)),
        ParameterSpec(ParameterName.ENABLE_TICKET_DISTRIBUTION_TO_CULTURAL_CONTACT, ValueKind.BOOLEAN, False),
        ParameterSpec(ParameterName.OVERLAY_SPECTATOR_DETAILS_WITH_LAST_OWNER, ValueKind.BOOLEAN, False),
        ParameterSpec(ParameterName.DO_CONTINUE_IN_CASE_OF_SYNC_ERROR, ValueKind.BOOLEAN, False),
        ParameterSpec(ParameterName.TICKET_ITERATION_SIZE, ValueKind.INTEGER, 1000, 1, 10_000),
        ParameterSpec(ParameterName.STICK_TO_THE_HOUR, ValueKind.BOOLEAN, True),
        ParameterSpec(ParameterName.MAX_LENGTH_DUMPED_CALLS_IN_KBS, ValueKind.INTEGER, 0, 0, 100_000),
    )
}
"""Known parameters in table order (the order `format_parameters` writes them)."""

_SPEC_BY_NAME: Final[dict[str, ParameterSpec]] = {name.value: spec for name, spec in SPECS.items()}
_KNOWN_BY_FOLDED_NAME: Final[dict[str, ParameterName]] = {name.casefold(): name for name in SPECS}

INVISIBLE: Final = "\ufeff\u200b\u200c\u200d\u2060"
"""Removed from the text before parsing: byte-order mark (also "zero-width no-break space"), zero-width
space, non-joiner, joiner, word joiner."""
_REMOVE_INVISIBLE: Final = str.maketrans(dict.fromkeys(INVISIBLE))

MAX_NEAR_MISS_EDITS: Final = 2
"""A name this many edits or fewer from a known one (case-folded) is taken for a typo of it."""


def edit_distance(a: str, b: str) -> int:
    """The fewest single-character insertions, deletions, substitutions and transpositions of two
    adjacent characters that turn `a` into `b` (Damerau-Levenshtein, Lowrance-Wagner algorithm).

    A metric: 0 iff ``a == b``, symmetric, triangle inequality; k such edits move a word by at most k;
    at least the difference of the lengths, at most the longer length."""
    far = len(a) + len(b) + 1
    # d[i + 1][j + 1] = distance between a[:i] and b[:j]; row and column 0 hold `far` (a sentinel)
    d = [[far] * (len(b) + 2) for _ in range(len(a) + 2)]
    for i in range(len(a) + 1):
        d[i + 1][1] = i
    for j in range(len(b) + 1):
        d[1][j + 1] = j
    last_row: dict[str, int] = {}  # character → last row of `a` where it was seen
    for i in range(1, len(a) + 1):
        last_column = 0  # last column of `b` in this row where b's character equalled a[i - 1]
        for j in range(1, len(b) + 1):
            k, ell = last_row.get(b[j - 1], 0), last_column
            cost = 1
            if a[i - 1] == b[j - 1]:
                cost, last_column = 0, j
            d[i + 1][j + 1] = min(
                d[i][j] + cost,  # substitution (or match)
                d[i + 1][j] + 1,  # insertion
                d[i][j + 1] + 1,  # deletion
                d[k][ell] + (i - k - 1) + 1 + (j - ell - 1),  # transposition, with what lies between
            )
        last_row[a[i - 1]] = i
    return d[len(a) + 1][len(b) + 1]


def _misspelt(name: str) -> tuple[ParameterName, bool] | None:
    """The known parameter `name` is a typo of, if any, and whether it differs only by case.

    Never for a known name itself. The nearest known name wins, then table order."""
    if name in _SPEC_BY_NAME:
        return None
    folded = name.casefold()
    if folded in _KNOWN_BY_FOLDED_NAME:
        return _KNOWN_BY_FOLDED_NAME[folded], True
    best: tuple[int, ParameterName] | None = None
    for known_folded, known in _KNOWN_BY_FOLDED_NAME.items():
        if abs(len(folded) - len(known_folded)) > MAX_NEAR_MISS_EDITS:  # too far, and saves the work
            continue
        distance = edit_distance(folded, known_folded)
        if distance <= MAX_NEAR_MISS_EDITS and (best is None or distance < best[0]):
            best = (distance, known)
    return (best[1], False) if best else None


@dataclass(frozen=True)
class ParameterError:
    """One refused entry: `line` is 1-based in the submitted text; `message` names parameter and value."""

    line: int
    parameter: str
    value: str
    message: str


class InvalidParameters(Exception):
    """The text holds at least one error; `errors` lists all of them in text order."""

    def __init__(self, errors: list[ParameterError]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(f"line {e.line}: {e.message}" for e in self.errors))


def _check_unknown_entry(name: str, value: str) -> None:
    """Raise ValueError unless an unknown entry would read back unchanged from its ``name=value`` text."""
    if (not name or name != name.strip() or name.startswith("#")
            or any(c in name for c in "=;\n" + INVISIBLE)):
        raise ValueError(f"{name!r} cannot be written as a parameter name")
    if name.casefold() in _KNOWN_BY_FOLDED_NAME or _misspelt(name) is not None:
        raise ValueError(f"{name!r} is a known parameter name, or a case variant or near miss of one")
    if value != value.strip() or any(c in value for c in ";\n" + INVISIBLE):
        raise ValueError(f"{value!r} cannot be written as the value of {name}")


@dataclass(frozen=True)
class ParsedParameters:
    """The typed custom parameters of one interface.

    `given` maps the known parameters that were written to their typed values (text order); `unknown`
    keeps the other entries verbatim; `warnings` are diagnostics about the source text (one per unknown
    name, with its line) and take no part in equality, since the same parameters can be laid out on
    different lines. Typed accessors return the value given or the default. Treat as read-only.
    """

    given: dict[str, ParameterValue] = field(default_factory=dict)
    unknown: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list, compare=False)

    def __post_init__(self) -> None:
        for name, value in self.given.items():
            spec = _SPEC_BY_NAME.get(name)
            if spec is None:
                raise ValueError(f"{name!r} is not a known parameter; keep it in `unknown`")
            spec.check(value)
        for name, raw in self.unknown.items():
            _check_unknown_entry(name, raw)

    def _value(self, name: ParameterName) -> ParameterValue | None:
        return self.given.get(name, SPECS[name].default)

    def _flag(self, name: ParameterName) -> bool:
        return self._value(name) is True

    def _number(self, name: ParameterName) -> int:
        value = self._value(name)
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name} does not hold a number")
        return value

    @property
    def lifecycle_mode(self) -> LifecycleMode | None:
        """``"lifecycle"`` when the feedback reads lifecycle records (F1), None in basic mode."""
        return LIFECYCLE if self._value(ParameterName.TIXNGO_LIFECYCLE_MODE) == LIFECYCLE else None

    @property
    def enable_ticket_distribution_to_cultural_contact(self) -> bool:
        return self._flag(ParameterName.ENABLE_TICKET_DISTRIBUTION_TO_CULTURAL_CONTACT)

    @property
    def overlay_spectator_details_with_last_owner(self) -> bool:
        return self._flag(ParameterName.OVERLAY_SPECTATOR_DETAILS_WITH_LAST_OWNER)

    @property
    def do_continue_in_case_of_sync_error(self) -> bool:
        return self._flag(ParameterName.DO_CONTINUE_IN_CASE_OF_SYNC_ERROR)

    @property
    def ticket_iteration_size(self) -> int:
        return self._number(ParameterName.TICKET_ITERATION_SIZE)

    @property
    def stick_to_the_hour(self) -> bool:
        return self._flag(ParameterName.STICK_TO_THE_HOUR)

    @property
    def max_length_dumped_calls_in_kbs(self) -> int:
        return self._number(ParameterName.MAX_LENGTH_DUMPED_CALLS_IN_KBS)

    def effective(self) -> dict[str, ParameterValue | None]:
        """Every known parameter with the value in force (given or default; None = absent mode)."""
        return {name.value: self._value(name) for name in SPECS}

    @property
    def feature_active(self) -> bool:
        """The "Retrieve ticket status" distribution feature (section 4) runs on this interface."""
        return self.lifecycle_mode == LIFECYCLE and self.enable_ticket_distribution_to_cultural_contact

    def missing_for_feature(self) -> tuple[ParameterName, ...]:
        """The parameters still needed for `feature_active`, in table order; empty iff it is active."""
        missing: list[ParameterName] = []
        if self.lifecycle_mode != LIFECYCLE:
            missing.append(ParameterName.TIXNGO_LIFECYCLE_MODE)
        if not self.enable_ticket_distribution_to_cultural_contact:
            missing.append(ParameterName.ENABLE_TICKET_DISTRIBUTION_TO_CULTURAL_CONTACT)
        return tuple(missing)

    def prerequisite_warnings(self) -> list[str]:
        """Warnings a feedback execution must log (F1, I2); empty unless the feature was asked for.

        Asking for the feature means ``enableTicketDistributionToCulturalContact=true``: without the
        lifecycle mode it does nothing (F1, execution ends WARNING); once active, the injection should
        take spectator details from the cultural contact (I2).
        """
        enable = ParameterName.ENABLE_TICKET_DISTRIBUTION_TO_CULTURAL_CONTACT
        if not self.enable_ticket_distribution_to_cultural_contact:
            return []
        if self.lifecycle_mode != LIFECYCLE:
            mode = ParameterName.TIXNGO_LIFECYCLE_MODE
            return [
                f"{enable}=true has no effect without {mode}={LIFECYCLE}: add {mode}={LIFECYCLE}; "
                "no contact was created or changed and no distribution line was written"
            ]
        if not self.overlay_spectator_details_with_last_owner:
            overlay = ParameterName.OVERLAY_SPECTATOR_DETAILS_WITH_LAST_OWNER
            return [
                f"{enable} is active but {overlay} is not true: add {overlay}=true so that injected and "
                "reprinted tickets go to their cultural contact"
            ]
        return []


def _entries(text: str) -> Iterator[tuple[int, str]]:
    """(1-based line number, trimmed entry) for every non-blank, non-comment entry of `text`."""
    for number, line in enumerate(text.split("\n"), start=1):
        for part in line.split(";"):
            entry = part.strip()
            if entry.startswith("#"):
                break
            if entry:
                yield number, entry


def parse_parameters(text: str) -> ParsedParameters:
    """Parse the custom parameters box; raise `InvalidParameters` with every error found."""
    text = text.translate(_REMOVE_INVISIBLE)
    errors: list[ParameterError] = []
    given: dict[str, ParameterValue] = {}
    unknown: dict[str, str] = {}
    warnings: list[str] = []
    first_line: dict[str, int] = {}
    for line, entry in _entries(text):
        name, equals, raw = entry.partition("=")
        name, raw = name.strip(), raw.strip()
        if not equals:
            message = (
                f"{entry!r} is not a name=value entry: write name=value, one per line or separated by ';'"
            )
            errors.append(ParameterError(line, name, "", message))
            continue
        if not name:
            message = f"{entry!r} has no parameter name before '=' (value {raw!r}): write name=value"
            errors.append(ParameterError(line, name, raw, message))
            continue
        if name in first_line:
            message = (
                f"{name} is given twice (first on line {first_line[name]}, again with {raw!r}): "
                "give each parameter once"
            )
            errors.append(ParameterError(line, name, raw, message))
            continue
        first_line[name] = line
        spec = _SPEC_BY_NAME.get(name)
        if spec is None:
            misspelt = _misspelt(name)
            if misspelt is not None:
                known, by_case = misspelt
                fix = f"names are exact, write {known}" if by_case else f"did you mean {known}?"
                errors.append(ParameterError(line, name, raw, f"{name!r} (value {raw!r}) is not a parameter: {fix}"))
            else:
                unknown[name] = raw
                warnings.append(f"line {line}: unknown parameter {name!r} is kept but has no effect")
            continue
        try:
            given[spec.name.value] = spec.convert(raw)
        except ValueError as error:
            errors.append(ParameterError(line, name, raw, str(error)))
    if errors:
        raise InvalidParameters(errors)
    return ParsedParameters(given=given, unknown=unknown, warnings=warnings)


def format_parameters(parsed: ParsedParameters) -> str:
    """Canonical text: given known parameters in table order, then unknown ones as kept; one per line."""
    lines = [
        f"{name}={spec.render(parsed.given[name])}" for name, spec in SPECS.items() if name in parsed.given
    ]
    lines += [f"{name}={value}" for name, value in parsed.unknown.items()]
    return "\n".join(lines)
