"""The feedback's triage (domain/triage.py), pure: examples of each rule, then its invariants as properties.

Pages are lists of raw records: good ones (``parse_record`` accepts them), bad ones (an unknown status)
and a few without a usable recordId or not even an object, over a handful of tickets, so that parked
tickets, skip lists and already applied ids collide often.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tixtrace.backoffice.domain.triage import BEHIND, Action, Mode, Triage, in_record_order, triage
from tixtrace.backoffice.interfaces.tixngo.records import from_json_value, from_json_values, stored

TICKETS = ("T1", "T2", "T3")


def good(record_id: Any, ticket: str) -> dict[str, Any]:
    return {"recordId": record_id, "ticketId": ticket, "status": "DOWNLOADED", "occurredAt": "2026-06-11T18:00:00Z"}


def bad(record_id: Any, ticket: str) -> dict[str, Any]:
    return {"recordId": record_id, "ticketId": ticket, "status": "LOST", "occurredAt": "2026-06-11T18:00:00Z"}


def run(page: list[Any], mode: Mode = Mode.FEED, *, last_applied: int = 0, parked: tuple[str, ...] = (),
        skip: tuple[str, ...] = (), go_on: bool = True, kept: dict[int, Any] | None = None) -> Triage:
    """The triage of a page of JSON values, decoded as the feedback decodes them; each decision's raw
    record given back as JSON values (as it would be parked)."""
    result = triage(from_json_values(page), mode=mode, last_applied=last_applied, parked_tickets=parked, skip=skip,
                    continue_on_error=go_on,
                    kept={k: from_json_value(v) for k, v in kept.items()} if kept is not None else None)
    return Triage([replace(d, raw=stored(d.raw)) for d in result.decisions], result.newest, result.stop)


def actions(result: Triage) -> list[tuple[Action, Any]]:
    return [(d.action, d.record_id) for d in result.decisions]


# --- examples, one rule each ---

def test_a_bad_record_is_parked_and_later_records_of_its_ticket_wait_behind_it():
    result = run([good(1, "T1"), bad(2, "T1"), good(3, "T2"), good(4, "T1")])
    assert actions(result) == [(Action.APPLY, 1), (Action.PARK, 2), (Action.APPLY, 3), (Action.PARK_BEHIND, 4)]
    assert result.decisions[3].error == BEHIND
    assert [r.record_id for r in result.ready()] == [1, 3]
    assert result.newest == 4 and result.stop is None


def test_without_continue_the_triage_stops_before_the_bad_record():
    result = run([good(1, "T1"), bad(2, "T2"), good(3, "T3")], go_on=False)
    assert actions(result) == [(Action.APPLY, 1), (Action.HOLD, 2)]  # kept ahead of the feed, to be fixed
    assert result.newest == 1  # the feed has not passed it: it is met again next time
    assert result.stop is not None and result.stop.startswith("record 2: ")
    assert "doContinueInCaseOfSyncError=false" in result.stop


def test_records_already_applied_are_not_decided_in_the_feed_only():
    page = [good(3, "T1"), good(5, "T2"), good(6, "T3")]
    assert actions(run(page, last_applied=5)) == [(Action.APPLY, 6)]
    assert actions(run(page, Mode.UPLOAD, last_applied=5)) == [(Action.APPLY, 3), (Action.APPLY, 5), (Action.APPLY, 6)]


def test_skip_list_and_a_ticket_parked_before_the_page():
    result = run([good(1, "T1"), good(2, "T2"), good(3, "T3")], parked=("T2",), skip=("T1", "T2"))
    assert actions(result) == [(Action.SKIP, 1), (Action.PARK_BEHIND, 2), (Action.APPLY, 3)]


def test_retrying_parked_records_unparks_those_that_apply_and_keeps_the_rest_in_order():
    result = run([bad(2, "T1"), good(4, "T1"), good(5, "T2"), good(6, "T3")], Mode.PARKED,
                 parked=("T1", "T2"), skip=("T3",))
    assert actions(result) == [(Action.STILL_PARKED, 2), (Action.KEEP_PARKED, 4), (Action.APPLY, 5),
                               (Action.SKIP, 6)]
    assert [d.unpark for d in result.decisions] == [False, False, True, True]


def test_a_support_file_stops_or_parks_like_the_feed():
    """Section 6: a file to upload, doContinueInCaseOfSyncError=false, stops before its bad record
    (nothing kept: the file is fixed); true parks it with the later records of its ticket behind it."""
    page = [bad(1, "T1"), good(2, "T1"), good(3, "T2"), "junk"]
    stopped = run(page, Mode.UPLOAD, go_on=False)
    assert actions(stopped) == [] and stopped.stop is not None
    assert stopped.stop.startswith("record 1 of the file: ") and "stops before it" in stopped.stop
    going = run(page, Mode.UPLOAD, go_on=True)
    assert actions(going) == [(Action.PARK, 1), (Action.PARK_BEHIND, 2), (Action.APPLY, 3), (Action.DROP, None)]
    assert going.stop is None and [d.unpark for d in going.decisions] == [False, False, True, False]


def test_records_are_decided_in_record_id_order_whatever_the_page_order():
    page = [good(3, "T1"), good(1, "T1"), bad("x", "T2"), good(2, "T3")]
    assert [raw.recordId for raw in in_record_order(from_json_values(page))] == [1, "x", 2, 3]
    assert actions(run(page)) == [(Action.APPLY, 1), (Action.DROP, "x"), (Action.APPLY, 2), (Action.APPLY, 3)]
    assert [r.record_id for r in run(page).ready()] == [1, 2, 3]


def test_a_kept_record_ahead_of_the_feed_is_used_when_the_wallet_version_cannot_be():
    """The record a run stopped on, replaced by a support file's fixed version, releases the feed;
    a wallet version that parses is preferred, and either way the kept row leaves the parked records."""
    page = [good(1, "T2"), bad(2, "T1"), good(3, "T1")]
    fixed = run(page, go_on=False, kept={2: good(2, "T1")})
    assert actions(fixed) == [(Action.APPLY, 1), (Action.APPLY, 2), (Action.APPLY, 3)] and fixed.stop is None
    assert fixed.decisions[1].raw == good(2, "T1") and [d.unpark for d in fixed.decisions] == [False, True, False]
    still = run(page, go_on=False, kept={2: bad(2, "T1")})
    assert actions(still) == [(Action.APPLY, 1), (Action.HOLD, 2)] and still.stop is not None
    sound = run([good(2, "T1")], kept={2: bad(2, "T1")})
    assert actions(sound) == [(Action.APPLY, 2)] and sound.decisions[0].unpark


def test_a_bad_record_without_a_usable_record_id_is_dropped_but_still_holds_its_ticket():
    result = run([bad("x", " T1 "), good(3, "T1")])
    assert actions(result) == [(Action.DROP, "x"), (Action.PARK_BEHIND, 3)]
    assert result.decisions[0].ticket == "T1" and result.newest == 3


# --- properties ---

record_ids = st.one_of(st.integers(0, 30), st.integers(0, 30), st.integers(0, 30), st.none(), st.just("7"))
raw_records = st.one_of(
    st.builds(good, st.integers(0, 30), st.sampled_from(TICKETS)),
    st.builds(good, st.integers(0, 30), st.sampled_from(TICKETS)),
    st.builds(bad, record_ids, st.sampled_from(TICKETS)),
    st.just("not a record"),
)
pages = st.lists(raw_records, max_size=25)
ticket_sets = st.sets(st.sampled_from(TICKETS)).map(tuple)
modes = st.sampled_from(Mode)


def _int_id(raw: Any) -> int | None:
    record_id = raw.get("recordId") if isinstance(raw, dict) else None
    return record_id if isinstance(record_id, int) else None


def _considered(page: list[Any], mode: Mode, last_applied: int) -> list[Any]:
    """The records the triage must decide: all but, in the feed, those already applied."""
    ordered = map(stored, in_record_order(from_json_values(page)))
    return [raw for raw in ordered if not (mode is Mode.FEED and (_int_id(raw) or 0) <= last_applied
                                           and _int_id(raw) is not None)]


@settings(max_examples=150, deadline=None)
@given(page=pages, mode=modes, last_applied=st.integers(0, 20), parked=ticket_sets, skip=ticket_sets,
       go_on=st.booleans())
def test_decisions_follow_the_page_and_never_apply_out_of_turn(page, mode, last_applied, parked, skip, go_on):
    result = run(page, mode, last_applied=last_applied, parked=parked, skip=skip, go_on=go_on)
    considered = _considered(page, mode, last_applied)
    # the decisions are the considered records in recordId order, cut at the stop if any (the
    # stopping record of the feed is decided HOLD)
    decided = [d.raw for d in result.decisions]
    assert decided == considered[:len(decided)]
    if result.stop is None:
        assert len(decided) == len(considered)
    else:
        assert not go_on
        held = [d for d in result.decisions if d.action is Action.HOLD]
        assert len(decided) - len(held) < len(considered)
        assert held == [] or (mode is Mode.FEED and held == result.decisions[-1:])
    assert [_int_id(d.raw) for d in result.decisions if _int_id(d.raw) is not None] == \
        sorted(_int_id(d.raw) for d in result.decisions if _int_id(d.raw) is not None)
    # already applied records are never decided in the feed
    if mode is Mode.FEED:
        assert all(not isinstance(d.record_id, int) or d.record_id > last_applied for d in result.decisions)
    # per ticket: once a record waits, every later record of the ticket waits too (order kept);
    # a ticket parked before the page never applies (except when retrying the parked records)
    waiting = set() if mode is Mode.PARKED else set(parked)
    for d in result.decisions:
        if d.ticket in waiting:
            assert d.action in {Action.PARK, Action.DROP, Action.PARK_BEHIND, Action.STILL_PARKED,
                                Action.KEEP_PARKED, Action.HOLD}
        if d.action in {Action.PARK, Action.DROP, Action.STILL_PARKED}:
            waiting.add(d.ticket)
        # the skip list: never applied
        if d.ticket in skip:
            assert d.action is not Action.APPLY
        if d.action is Action.APPLY:
            assert d.ticket not in skip and d.record is not None
        # un-parked exactly when retried or uploaded and applied or skipped now
        assert d.unpark == (mode is not Mode.FEED and d.action in {Action.APPLY, Action.SKIP})
    # nothing is parked, dropped or kept aside for being bad unless the run may continue
    kinds = {d.action for d in result.decisions}
    if not go_on:
        assert not kinds & {Action.PARK, Action.DROP, Action.STILL_PARKED}
    if mode is not Mode.FEED:
        assert Action.HOLD not in kinds
    if mode is Mode.PARKED:
        assert not kinds & {Action.PARK, Action.DROP, Action.PARK_BEHIND}
    else:
        assert not kinds & {Action.STILL_PARKED, Action.KEEP_PARKED}
    # the cursor: the highest recordId decided (a held record aside: the feed has not passed it)
    ids = [d.record_id for d in result.decisions if isinstance(d.record_id, int) and d.action is not Action.HOLD]
    assert result.newest == max([last_applied, *ids])


@settings(max_examples=100, deadline=None)
@given(page=pages, mode=modes, last_applied=st.integers(0, 20),
       parked=ticket_sets, skip=ticket_sets)
def test_stopping_decides_exactly_the_records_before_the_first_bad_one(page, mode, last_applied, parked, skip):
    stopped = run(page, mode, last_applied=last_applied, parked=parked, skip=skip, go_on=False)
    going = run(page, mode, last_applied=last_applied, parked=parked, skip=skip, go_on=True)
    first_bad = next((i for i, d in enumerate(going.decisions)
                      if d.action in {Action.PARK, Action.DROP, Action.STILL_PARKED}), None)
    if first_bad is None:
        assert stopped == going
    else:
        bad_one = going.decisions[first_bad]
        assert stopped.decisions[:first_bad] == going.decisions[:first_bad]
        held = [(d.action, d.record_id) for d in stopped.decisions[first_bad:]]
        keeps = mode is Mode.FEED and isinstance(bad_one.record_id, int)
        assert held == ([(Action.HOLD, bad_one.record_id)] if keeps else [])
        where = " of the file" if mode is Mode.UPLOAD else ""
        assert stopped.stop is not None and stopped.stop.startswith(f"record {bad_one.record_id}{where}: ")
