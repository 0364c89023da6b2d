"""Every malformed request gets a 4xx error envelope, never a 500, and writes nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select

from tests.support.backoffice import contact_body, created, event_body, interface_body, new_ticket
from tixtrace.backoffice.db.tables import metadata, users
from tixtrace.kernel.db import unit_of_work


def assert_envelope(response: Any, *statuses: int) -> dict[str, Any]:
    assert response.status_code in (statuses or range(400, 500)), (response.status_code, response.text)
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details"}
    assert isinstance(error["code"], str) and error["code"].isupper() and error["message"]
    return error  # type: ignore[no-any-return]


def send(api: TestClient, method: str, path: str, body: Any) -> Any:
    """JSON with non-ASCII escaped, so that even lone surrogates reach the server as JSON allows."""
    return api.request(method, path, content=json.dumps(body).encode(), headers={"Content-Type": "application/json"})


def row_counts(engine: Engine) -> dict[str, int]:
    with unit_of_work(engine, write=False) as conn:
        return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
                for t in metadata.sorted_tables if t is not users}


@pytest.fixture
def ids(api: TestClient) -> dict[str, int]:
    """One of each resource, so that the paths below exist."""
    ticket = new_ticket(api)
    iid = created(api, "/api/interfaces", interface_body())["id"]
    return {"ticket": ticket["id"], "interface": iid}


def endpoints(ids: dict[str, int]) -> dict[str, tuple[str, str, dict[str, Any]]]:
    """name -> (method, path, a valid body)."""
    return {
        "contact": ("POST", "/api/contacts", contact_body()),
        "event": ("POST", "/api/events", event_body()),
        "ticket": ("POST", "/api/tickets", {"eventCode": "X", "culturalContactId": 1}),
        "interface": ("POST", "/api/interfaces", interface_body()),
        "interface-update": ("PUT", f"/api/interfaces/{ids['interface']}", interface_body()),
        "schedule": ("POST", f"/api/interfaces/{ids['interface']}/schedules",
                     {"function": "PUSH_CANCELLED", "launch": "MANUAL"}),
    }


NUL = "bad\x00value"
SURROGATE = "bad\ud800value"


def malformed_bodies(valid: dict[str, Any]) -> list[tuple[str, Any]]:
    cases: list[tuple[str, Any]] = [("empty", {}), ("array", [valid]), ("null", None), ("string", "x"),
                                    ("unknown-field", {**valid, "surprise": 1})]
    for field, value in valid.items():
        rest = {k: v for k, v in valid.items() if k != field}
        cases.append((f"missing-{field}", rest))
        if isinstance(value, str):
            cases += [(f"int-{field}", {**valid, field: 7}), (f"nul-{field}", {**valid, field: NUL}),
                      (f"surrogate-{field}", {**valid, field: SURROGATE}),
                      (f"long-{field}", {**valid, field: "x" * 20_000}), (f"object-{field}", {**valid, field: {}})]
        elif isinstance(value, bool):
            cases += [(f"string-{field}", {**valid, field: "true"}), (f"int-{field}", {**valid, field: 1})]
        elif isinstance(value, int):
            cases += [(f"string-{field}", {**valid, field: "1"}), (f"huge-{field}", {**valid, field: 10**40}),
                      (f"float-{field}", {**valid, field: 1.5}), (f"negative-{field}", {**valid, field: -(2**70)})]
        elif isinstance(value, list):
            cases += [(f"scalar-{field}", {**valid, field: "a@b.example"}),
                      (f"nul-item-{field}", {**valid, field: [NUL]}), (f"int-item-{field}", {**valid, field: [1]})]
        elif isinstance(value, dict):
            cases += [(f"list-{field}", {**valid, field: [value]}), (f"empty-{field}", {**valid, field: {}})]
    return cases


def test_malformed_bodies_get_a_4xx_envelope_and_write_nothing(api: TestClient, engine: Engine,
                                                               ids: dict[str, int]) -> None:
    before = row_counts(engine)
    for name, (method, path, valid) in endpoints(ids).items():
        optional = {"interface-update": {"password"}}.get(name, set())
        for case, body in malformed_bodies(valid):
            if case.startswith("missing-") and case[len("missing-"):] in optional | {
                    "hasInternetAccount", "notificationEmails", "customParameters"}:
                continue  # optional fields: leaving them out is fine
            assert_envelope(send(api, method, path, body))
    for raw in (b"{", b'{"kind": }', b"\xff\xfe\x00", b"", b"[]" * 1000, b'{"a":' * 5000,
                b"[" * 100_000 + b"]" * 100_000):
        for method, path, _ in endpoints(ids).values():
            assert_envelope(api.request(method, path, content=raw, headers={"Content-Type": "application/json"}))
    assert row_counts(engine) == before


def test_bad_paths_and_query_parameters(api: TestClient, ids: dict[str, int]) -> None:
    for path in ("/api/contacts/abc", "/api/contacts/0", f"/api/tickets/{10**30}", "/api/events/-1",
                 f"/api/tickets/{2**63}/cancel", "/api/executions/1.5", "/api/schedules/ "):
        method = "POST" if path.endswith("/cancel") else "GET"
        assert_envelope(api.request(method, path), 404, 422)
    for params in ({"email": NUL}, {"email": "x" * 1000}, {"limit": 0}, {"limit": 100000}, {"limit": "many"},
                   {"limit": "120.00"}, {"cursor": "%%%"}):
        assert_envelope(api.get("/api/contacts", params=params), 422)
    assert_envelope(api.get("/api/tickets", params={"number": NUL}), 422)
    assert_envelope(api.get("/api/events", params={"code": NUL}), 422)
    assert_envelope(api.delete("/api/contacts"), 405)
    assert_envelope(api.get("/api/nothing-here"), 404)


json_scalars = st.none() | st.booleans() | st.integers(min_value=-(2**80), max_value=2**80) | \
    st.floats(allow_nan=False) | st.text(max_size=30)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=10), inner, max_size=3), max_leaves=8)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_bodies_never_cause_a_500(api: TestClient, ids: dict[str, int], data: st.DataObject) -> None:
    method, path, valid = data.draw(st.sampled_from(sorted(endpoints(ids).values())))
    names = sorted(valid) + ["venue", "price", "birthDate", "startTime", "eventCodes", "bogus"]
    body = data.draw(st.fixed_dictionaries({}, optional={name: json_values for name in names})
                     | st.builds(lambda base, patch: {**base, **patch}, st.just(valid),
                                 st.dictionaries(st.sampled_from(names), json_values, max_size=3)))
    response = send(api, method, path, body)
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert_envelope(response)
