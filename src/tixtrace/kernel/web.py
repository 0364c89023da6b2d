"""What both HTTP services share: the error envelope, the health route and the API model base.

Every error leaves as ``{"error": {"code", "message", "details"}}`` with a 4xx for bad input; an
unexpected exception is a 500 with code INTERNAL_ERROR and no internals in the body. Routers declare
the error responses they may give (`error_responses`) and routes the body model of their success
(`documented`), so the OpenAPI documents say what the services answer (held to it by schemathesis).
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterable
from enum import StrEnum
from typing import Any

import orjson
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, BeforeValidator, ConfigDict, field_validator, model_validator
from pydantic.alias_generators import to_camel
from starlette.exceptions import HTTPException as StarletteHTTPException

from tixtrace.kernel.errors import KernelCode, TixtraceError, failure_for_log
from tixtrace.kernel.headers import DefaultHeaders
from tixtrace.kernel.limits import BodyLimit, BodyLimits

log = logging.getLogger(__name__)

_HTTP_CODES = {
    400: KernelCode.BAD_REQUEST,
    401: KernelCode.UNAUTHORIZED,
    403: KernelCode.FORBIDDEN,
    404: KernelCode.NOT_FOUND,
    405: KernelCode.METHOD_NOT_ALLOWED,
    409: KernelCode.CONFLICT,
    413: KernelCode.PAYLOAD_TOO_LARGE,
    415: KernelCode.UNSUPPORTED_MEDIA_TYPE,
    422: KernelCode.INVALID_INPUT,
    429: KernelCode.TOO_MANY_REQUESTS,
}


class ApiModel(BaseModel):
    """Request and response bodies: camelCase on the wire, snake_case in Python, unknown fields refused.

    Text containing NUL characters is refused (422 naming the field): PostgreSQL cannot store it, so
    letting it through would be a 500 there and a silent difference from SQLite.
    """

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _known_fields_only(cls, data: Any) -> Any:
        """Unknown fields are one error naming the first few and counting the rest, found before any
        field is validated: ``extra="forbid"`` alone makes one error per unknown key, and 300,000 of
        them cost pydantic and FastAPI ten seconds of the event loop (issue 12)."""
        if isinstance(data, dict) and cls.model_config.get("extra") == "forbid":
            known = _field_names(cls)
            if known.issuperset(data):  # the usual body: one set operation in C, no loop in Python
                return data
            unknown = [key for key in data if key not in known]
            if unknown:
                shown = ", ".join(repr(cut(str(key), 40)) for key in unknown[:5])
                more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
                raise ValueError(f"unknown field(s): {shown}{more}")
        return data

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("text must not contain NUL (\\u0000) characters")
        return value


@functools.cache
def _field_names(model: type[BaseModel]) -> frozenset[str]:
    """The names a body may use for ``model``'s fields: each field's name and its alias."""
    return frozenset(name for field_name, field in model.model_fields.items()
                     for name in (field_name, field.alias) if name)


class ApiResponse(BaseModel):
    """Response bodies: camelCase on the wire."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class ErrorBody(BaseModel):
    """The inside of the error envelope: a stable code, a message for people, structured details."""

    code: str
    message: str
    details: dict[str, Any]


class ErrorEnvelope(BaseModel):
    """What every 4xx (and the 500 of a bug) carries: ``{"error": {"code", "message", "details"}}``."""

    error: ErrorBody


class RelayedErrorBody(BaseModel):
    """An error whose code is another service's, passed on as it came (not one of this service's)."""

    code: str
    message: str
    details: dict[str, Any]


class RelayedErrorEnvelope(BaseModel):
    """The error envelope of an answer relaying another service's refusal, its code unbounded."""

    error: RelayedErrorBody


_ERROR_DESCRIPTIONS = {
    400: "Bad request",
    401: "No or bad credentials",
    403: "Not yours",
    404: "Unknown resource",
    409: "The resource's state forbids the action",
    429: "Too many failed sign-ins (Retry-After says when to try again)",
    422: "Invalid input (details.errors names each field)",
    503: "A dependency is not available right now",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` declaring the error envelope for ``statuses`` (for routers and routes).

    Declaring 422 here replaces FastAPI's default ``HTTPValidationError`` schema, which is not what
    `install_error_handlers` answers.
    """
    return {status: {"model": ErrorEnvelope, "description": _ERROR_DESCRIPTIONS.get(status, "Error")}
            for status in statuses}


def relayed_error_responses(*statuses: int, description: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` for a route that may pass another service's error code on (its own
    catalogue does not bound it): the envelope with an unbounded ``code``. Overrides the router's."""
    return {status: {"model": RelayedErrorEnvelope, "description": description} for status in statuses}


def documented(model: type[BaseModel], status: int = 200, description: str = "Success", *,
               also: dict[int | str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """Route keywords declaring ``model`` as the body of ``status`` in the OpenAPI document, without
    validating or filtering the route's output at run time (``response_model=None``): the bodies are
    rendered by hand, and the schemathesis tests hold them to the model. ``also``: other responses of
    the route (e.g. a 202)."""
    return {"response_model": None, "status_code": status,
            "responses": {status: {"model": model, "description": description}, **(also or {})}}


#: at most this many entries of a list in an error's details (the rest is counted, ``<key>Omitted``)
MAX_LISTED_ERRORS = 100
#: at most this many characters of any text an error echoes (a value, a field name, a message)
MAX_ECHOED_CHARS = 200


def cut(text: str, limit: int = MAX_ECHOED_CHARS) -> str:
    """``text`` if it fits in ``limit`` characters, else its start and an ellipsis (``limit`` in all)."""
    return text if len(text) <= limit else text[:limit - 1] + "\u2026"


def _bounded(value: Any) -> Any:
    if isinstance(value, str):
        return cut(value)
    if isinstance(value, dict):
        return {cut(str(key)): _bounded(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_bounded(item) for item in value[:MAX_LISTED_ERRORS]]
    return value


def bounded_details(details: dict[str, Any]) -> dict[str, Any]:
    """``details`` as an error may echo them: every list at most `MAX_LISTED_ERRORS` entries, the
    number left out given beside it as ``<key>Omitted``, every text at most `MAX_ECHOED_CHARS`
    characters. So an answer stays small however big the bad input was (a body of 300,000 unknown
    keys is 300,000 errors: the answer lists 100 of them and counts the others)."""
    bounded: dict[str, Any] = {}
    for key, value in details.items():
        bounded[cut(str(key))] = _bounded(value)
        if isinstance(value, list | tuple) and len(value) > MAX_LISTED_ERRORS:
            bounded[f"{key}Omitted"] = len(value) - MAX_LISTED_ERRORS
    return bounded


def json_body(content: Any, status: int = 200) -> Response:
    """A route's success body as JSON, rendered by orjson: a route that returns a dict has FastAPI walk it
    through ``jsonable_encoder`` and then ``json.dumps`` (a third of a spectator request's CPU in
    the wallet's profile, benchmarks/RESULTS.md). ``content`` must be JSON values already (the render
    layers give strings for times); ``status`` must be the route's ``documented`` one."""
    return Response(orjson.dumps(content), status_code=status, media_type="application/json")


def error_response(status: int, code: str, message: str, details: dict[str, Any] | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    """The error envelope; its details bounded (`bounded_details`) and its message cut, whatever raised it."""
    body = {"error": {"code": code, "message": cut(message, 2 * MAX_ECHOED_CHARS),
                      "details": bounded_details(details or {})}}
    return JSONResponse(body, status_code=status, headers=headers)


def _validation_details(exc: RequestValidationError) -> dict[str, Any]:
    """``{"errors": [{location, message, type}]}``, each text cut; only the first `MAX_LISTED_ERRORS`
    are built (the rest is counted in ``errorsOmitted``), so 300,000 errors cost no more than 100."""
    found = exc.errors()
    errors = []
    for err in found[:MAX_LISTED_ERRORS]:
        location = cut(".".join(str(part) for part in err.get("loc", ())))
        errors.append({"location": location, "message": cut(str(err.get("msg", "invalid"))), "type": err.get("type")})
    details: dict[str, Any] = {"errors": errors}
    if len(found) > MAX_LISTED_ERRORS:
        details["errorsOmitted"] = len(found) - MAX_LISTED_ERRORS
    return details


def install_error_handlers(app: FastAPI, codes: Iterable[StrEnum]) -> None:
    """Answer every error with the envelope, and list the codes the app may answer (its catalogue
    ``codes`` and `KernelCode`) as the ``enum`` of the envelope's code in its OpenAPI document."""
    _document_codes(app, {*codes, *KernelCode})

    @app.exception_handler(TixtraceError)
    async def _ours(_request: Request, exc: TixtraceError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Basic"} if exc.status == 401 else None
        return error_response(exc.status, exc.code, exc.message, exc.details, headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        details = _validation_details(exc)
        first = details["errors"][0] if details["errors"] else {"location": "body", "message": "invalid"}
        message = f"invalid request: {first['location']}: {first['message']}"
        return error_response(422, KernelCode.INVALID_INPUT, message, details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, KernelCode.HTTP_ERROR)
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ").lower()
        return error_response(exc.status_code, code, message, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected error: %s", failure_for_log(exc))
        return error_response(500, KernelCode.INTERNAL_ERROR, "an unexpected error occurred; it has been logged")


def _document_codes(app: FastAPI, codes: set[StrEnum]) -> None:
    """`ErrorBody` is shared by both services, so the enum is set in each app's document, not on the
    model; `RelayedErrorBody` keeps an unbounded code."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            body = schema.get("components", {}).get("schemas", {}).get("ErrorBody")
            if body is not None:
                body["properties"]["code"]["enum"] = sorted(str(code) for code in codes)
        return app.openapi_schema or generate()

    app.openapi = openapi  # type: ignore[method-assign]


def install_guards(app: FastAPI, limits: BodyLimits) -> None:
    """The outermost layers of a service (call last, after every other ``add_middleware``): `BodyLimit`
    (size and time of each body, before anything parses or authenticates it), and outside it
    `DefaultHeaders` (a Content-Security-Policy on every answer, the 413 and 408 included)."""
    app.add_middleware(BodyLimit, limits=limits)
    app.add_middleware(DefaultHeaders)


def add_health_route(app: FastAPI) -> None:
    @app.get("/health", tags=["health"], summary="Liveness check, without credentials")
    def health() -> dict[str, str]:
        return {"status": "ok"}


_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]+")


def _whole_number(value: Any) -> Any:
    if isinstance(value, str) and not _WHOLE_NUMBER.fullmatch(value.strip()):
        raise ValueError("must be a whole number written in digits")
    return value


#: for an integer query parameter, after its ``Query(...)``: digits only ("120.00" is refused; pydantic
#: alone reads it as 120). ``Annotated[int, Query(ge=1), WHOLE_NUMBER]``: the Query must come first, or
#: FastAPI leaves its bounds out of the OpenAPI document.
WHOLE_NUMBER = BeforeValidator(_whole_number)
