"""kernel/forms.py: bounded URL-encoded forms; every odd body is a BadInput with a stable code, never a 500."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tixtrace.kernel.errors import BadInput
from tixtrace.kernel.forms import read_form


async def _echo(request: Request) -> JSONResponse:
    try:
        form = await read_form(request, max_bytes=1024, max_fields=5, labels={"name": "Name"})
    except BadInput as exc:
        return JSONResponse({"code": exc.code, "message": exc.message}, status_code=422)
    return JSONResponse({"fields": form.fields, "name": form.get("name"), "text": form.text("name"),
                         "optional": form.optional("blank"), "missing": form.get("missing"), "has": "name" in form})


@pytest.fixture
def client() -> TestClient:
    return TestClient(Starlette(routes=[Route("/", _echo, methods=["POST"])]))


def test_a_form_reads_its_fields(client: TestClient) -> None:
    body = client.post("/", data={"name": [" Zoé ", "second"], "blank": " "}).json()
    assert body == {"fields": {"name": [" Zoé ", "second"], "blank": [" "]}, "name": " Zoé ", "text": "Zoé",
                    "optional": None, "missing": "", "has": True}
    assert client.post("/").json()["fields"] == {}
    assert client.post("/", headers={"Content-Type": "application/json"}).json()["fields"] == {}  # empty is empty


@pytest.mark.parametrize(("content", "content_type", "code"), [
    (b"a=1", "application/json", "UNSUPPORTED_FORM"),
    (b"--x\r\n", "multipart/form-data; boundary=x", "UNSUPPORTED_FORM"),
    (b"a=" + b"1" * 2000, "application/x-www-form-urlencoded", "FORM_TOO_LARGE"),
    ("name=é".encode(), "application/x-www-form-urlencoded", "INVALID_FORM"),  # not percent-encoded
    (b"name=%ff%fe", "application/x-www-form-urlencoded", "INVALID_FORM"),
    (b"a=1&b=2&c=3&d=4&e=5&f=6", "application/x-www-form-urlencoded", "INVALID_FORM"),
    (b"name=a%00b", "application/x-www-form-urlencoded", "INVALID_INPUT"),
])
def test_odd_bodies_are_refused_with_a_code(client: TestClient, content: bytes, content_type: str, code: str) -> None:
    answer = client.post("/", content=content, headers={"Content-Type": content_type})
    assert answer.status_code == 422 and answer.json()["code"] == code
    if code == "INVALID_INPUT":
        assert answer.json()["message"].startswith("Name: ")
