"""The request context of the back office: what a route of the API or of the screens works with.

`Backend` holds the app's engine and clock (``app.state.backend``, set by `create_backoffice_app`) and
opens units of work on them; routes take it as a dependency (``backend: BackendDep``). It lives here,
below both ``api/`` and ``web/``, so neither of them imports the other. (Not to be confused with an
interface function's ``Run``: that is the context of one execution, not of a request.)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import Depends
from sqlalchemy import Connection, Engine
from starlette.requests import HTTPConnection

from tixtrace.kernel.clock import Clock
from tixtrace.kernel.db import unit_of_work


class Backend:
    """The app's engine and clock, handed to routes. A route opens one unit of work per change."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock

    @contextmanager
    def write(self) -> Iterator[Connection]:
        with unit_of_work(self.engine) as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with unit_of_work(self.engine, write=False) as conn:
            yield conn


def backend(request: HTTPConnection) -> Backend:
    """The app's `Backend` (``app.state.backend``)."""
    found: Backend = request.app.state.backend
    return found


BackendDep = Annotated[Backend, Depends(backend)]
