"""The routes of both services, found by walking their route tables and classified by the credentials
they need (tests/test_access_routes.py says what each kind must refuse; tests/test_log_privacy.py walks
them too).
"""

from __future__ import annotations

import re
from typing import Any

import fastapi.routing
from fastapi import FastAPI
from fastapi.routing import APIRoute
from sqlalchemy import create_engine
from starlette.routing import Mount, Route

from tixtrace.backoffice.api.deps import current_user
from tixtrace.backoffice.app import create_backoffice_app
from tixtrace.backoffice.web.pages import web_user
from tixtrace.wallet.api import deps as wallet_deps
from tixtrace.wallet.app import create_wallet_app

Endpoint = tuple[str, str]  # (METHOD or "MOUNT", path template)

BACKOFFICE_PUBLIC: dict[Endpoint, str] = {
    ("GET", "/health"): "liveness",
    ("GET", "/login"): "the login page",
    ("POST", "/login"): "the login form (checks the credentials it carries, with its own CSRF token)",
    ("GET", "/openapi.json"): "the API schema: the public contract, no data",
    ("GET", "/docs"): "the schema's docs page",
    ("MOUNT", "/docs/static"): "the docs page's vendored Swagger UI and its licence",
    ("MOUNT", "/static"): "CSS, vendored htmx and its licence",
}
WALLET_PUBLIC: dict[Endpoint, str] = {
    ("GET", "/health"): "liveness",
    ("POST", "/spectator/session"): "sandbox sign-in by e-mail alone (W9)",
    ("GET", "/app/login"): "the spectator page's sign-in form",
    ("POST", "/app/login"): "its post (sandbox sign-in by e-mail, own CSRF token)",
    ("GET", "/openapi.json"): "the API schema: the public contract, no data",
    ("GET", "/docs"): "the schema's docs page",
    ("MOUNT", "/docs/static"): "the docs page's vendored Swagger UI and its licence",
    ("MOUNT", "/app/static"): "the spectator page's CSS",
}


def walk_routes(application: FastAPI) -> list[tuple[Endpoint, Any]]:
    """(endpoint, route) of every route of ``application`` (HEAD folded into GET) and ("MOUNT", path) of
    every mount. Included routers are flattened: FastAPI >= 0.16x keeps them nested in ``.routes`` and
    ``iter_route_contexts`` walks them; older versions list the routes themselves."""
    iterate = getattr(fastapi.routing, "iter_route_contexts", None)
    entries = list(iterate(application.routes)) if iterate else list(application.routes)
    found: dict[Endpoint, Any] = {}
    for entry in entries:
        route = getattr(entry, "original_route", entry)
        if isinstance(route, Mount):
            found[("MOUNT", str(route.path))] = route
            continue
        for method in getattr(entry, "methods", None) or ():
            if method != "HEAD":
                found[(method, str(entry.path))] = route  # type: ignore[union-attr]
    return sorted(found.items(), key=lambda item: item[0])


def _calls(route: Any) -> set[Any]:
    """Every dependency callable a route resolves (sub-dependencies included)."""
    found: set[Any] = set()
    stack = [getattr(route, "dependant", None)]
    while stack:
        dependant = stack.pop()
        if dependant is None:
            continue
        if dependant.call is not None:
            found.add(dependant.call)
        stack.extend(dependant.dependencies)
    return found


def backoffice_kind(endpoint: Endpoint, route: Any) -> str:
    """public (allow-listed), api (needs `current_user`: HTTP Basic or session), screen (needs
    `web_user`: a session), or unclassified (a route guarded by neither: a hole, or a new kind)."""
    if endpoint in BACKOFFICE_PUBLIC:
        return "public"
    calls = _calls(route)
    if current_user in calls:
        return "api"
    if web_user in calls:
        return "screen"
    return "unclassified"


def wallet_kind(endpoint: Endpoint, route: Any) -> str:
    """public, organizer (needs the `organizer` dependency), spectator (`spectator`), page (the
    spectator page under /app, which checks its session cookie itself), or unclassified."""
    _, path = endpoint
    if endpoint in WALLET_PUBLIC:
        return "public"
    calls = _calls(route)
    if wallet_deps.organizer in calls:
        return "organizer"
    if wallet_deps.spectator in calls:
        return "spectator"
    if isinstance(route, Route) and not isinstance(route, APIRoute) and (path == "/app" or path.startswith("/app/")):
        return "page"
    return "unclassified"


def endpoints(application: FastAPI) -> list[Endpoint]:
    return [endpoint for endpoint, _ in walk_routes(application)]


def _static_app_endpoints() -> tuple[list[tuple[Endpoint, str]], list[tuple[Endpoint, str]]]:
    memory = create_engine("sqlite://")  # building the apps touches no table
    backoffice = [(e, backoffice_kind(e, r)) for e, r in walk_routes(create_backoffice_app(memory))]
    wallet_app = [(e, wallet_kind(e, r)) for e, r in walk_routes(create_wallet_app(memory, sandbox=True))]
    memory.dispose()
    return backoffice, wallet_app


BACKOFFICE_ROUTES, WALLET_ROUTES = _static_app_endpoints()
BACKOFFICE_ENDPOINTS = [e for e, _ in BACKOFFICE_ROUTES]
WALLET_ENDPOINTS = [e for e, _ in WALLET_ROUTES]


def fill_path(path: str, values: dict[str, str]) -> str:
    """``path`` with each ``{name}`` replaced by ``values[name]`` (an id that exists), "1" when unknown."""
    return re.sub(r"\{([^}:]+)(?::[^}]*)?\}", lambda m: values.get(m.group(1), "1"), path)
