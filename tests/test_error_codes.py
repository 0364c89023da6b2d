"""Error codes are a public contract kept in catalogues (`KernelCode`, `CommandCode`, `WalletCode`,
`BackofficeCode`): the OpenAPI documents list exactly what each service may answer, no raise site
spells a code as a literal, and no catalogue keeps a code nothing raises."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import create_engine

from tixtrace.backoffice.app import create_backoffice_app
from tixtrace.backoffice.domain.errors import BackofficeCode
from tixtrace.kernel.errors import CommandCode, KernelCode
from tixtrace.wallet.app import create_wallet_app
from tixtrace.wallet.domain.errors import WalletCode

SRC = Path(__file__).resolve().parents[1] / "src" / "tixtrace"
CATALOGUES: dict[str, type[StrEnum]] = {
    "KernelCode": KernelCode, "CommandCode": CommandCode, "WalletCode": WalletCode, "BackofficeCode": BackofficeCode,
}


def _apps() -> Iterator[tuple[str, FastAPI, set[str]]]:
    memory = create_engine("sqlite://")  # building the apps touches no table
    wallet_codes = {*WalletCode, *KernelCode}
    yield "wallet", create_wallet_app(memory), wallet_codes
    yield "wallet (sandbox)", create_wallet_app(memory, sandbox=True), wallet_codes
    yield "back office", create_backoffice_app(memory), {*BackofficeCode, *KernelCode}


def _error_schemas(document: dict[str, Any]) -> Iterator[tuple[str, str, str]]:
    """(path, status, schema name) of every 4xx/5xx answer the document declares."""
    for path, operations in document["paths"].items():
        for operation in operations.values():
            for status, response in operation.get("responses", {}).items():
                if status[0] in "45":
                    ref = response["content"]["application/json"]["schema"]["$ref"]
                    yield path, status, ref.rsplit("/", 1)[-1]


@pytest.mark.parametrize(("name", "app", "codes"), [pytest.param(*entry, id=entry[0]) for entry in _apps()])
def test_the_document_lists_exactly_the_codes_of_the_catalogues(name: str, app: FastAPI, codes: set[str]) -> None:
    document = app.openapi()
    documented = document["components"]["schemas"]["ErrorBody"]["properties"]["code"]["enum"]
    assert sorted(documented) == sorted(str(code) for code in codes), name
    assert not set(documented) & set(CommandCode), "command-line codes are not HTTP answers"


@pytest.mark.parametrize(("name", "app", "codes"), [pytest.param(*entry, id=entry[0]) for entry in _apps()])
def test_every_error_answer_uses_the_catalogued_envelope(name: str, app: FastAPI, codes: set[str]) -> None:
    """Only the back office's organizer transfer may relay a code of another service (the wallet's)."""
    relayed = {(path, status) for path, status, schema in _error_schemas(app.openapi()) if schema != "ErrorEnvelope"}
    expected = {("/api/tickets/{ticket_id}/transfer", status) for status in ("400", "409", "422")}
    assert relayed == (expected if name == "back office" else set()), name


def test_the_catalogues_do_not_overlap_the_kernel() -> None:
    """A service code equal to a kernel one would be two names for one code."""
    kernel = {*KernelCode, *CommandCode}
    assert not set(WalletCode) & kernel and not set(BackofficeCode) & kernel
    for catalogue in CATALOGUES.values():
        assert all(member.name == member.value for member in catalogue), catalogue.__name__


def _modules() -> Iterator[tuple[Path, ast.Module]]:
    for path in sorted(SRC.rglob("*.py")):
        yield path, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _spelled(node: ast.expr | None) -> bool:
    """A code written out in the source: a string, or an f-string, instead of a catalogue member."""
    return isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant) and isinstance(node.value, str))


def literal_codes(tree: ast.Module) -> list[int]:
    """Line numbers of codes spelled as literals: ``code="..."`` in a call, ``default_code = "..."``,
    a parameter ``code`` defaulting to a string, or the code argument of ``error_response(status, code,...)``."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            lines += [node.lineno for kw in node.keywords if kw.arg == "code" and _spelled(kw.value)]
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
            if name == "error_response" and len(node.args) > 1 and _spelled(node.args[1]):
                lines.append(node.lineno)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == "default_code" for t in targets) and _spelled(node.value):
                lines.append(node.lineno)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            arguments = node.args
            positional = arguments.posonlyargs + arguments.args
            pairs = list(zip(positional[len(positional) - len(arguments.defaults):], arguments.defaults, strict=True))
            pairs += [(a, d) for a, d in zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True) if d is not None]
            lines += [node.lineno for arg, default in pairs if arg.arg == "code" and _spelled(default)]
    return lines


def test_the_literal_finder_finds_literals() -> None:
    """The scan below would pass vacuously if it recognised nothing."""
    source = '''
raise BadInput("m", code="SOME_CODE")
raise NotFound("m", code=f"{what}_NOT_FOUND")
error_response(422, "INVALID_INPUT", "m")
class Refused(TixtraceError):
    default_code = "REFUSED"
def refuse(problems, *, code: str = "INVALID_INPUT"): ...
raise BadInput("m", code=KernelCode.INVALID_INPUT)
'''
    assert sorted(literal_codes(ast.parse(source))) == [2, 3, 4, 6, 7]


def test_no_code_is_spelled_outside_the_catalogues() -> None:
    found = [f"{path.relative_to(SRC)}:{line}" for path, tree in _modules() for line in literal_codes(tree)]
    assert not found, f"name a catalogue member (tixtrace.kernel.errors, <service>/domain/errors.py): {found}"


def test_every_catalogued_code_is_raised_somewhere() -> None:
    """A code nothing raises is a promise nobody keeps: delete it (or its raise site went missing)."""
    named: set[tuple[str, str]] = set()
    for _path, tree in _modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in CATALOGUES:
                named.add((node.value.id, node.attr))
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "path_id":
                what = node.args[1]  # the screens' path_id(value, what) looks up <WHAT>_NOT_FOUND
                assert isinstance(what, ast.Constant) and isinstance(what.value, str)
                named.add(("BackofficeCode", f"{what.value.upper()}_NOT_FOUND"))
    for name, catalogue in CATALOGUES.items():
        unused = sorted(member.name for member in catalogue if (name, member.name) not in named)
        assert not unused, f"{name}: nothing raises {unused}"
    unknown = sorted(f"{name}.{attr}" for name, attr in named
                     if attr not in CATALOGUES[name].__members__ and not attr.startswith("_"))
    assert not unknown, unknown
