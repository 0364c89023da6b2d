"""Schemathesis over a service's own OpenAPI document, shared by the wallet and back-office fuzz tests.

`fuzz` loads the document an app serves (``/openapi.json``, over ASGI: no socket), and for every
operation draws cases in both generation modes, positive (bodies, queries and paths that fit the
document) and negative (ones that break it), sends each with valid credentials chosen by the caller,
and holds every answer to the document with schemathesis's checks. Hypothesis runs derandomized, with
no example database, so a run is reproducible in CI. It returns how many requests it sent, per
operation, so the tests can prove the volume they claim.
"""

from __future__ import annotations

import base64
import zlib
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

import hypothesis.strategies as st
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

#: What every answer must satisfy: no 5xx; a status the operation declares; the declared content type,
#: headers and body schema; invalid input refused with a 4xx. (schemathesis's ``ignored_auth`` is
#: replaced by `_run`'s own probe: its wrong credentials reuse one user name, which a login throttle
#: rightly answers with 429 after a few tries.)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance, negative_data_rejection]

Headers = Callable[[str], dict[str, str]]
"""The credentials to send for an operation's path (valid ones; an empty dict for open routes)."""


def fuzz(app: Any, headers: Headers, *, examples: int,
         fixed_paths: Mapping[str, list[dict[str, Any]]] | None = None,
         pinned: Mapping[str, list[dict[str, Any]]] | None = None,
         skip: frozenset[str] = frozenset()) -> Counter[str]:
    """Fuzz every operation of ``app``'s document except ``skip`` (labels like ``"GET /x/{id}"``).

    ``fixed_paths[label]``: path parameters of existing resources; positive cases draw one of them or
    generated ones (one branch each), so the routes are exercised past their 404 as well as with
    generated ids.
    ``pinned[label]``: the only path parameters allowed for that operation (its generated ids would
    reach resources the fuzzer itself created, e.g. a schedule pointing at a random URL).
    Each operation's first positive case is also replayed without credentials, then with wrong ones,
    expecting a declared 401 with the error envelope each time.
    Returns the number of requests sent per operation label.
    """
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    # Valid credentials are ours to send (`headers`); whether they are enforced is `_run`'s probe.
    # Unknown query parameters are ignored by both services (HTTP convention; bodies refuse unknown fields).
    schema.config.generation.update(with_security_parameters=False, allow_extra_parameters=False)
    sent: Counter[str] = Counter()
    failures: list[str] = []
    labels: list[str] = []
    fixed_paths = fixed_paths or {}
    pinned = pinned or {}
    for result in schema.get_all_operations():
        if isinstance(result, Err):  # the document itself does not load: fail with schemathesis's reason
            raise result.err()
        operation = result.ok()
        label = f"{operation.method.upper()} {operation.path}"
        if label in skip:
            continue
        labels.append(label)
        credentials = headers(operation.path)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            if label in pinned:
                strategy = st.one_of(*[operation.as_strategy(generation_mode=mode, path_parameters=p)
                                       for p in pinned[label]])
            else:
                strategy = operation.as_strategy(generation_mode=mode)
                if mode is GenerationMode.POSITIVE and label in fixed_paths:
                    strategy = st.one_of(strategy, *[operation.as_strategy(generation_mode=mode, path_parameters=p)
                                                     for p in fixed_paths[label]])
            probe_auth = bool(credentials) and mode is GenerationMode.POSITIVE
            try:
                _run(strategy, label, credentials, examples, sent, probe_auth)
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE, label  # no input to break (e.g. GET /health)
            except (Exception, BaseExceptionGroup) as exc:  # keep going: one report names every operation that failed
                failures.append(f"--- {label} ({mode.value}):\n{exc}")
    assert not failures, f"{len(failures)} operation(s) break the document:\n" + "\n".join(failures)
    assert not [label for label in labels if not sent[label]], "operations never exercised"
    return sent


def _wrong(credentials: dict[str, str], label: str) -> dict[str, str]:
    """Credentials of the same scheme that are not valid (a user name of its own per operation, so
    a login throttle keyed by user name never turns the expected 401 into a 429)."""
    scheme = credentials["Authorization"].split(" ", 1)[0]
    if scheme == "Basic":
        user = f"nobody-{zlib.crc32(label.encode())}@fuzz.example"
        return {"Authorization": "Basic " + base64.b64encode(f"{user}:wrong".encode()).decode()}
    return {"Authorization": f"{scheme} not-a-valid-token"}


def _run(strategy: Any, label: str, credentials: dict[str, str], examples: int, sent: Counter[str],
         probe_auth: bool) -> None:
    @given(case=strategy)
    @settings(max_examples=examples, derandomize=True, database=None, deadline=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck),
              print_blob=False)
    def run(case: Any) -> None:
        sent[label] += 1
        response = case.call(headers=credentials)
        case.validate_response(response, checks=CHECKS, headers=credentials)

    @given(case=strategy)
    @settings(max_examples=1, derandomize=True, database=None, deadline=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck),
              print_blob=False)
    def probe(case: Any) -> None:  # no credentials, then wrong ones: a declared 401 with the envelope
        for headers in ({}, _wrong(credentials, label)):
            sent[label] += 1
            refused = case.call(headers=headers)
            assert refused.status_code == 401, (label, headers, refused.status_code, refused.text)
            assert refused.json()["error"]["code"], refused.text
            case.validate_response(refused, checks=CHECKS, headers=headers)

    run()
    if probe_auth:
        probe()
