"""Custom parameters grammar (DESIGN section 5): values, errors, warnings, canonical text."""

from __future__ import annotations

import string

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tixtrace.backoffice.domain.parameters import (
    INVISIBLE,
    LIFECYCLE,
    MAX_NEAR_MISS_EDITS,
    SPECS,
    InvalidParameters,
    ParameterError,
    ParameterName,
    ParameterValue,
    ParsedParameters,
    ValueKind,
    edit_distance,
    format_parameters,
    parse_parameters,
)

MODE = ParameterName.TIXNGO_LIFECYCLE_MODE.value
ENABLE = ParameterName.ENABLE_TICKET_DISTRIBUTION_TO_CULTURAL_CONTACT.value
OVERLAY = ParameterName.OVERLAY_SPECTATOR_DETAILS_WITH_LAST_OWNER.value
CONTINUE = ParameterName.DO_CONTINUE_IN_CASE_OF_SYNC_ERROR.value
SIZE = ParameterName.TICKET_ITERATION_SIZE.value
STICK = ParameterName.STICK_TO_THE_HOUR.value
DUMP = ParameterName.MAX_LENGTH_DUMPED_CALLS_IN_KBS.value


def errors_of(text: str) -> list[ParameterError]:
    with pytest.raises(InvalidParameters) as caught:
        parse_parameters(text)
    assert caught.value.errors, "InvalidParameters must carry at least one error"
    return caught.value.errors


def only_error(text: str) -> ParameterError:
    errors = errors_of(text)
    assert len(errors) == 1, errors
    return errors[0]


# --- defaults and valid values ---------------------------------------------------------------------


def test_empty_text_gives_every_default() -> None:
    parsed = parse_parameters("")
    assert parsed.lifecycle_mode is None
    assert parsed.enable_ticket_distribution_to_cultural_contact is False
    assert parsed.overlay_spectator_details_with_last_owner is False
    assert parsed.do_continue_in_case_of_sync_error is False
    assert parsed.ticket_iteration_size == 1000
    assert parsed.stick_to_the_hour is True
    assert parsed.max_length_dumped_calls_in_kbs == 0
    assert parsed.given == {} and parsed.unknown == {} and parsed.warnings == []
    assert parsed == ParsedParameters()


def test_effective_lists_every_known_parameter_with_the_value_in_force() -> None:
    parsed = parse_parameters(f"{SIZE}=20\n{MODE}=lifecycle")
    assert parsed.effective() == {
        MODE: "lifecycle",
        ENABLE: False,
        OVERLAY: False,
        CONTINUE: False,
        SIZE: 20,
        STICK: True,
        DUMP: 0,
    }
    assert list(parsed.effective()) == [name.value for name in ParameterName]


@pytest.mark.parametrize(
    ("text", "attribute", "expected"),
    [
        (f"{MODE}=lifecycle", "lifecycle_mode", "lifecycle"),
        (f"{ENABLE}=true", "enable_ticket_distribution_to_cultural_contact", True),
        (f"{ENABLE}=TRUE", "enable_ticket_distribution_to_cultural_contact", True),
        (f"{ENABLE}=False", "enable_ticket_distribution_to_cultural_contact", False),
        (f"{OVERLAY}=tRuE", "overlay_spectator_details_with_last_owner", True),
        (f"{OVERLAY}=false", "overlay_spectator_details_with_last_owner", False),
        (f"{CONTINUE}=True", "do_continue_in_case_of_sync_error", True),
        (f"{CONTINUE}=FALSE", "do_continue_in_case_of_sync_error", False),
        (f"{STICK}=false", "stick_to_the_hour", False),
        (f"{STICK}=TRUE", "stick_to_the_hour", True),
        (f"{SIZE}=1", "ticket_iteration_size", 1),
        (f"{SIZE}=10000", "ticket_iteration_size", 10000),
        (f"{SIZE}=0500", "ticket_iteration_size", 500),
        (f"{DUMP}=0", "max_length_dumped_calls_in_kbs", 0),
        (f"{DUMP}=100000", "max_length_dumped_calls_in_kbs", 100000),
        (f"{DUMP}=64", "max_length_dumped_calls_in_kbs", 64),
    ],
)
def test_each_known_parameter_accepts_its_values(text: str, attribute: str, expected: object) -> None:
    parsed = parse_parameters(text)
    value = getattr(parsed, attribute)
    assert value == expected and type(value) is type(expected)
    assert list(parsed.given.values()) == [expected]


def test_given_keeps_text_order_and_plain_string_keys() -> None:
    parsed = parse_parameters(f"{SIZE}=5\n{ENABLE}=true;{MODE}=lifecycle")
    assert list(parsed.given.items()) == [(SIZE, 5), (ENABLE, True), (MODE, "lifecycle")]
    assert all(type(key) is str for key in parsed.given)


# --- bad values ---------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["yes", "no", "1", "0", "", "on", "true false", "t", "truee", '"true"'])
@pytest.mark.parametrize("name", [ENABLE, OVERLAY, CONTINUE, STICK])
def test_boolean_refuses_anything_but_true_or_false(name: str, raw: str) -> None:
    assert only_error(f"{name}={raw}") == ParameterError(
        line=1,
        parameter=name,
        value=raw,
        message=f"{name} must be true or false (any case), got {raw!r}",
    )


def test_boolean_message_matches_the_documented_example() -> None:
    error = only_error(f"{ENABLE}=yes")
    expected = "enableTicketDistributionToCulturalContact must be true or false (any case), got 'yes'"
    assert error.message == expected


@pytest.mark.parametrize(
    ("name", "raw", "allowed"),
    [
        (SIZE, "0", "from 1 to 10000"),
        (SIZE, "10001", "from 1 to 10000"),
        (SIZE, "-1", "from 1 to 10000"),
        (SIZE, "+5", "from 1 to 10000"),
        (SIZE, "1 000", "from 1 to 10000"),
        (SIZE, "1_000", "from 1 to 10000"),
        (SIZE, "1.5", "from 1 to 10000"),
        (SIZE, "1e3", "from 1 to 10000"),
        (SIZE, "", "from 1 to 10000"),
        (SIZE, "abc", "from 1 to 10000"),
        (SIZE, "\u0661\u0662", "from 1 to 10000"),  # Arabic-Indic digits are not plain decimal digits
        (DUMP, "100001", "from 0 to 100000"),
        (DUMP, "-0", "from 0 to 100000"),
        (DUMP, "0x10", "from 0 to 100000"),
        (DUMP, "99999999999999999999999", "from 0 to 100000"),
    ],
)
def test_integer_refuses_non_digits_and_out_of_range(name: str, raw: str, allowed: str) -> None:
    assert only_error(f"{name}={raw}") == ParameterError(
        line=1,
        parameter=name,
        value=raw,
        message=f"{name} must be a whole number {allowed}, got {raw!r}",
    )


@pytest.mark.parametrize("raw", ["LIFECYCLE", "Lifecycle", "basic", "", "true"])
def test_lifecycle_mode_accepts_only_lifecycle(raw: str) -> None:
    assert only_error(f"{MODE}={raw}") == ParameterError(
        line=1,
        parameter=MODE,
        value=raw,
        message=f"TIXNGO_LIFECYCLE_MODE must be lifecycle (leave it out for the basic mode), got {raw!r}",
    )


# --- names: exact, case variants, duplicates, malformed ----------------------------------------------


@pytest.mark.parametrize(
    ("written", "known"),
    [
        ("enableticketdistributiontoculturalcontact", ENABLE),
        ("EnableTicketDistributionToCulturalContact", ENABLE),
        ("tixngo_lifecycle_mode", MODE),
        ("TicketIterationSize", SIZE),
        ("STICKTOTHEHOUR", STICK),
        ("maxlengthdumpedcallsinkbs", DUMP),
    ],
)
def test_name_differing_only_by_case_is_an_error(written: str, known: str) -> None:
    assert only_error(f"{written}=true") == ParameterError(
        line=1,
        parameter=written,
        value="true",
        message=f"{written!r} (value 'true') is not a parameter: names are exact, write {known}",
    )


def test_case_variant_is_an_error_even_with_a_bad_value_and_reports_once() -> None:
    error = only_error("ticketiterationsize=abc")
    assert error.parameter == "ticketiterationsize" and "names are exact" in error.message


def test_duplicate_name_is_an_error_on_the_repeat_even_with_the_same_value() -> None:
    assert only_error(f"{SIZE}=5\n\n{SIZE}=5") == ParameterError(
        line=3,
        parameter=SIZE,
        value="5",
        message=f"{SIZE} is given twice (first on line 1, again with '5'): give each parameter once",
    )


def test_duplicate_on_the_same_line_through_semicolons() -> None:
    error = only_error(f"{STICK}=true; {STICK}=false")
    assert (error.line, error.parameter, error.value) == (1, STICK, "false")
    assert "first on line 1" in error.message


def test_duplicate_of_a_badly_valued_entry_reports_both() -> None:
    errors = errors_of(f"{SIZE}=abc\n{SIZE}=10")
    assert [(e.line, e.parameter, e.value) for e in errors] == [(1, SIZE, "abc"), (2, SIZE, "10")]
    assert "whole number" in errors[0].message and "given twice" in errors[1].message


def test_three_occurrences_give_two_duplicate_errors() -> None:
    errors = errors_of(f"{DUMP}=1\n{DUMP}=2\n{DUMP}=3")
    assert [(e.line, e.value) for e in errors] == [(2, "2"), (3, "3")]
    assert all("first on line 1" in e.message for e in errors)


def test_duplicate_unknown_name_is_an_error() -> None:
    error = only_error("customFlag=a\ncustomFlag=b")
    assert (error.line, error.parameter, error.value) == (2, "customFlag", "b")


def test_names_that_differ_by_case_from_each_other_but_are_unknown_are_distinct() -> None:
    parsed = parse_parameters("custom=a\nCUSTOM=b")
    assert parsed.unknown == {"custom": "a", "CUSTOM": "b"}


def test_entry_without_equals_is_malformed() -> None:
    assert only_error(f"\n  {SIZE} 500  ") == ParameterError(
        line=2,
        parameter=f"{SIZE} 500",
        value="",
        message=(
            f"'{SIZE} 500' is not a name=value entry: write name=value, one per line or separated by ';'"
        ),
    )


@pytest.mark.parametrize(("entry", "value"), [("=true", "true"), ("  =  5 ", "5"), ("=", "")])
def test_entry_with_empty_name_is_malformed(entry: str, value: str) -> None:
    error = only_error(entry)
    assert (error.line, error.parameter, error.value) == (1, "", value)
    expected = f"{entry.strip()!r} has no parameter name before '=' (value {value!r}): write name=value"
    assert error.message == expected


# --- layout: separators, comments, blanks, spaces ------------------------------------------------


def test_semicolons_and_newlines_both_separate_entries() -> None:
    one_line = parse_parameters(f"{MODE}=lifecycle;{ENABLE}=true;{SIZE}=10")
    many_lines = parse_parameters(f"{MODE}=lifecycle\n{ENABLE}=true\n{SIZE}=10")
    mixed = parse_parameters(f"{MODE}=lifecycle;\n;;{ENABLE}=true ;\n\n{SIZE}=10;")
    assert one_line == many_lines == mixed
    assert one_line.feature_active and one_line.ticket_iteration_size == 10


def test_spaces_and_tabs_around_names_and_values_are_trimmed() -> None:
    parsed = parse_parameters(f"  {SIZE} \t=\t 42  \n\t{STICK}   =   False\t")
    assert parsed.ticket_iteration_size == 42 and parsed.stick_to_the_hour is False


def test_windows_line_endings() -> None:
    parsed = parse_parameters(f"{MODE}=lifecycle\r\n{SIZE}=7\r\n")
    assert parsed.lifecycle_mode == LIFECYCLE and parsed.ticket_iteration_size == 7


def test_comment_lines_are_ignored_as_a_whole_even_with_semicolons() -> None:
    text = f"# settings\n   # {SIZE}=0; {STICK}=maybe\n#{ENABLE}=yes;{SIZE}=3\n{SIZE}=9"
    parsed = parse_parameters(text)
    assert parsed.given == {SIZE: 9}


def test_hash_starting_an_entry_comments_out_the_rest_of_the_line() -> None:
    parsed = parse_parameters(f"{SIZE}=500 ; # was 1000; {DUMP}=oops\n{STICK}=false;#{DUMP}=5\n{DUMP}=7")
    assert parsed.given == {SIZE: 500, STICK: False, DUMP: 7}


def test_hash_inside_a_value_is_part_of_the_value() -> None:
    assert parse_parameters("custom=a#b").unknown == {"custom": "a#b"}
    assert only_error(f"{SIZE}=5 # five").value == "5 # five"


def test_blank_text_lines_and_entries_are_ignored() -> None:
    assert parse_parameters(" \n\n ; ;\t\n") == ParsedParameters()


def test_value_may_contain_equals_signs() -> None:
    assert parse_parameters("token = a=b=c").unknown == {"token": "a=b=c"}


# --- near misses: typos of known names are errors ------------------------------------------------


@pytest.mark.parametrize(
    ("written", "known"),
    [
        ("enableTicketDistributionToCulturalContct", ENABLE),  # the issue's: one letter left out
        ("EnabbleTicketDistributionToCulturalContact", ENABLE),  # a case change and a letter added
        ("overlaySpectatirDetailsWithLastOwner", OVERLAY),  # a substitution
        ("overlaySpectatorDetialsWithLastOwner", OVERLAY),  # a transposition counts as one edit
        ("ENABLETICKETDISTRIBUTIONTOCULTURALCONTCT", ENABLE),  # case is not counted as edits
        ("TIXNGO_LIFECYCLE-MODE", MODE),
        ("ticketIterationSizes", SIZE),
        ("ticketIterationSizeXY", SIZE),  # exactly two edits
        ("stickToTheHo", STICK),
        ("maxLengthDumpedCallInKb", DUMP),
        ("doContinueInCaseOfSyncErrors", CONTINUE),
    ],
)
def test_name_within_two_edits_of_a_known_one_is_an_error_saying_did_you_mean(written: str, known: str) -> None:
    assert only_error(f"# first line\n {written} = true ") == ParameterError(
        line=2,
        parameter=written,
        value="true",
        message=f"{written!r} (value 'true') is not a parameter: did you mean {known}?",
    )


@pytest.mark.parametrize(
    "written",
    ["ticketIterationSizeXYZ", "Enabble", "stickToTheHourAlways", "overlay", "enableTicketDistribution", "legacyMode"],
)
def test_name_three_or_more_edits_from_every_known_one_stays_a_warning(written: str) -> None:
    parsed = parse_parameters(f"{written}=true")
    assert parsed.unknown == {written: "true"}
    assert parsed.warnings == [f"line 1: unknown parameter {written!r} is kept but has no effect"]


def test_a_typo_of_the_feature_flag_no_longer_leaves_it_quietly_off() -> None:
    error = only_error(f"{MODE}=lifecycle\nenableTicketDistributionToCulturalContct=true\n{OVERLAY}=true")
    assert (error.line, error.value) == (2, "true") and error.message.endswith(f"did you mean {ENABLE}?")


def test_known_names_are_more_than_twice_two_edits_apart() -> None:
    """So a near miss names one known parameter without doubt, and no known name is a near miss."""
    folded = sorted(_known_folded)
    assert min(edit_distance(a, b) for a in folded for b in folded if a < b) > 2 * MAX_NEAR_MISS_EDITS


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [
        ("", "", 0),
        ("", "abc", 3),
        ("abc", "abc", 0),
        ("kitten", "sitting", 3),
        ("ab", "ba", 1),  # a transposition
        ("abcdef", "badcfe", 3),  # three transpositions
        ("ca", "abc", 2),  # transposed, then a letter inserted between (not 3 as "optimal string alignment")
        ("flaw", "lawn", 2),
        ("stickToTheHour", "stickToTheHo", 2),
    ],
)
def test_edit_distance_examples(a: str, b: str, distance: int) -> None:
    assert edit_distance(a, b) == distance == edit_distance(b, a)


# --- invisible characters are removed before parsing --------------------------------------------------


def test_a_byte_order_mark_at_the_start_no_longer_switches_the_feature_off() -> None:
    parsed = parse_parameters(f"\ufeff{MODE}=lifecycle\r\n{ENABLE}=true\r\n{OVERLAY}=true")
    assert parsed.feature_active and parsed.warnings == [] and parsed.unknown == {}


@pytest.mark.parametrize("invisible", list(INVISIBLE))
def test_zero_width_characters_anywhere_are_removed(invisible: str) -> None:
    text = f"{invisible}{SIZE[:4]}{invisible}{SIZE[4:]} ={invisible} 5{invisible}0\n{invisible}custom=a{invisible}b"
    parsed = parse_parameters(text)
    assert parsed.given == {SIZE: 50} and parsed.unknown == {"custom": "ab"}
    assert parsed.warnings == ["line 2: unknown parameter 'custom' is kept but has no effect"]


def test_errors_keep_their_line_numbers_once_invisible_characters_are_removed() -> None:
    error = only_error(f"\ufeff\n\u200b\n{SIZE}=\u200b0")
    assert (error.line, error.parameter, error.value) == (3, SIZE, "0")


# --- unknown names -------------------------------------------------------------------------------


def test_unknown_names_are_kept_with_one_warning_each_naming_line_and_name() -> None:
    parsed = parse_parameters(f"{SIZE}=5\nlegacyMode = on\n\nfoo=;bar=2")
    assert parsed.unknown == {"legacyMode": "on", "foo": "", "bar": "2"}
    assert parsed.warnings == [
        "line 2: unknown parameter 'legacyMode' is kept but has no effect",
        "line 4: unknown parameter 'foo' is kept but has no effect",
        "line 4: unknown parameter 'bar' is kept but has no effect",
    ]
    assert parsed.given == {SIZE: 5}


# --- every error collected ---------------------------------------------------------------------


def test_all_errors_are_collected_in_text_order() -> None:
    text = "\n".join(
        [
            f"{ENABLE}=yes",  # 1 bad boolean
            "# comment",  # 2
            f"{SIZE}=0; unknownThing=1",  # 3 out of range, then a warning-only entry
            "stickToTheHOUR=true",  # 4 case variant
            f"{ENABLE}=true",  # 5 duplicate
            "justAName",  # 6 malformed
            "=5",  # 7 empty name
            f"{MODE}=LIFECYCLE",  # 8 bad choice
        ]
    )
    with pytest.raises(InvalidParameters) as caught:
        parse_parameters(text)
    errors = caught.value.errors
    assert [(e.line, e.parameter, e.value) for e in errors] == [
        (1, ENABLE, "yes"),
        (3, SIZE, "0"),
        (4, "stickToTheHOUR", "true"),
        (5, ENABLE, "true"),
        (6, "justAName", ""),
        (7, "", "5"),
        (8, MODE, "LIFECYCLE"),
    ]
    first = f"line 1: {ENABLE} must be true or false (any case), got 'yes'"
    assert str(caught.value).startswith(f"{first}; line 3: {SIZE} must be")
    assert isinstance(caught.value, Exception)


# --- feature gating ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "active", "missing"),
    [
        (
            "",
            False,
            (
                ParameterName.TIXNGO_LIFECYCLE_MODE,
                ParameterName.ENABLE_TICKET_DISTRIBUTION_TO_CULTURAL_CONTACT,
            ),
        ),
        (f"{MODE}=lifecycle", False, (ParameterName.ENABLE_TICKET_DISTRIBUTION_TO_CULTURAL_CONTACT,)),
        (f"{ENABLE}=true", False, (ParameterName.TIXNGO_LIFECYCLE_MODE,)),
        (
            f"{MODE}=lifecycle\n{ENABLE}=false",
            False,
            (ParameterName.ENABLE_TICKET_DISTRIBUTION_TO_CULTURAL_CONTACT,),
        ),
        (f"{MODE}=lifecycle\n{ENABLE}=TRUE", True, ()),
    ],
)
def test_feature_active_needs_both_parameters(
    text: str, active: bool, missing: tuple[ParameterName, ...]
) -> None:
    parsed = parse_parameters(text)
    assert parsed.feature_active is active
    assert parsed.missing_for_feature() == missing


def test_f1_warning_names_the_missing_lifecycle_mode() -> None:
    [warning] = parse_parameters(f"{ENABLE}=true").prerequisite_warnings()
    assert "TIXNGO_LIFECYCLE_MODE=lifecycle" in warning and ENABLE in warning


def test_i2_warning_when_active_without_overlay() -> None:
    [warning] = parse_parameters(f"{MODE}=lifecycle\n{ENABLE}=true").prerequisite_warnings()
    assert f"{OVERLAY}=true" in warning


@pytest.mark.parametrize(
    "text",
    ["", f"{MODE}=lifecycle", f"{ENABLE}=false", f"{MODE}=lifecycle\n{ENABLE}=true\n{OVERLAY}=true"],
)
def test_no_prerequisite_warning_when_feature_not_asked_for_or_fully_set(text: str) -> None:
    assert parse_parameters(text).prerequisite_warnings() == []


# --- the typed value object guards its invariant ------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "unknown"),
    [
        ({"notAParameter": True}, {}),
        ({SIZE: True}, {}),
        ({SIZE: 0}, {}),
        ({SIZE: "10"}, {}),
        ({ENABLE: 1}, {}),
        ({MODE: "basic"}, {}),
        ({}, {"ticketiterationsize": "5"}),
        ({}, {SIZE: "5"}),
        ({}, {"a;b": "1"}),
        ({}, {"#a": "1"}),
        ({}, {" a": "1"}),
        ({}, {"": "1"}),
        ({}, {"a=b": "1"}),
        ({}, {"a": "x;y"}),
        ({}, {"a": "x\ny"}),
        ({}, {"a": " padded"}),
    ],
)
def test_parsed_parameters_refuse_values_that_could_not_come_from_text(
    given: dict[str, ParameterValue], unknown: dict[str, str]
) -> None:
    with pytest.raises(ValueError):
        ParsedParameters(given=given, unknown=unknown)


def test_warnings_take_no_part_in_equality() -> None:
    assert parse_parameters("\n\nfoo=1") == parse_parameters("foo=1")
    assert parse_parameters("\n\nfoo=1").warnings != parse_parameters("foo=1").warnings


# --- canonical text -----------------------------------------------------------------------------


def test_format_writes_known_in_table_order_then_unknown_in_given_order() -> None:
    parsed = parse_parameters(f"zeta=1; {SIZE}=0042\nalpha = x\n{ENABLE}=TRUE\n{MODE}=lifecycle")
    assert format_parameters(parsed) == "\n".join(
        [f"{MODE}=lifecycle", f"{ENABLE}=true", f"{SIZE}=42", "zeta=1", "alpha=x"]
    )


def test_format_of_nothing_is_empty() -> None:
    assert format_parameters(ParsedParameters()) == ""


# --- properties -----------------------------------------------------------------------------------

_SPECIAL = "=;\n#"


def _value_strategy(name: ParameterName) -> st.SearchStrategy[ParameterValue]:
    spec = SPECS[name]
    if spec.kind is ValueKind.BOOLEAN:
        return st.booleans()
    if spec.kind is ValueKind.INTEGER:
        return st.integers(spec.minimum, spec.maximum)
    return st.sampled_from(spec.choices)


_known_folded = {name.casefold() for name in ParameterName}


def _near_a_known_name(name: str) -> bool:
    return any(edit_distance(name.casefold(), known) <= MAX_NEAR_MISS_EDITS for known in _known_folded)


unknown_names = (
    st.text(st.characters(codec="utf-8"), min_size=1, max_size=12)
    .map(str.strip)
    .filter(
        lambda n: (
            bool(n)
            and not n.startswith("#")
            and not any(c in n for c in "=;\n" + INVISIBLE)
            and n.casefold() not in _known_folded
            and not _near_a_known_name(n)
        )
    )
)
unknown_values = (
    st.text(st.characters(codec="utf-8"), max_size=12)
    .map(str.strip)
    .filter(lambda v: not any(c in v for c in ";\n" + INVISIBLE))
)


@st.composite
def parameter_sets(draw: st.DrawFn) -> ParsedParameters:
    names = draw(st.lists(st.sampled_from(list(ParameterName)), unique=True))
    known = {name.value: draw(_value_strategy(name)) for name in names}
    unknown = draw(st.dictionaries(unknown_names, unknown_values, max_size=5))
    return ParsedParameters(given=known, unknown=unknown)


@given(parameter_sets())
def test_format_then_parse_round_trips(parsed: ParsedParameters) -> None:
    text = format_parameters(parsed)
    again = parse_parameters(text)
    assert again == parsed
    assert format_parameters(again) == text
    assert len(again.warnings) == len(parsed.unknown)


def _raw_spellings(name: ParameterName, value: ParameterValue) -> st.SearchStrategy[str]:
    """Every way an operator may validly write `value`: any case for booleans, leading zeros."""
    if isinstance(value, bool):
        word = "true" if value else "false"
        return st.tuples(*(st.sampled_from([c, c.upper()]) for c in word)).map("".join)
    if isinstance(value, int):
        return st.integers(0, 3).map(lambda zeros: "0" * zeros + str(value))
    return st.just(str(value))


spaces = st.text(" \t", max_size=2)


@st.composite
def laid_out_texts(draw: st.DrawFn) -> tuple[str, ParsedParameters]:
    """A valid text with random spacing, separators, blank entries and comments, and what it means."""
    expected = draw(parameter_sets())
    entries = [
        f"{draw(spaces)}{name}{draw(spaces)}={draw(spaces)}"
        f"{draw(_raw_spellings(ParameterName(name), value))}{draw(spaces)}"
        for name, value in expected.given.items()
    ]
    entries += [f"{draw(spaces)}{n}{draw(spaces)}={draw(spaces)}{v}" for n, v in expected.unknown.items()]
    entries = draw(st.permutations(entries))
    pieces: list[str] = []
    for entry in entries:
        if draw(st.booleans()):
            pieces.append(draw(st.sampled_from(["", " ", "# note; x=1", "  #a=b", "\t"])))
            pieces.append("\n")
        pieces.append(entry)
        pieces.append(draw(st.sampled_from(["\n", ";", " ; ", ";;", "\r\n", ";\n", "; # tail\n"])))
    return "".join(pieces), expected


# drawing a layout leaves out names within two edits of a known one (section 5), which costs an edit
# distance per name: generation is slow by design on a loaded machine, not by accident
@settings(suppress_health_check=[HealthCheck.too_slow])
@given(laid_out_texts())
def test_any_valid_layout_parses_to_its_meaning_and_survives_canonical_form(
    case: tuple[str, ParsedParameters],
) -> None:
    text, expected = case
    parsed = parse_parameters(text)
    assert parsed == expected
    assert parse_parameters(format_parameters(parsed)) == parsed


_tokens = st.sampled_from(
    [name.value for name in ParameterName]
    + ["stickToTheHOUR", "foo", "bar", "=", ";", "\n", "#", " ", "\t", "true", "FALSE", "yes", "lifecycle"]
    + ["0", "5", "10000", "100001", ""]
)


@settings(max_examples=300)
@given(st.lists(_tokens, max_size=25).map("".join))
def test_arbitrary_text_parses_or_reports_located_errors(text: str) -> None:
    line_count = text.count("\n") + 1
    try:
        parsed = parse_parameters(text)
    except InvalidParameters as invalid:
        assert invalid.errors
        for error in invalid.errors:
            assert 1 <= error.line <= line_count
            assert error.parameter in error.message or repr(error.parameter) in error.message
            assert repr(error.value) in error.message or error.value == ""
        return
    assert parse_parameters(format_parameters(parsed)) == parsed
    for warning in parsed.warnings:
        assert 1 <= int(warning.split(":")[0].removeprefix("line ")) <= line_count


_words = st.text("abcT_", max_size=8)  # a small alphabet, so that words share letters


@given(_words, _words, _words)
def test_edit_distance_is_a_metric_bounded_by_the_lengths(a: str, b: str, c: str) -> None:
    distance = edit_distance(a, b)
    assert distance == edit_distance(b, a)
    assert (distance == 0) == (a == b)
    assert abs(len(a) - len(b)) <= distance <= max(len(a), len(b))
    assert distance <= edit_distance(a, c) + edit_distance(c, b)


_edits = st.tuples(st.sampled_from(["insert", "delete", "substitute", "transpose"]), st.integers(0, 50),
                   st.sampled_from(string.ascii_letters + string.digits + "_-. "))


def _edited(word: str, edit: tuple[str, int, str]) -> str:
    kind, at, char = edit
    if not word:
        return char
    at %= len(word)
    if kind == "insert":
        return word[:at] + char + word[at:]
    if kind == "delete":
        return word[:at] + word[at + 1:]
    if kind == "substitute":
        return word[:at] + char + word[at + 1:]
    at = min(at, len(word) - 2) if len(word) > 1 else 0
    return word[:at] + word[at + 1:at + 2] + word[at:at + 1] + word[at + 2:]


@given(_words, st.lists(_edits, max_size=4))
def test_k_edits_are_at_most_distance_k(word: str, edits: list[tuple[str, int, str]]) -> None:
    edited = word
    for edit in edits:
        edited = _edited(edited, edit)
    assert edit_distance(word, edited) <= len(edits)


@given(st.sampled_from(list(ParameterName)), st.lists(_edits, min_size=1, max_size=MAX_NEAR_MISS_EDITS))
def test_any_typo_of_a_known_name_is_refused_naming_it(name: ParameterName, edits: list[tuple[str, int, str]]) -> None:
    typo = name.value
    for edit in edits:
        typo = _edited(typo, edit)
    typo = typo.strip()
    assume(typo != name.value)
    with pytest.raises(InvalidParameters) as caught:
        parse_parameters(f"{typo}=1")
    [error] = caught.value.errors
    assert error.parameter == typo and error.message.endswith((f"did you mean {name.value}?", f"write {name.value}"))


@given(laid_out_texts(), st.lists(st.tuples(st.integers(0, 10_000), st.sampled_from(INVISIBLE)), max_size=6))
def test_invisible_characters_anywhere_change_nothing(case: tuple[str, ParsedParameters],
                                                      insertions: list[tuple[int, str]]) -> None:
    text, expected = case
    for at, char in insertions:
        at %= len(text) + 1
        text = text[:at] + char + text[at:]
    assert parse_parameters(text) == expected
