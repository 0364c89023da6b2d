"""services/audit.py (O2): the entry commits with its change or not at all, never holds a password,
and users' changes name their actor."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select

from tests.support.backoffice import START
from tixtrace.backoffice.db.tables import audit_log
from tixtrace.backoffice.services import audit
from tixtrace.backoffice.services.audit import SECRET, diff, list_audit, record
from tixtrace.backoffice.services.interfaces import NewInterface, create_interface
from tixtrace.backoffice.services.users import create_user, disable_user, set_password
from tixtrace.kernel.db import unit_of_work
from tixtrace.kernel.errors import BadInput


def _entries(engine: Engine) -> int:
    with unit_of_work(engine, write=False) as conn:
        return int(conn.execute(select(func.count()).select_from(audit_log)).scalar_one())


def test_diff_keeps_what_changed_and_hides_passwords() -> None:
    assert diff({"a": 1, "b": [1], "password": "old"}, {"a": 1, "b": [1, 2], "password": "new"}) == {
        "b": [[1], [1, 2]], "password": [SECRET, SECRET]}
    assert diff(None, {"name": "x", "password": "p"}) == {"name": [None, "x"], "password": [None, SECRET]}
    assert diff({"when": START}, None) == {"when": ["2026-06-01T09:00:00.000Z", None]}


def test_an_entry_never_holds_a_password_value(engine: Engine) -> None:
    with pytest.raises(ValueError, match="password"), unit_of_work(engine) as conn:
        record(conn, actor="ana", action=audit.Action.UPDATE, object_type=audit.ObjectType.USER, object_id=1,
               changes={"password": ["old", "new"]}, at=START)
    assert _entries(engine) == 0


def test_a_refused_change_leaves_no_entry_and_a_rolled_back_one_neither(engine: Engine) -> None:
    bad = NewInterface("x", "TIXNGO", "ftp://nope", "a@b.example", "pw", [], "")
    with pytest.raises(BadInput), unit_of_work(engine) as conn:
        create_interface(conn, bad, START, actor="ana")
    good = NewInterface("x", "TIXNGO", "http://wallet.test/organizer/tickets", "a@b.example", "pw", [], "")
    with pytest.raises(RuntimeError), unit_of_work(engine) as conn:
        create_interface(conn, good, START, actor="ana")
        raise RuntimeError("the unit of work fails after the change")
    assert _entries(engine) == 0


def test_users_changes_are_audited_with_their_actor_never_the_password(engine: Engine) -> None:
    with unit_of_work(engine) as conn:
        user = create_user(conn, "bea", "a long enough password", START, actor=audit.CLI)
        set_password(conn, "bea", "another long password", START, actor=audit.CLI)
        disable_user(conn, "bea", START, actor="operator")
        disable_user(conn, "bea", START, actor="operator")  # already disabled: no second entry
        entries, _ = list_audit(conn, object_type="user", object_id=user.id)
    assert [(e.action, e.actor) for e in entries] == [("DISABLE", "operator"), ("SET_PASSWORD", "cli"),
                                                      ("CREATE", "cli")]
    assert entries[1].changes == {"password": [SECRET, SECRET]}
    assert entries[2].changes == {"name": [None, "bea"], "password": [None, SECRET]}
    assert entries[0].changes == {"disabledAt": [None, "2026-06-01T09:00:00.000Z"]}
    assert "long" not in repr(entries)
