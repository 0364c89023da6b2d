"""Serving ASGI apps: in the foreground, in one or several worker processes (the ``serve`` commands),
or in the background of a process (the demo, tests)."""

from __future__ import annotations

import os
import socket
import threading
import time
from typing import Any

import uvicorn


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_is_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


#: how long a worker may take to start or answer its supervisor's ping before it is replaced: a new
#: worker imports the whole command line's modules (uvicorn's default, 5 s, killed every worker of a
#: loaded 2-core machine before it could start)
WORKER_HEALTHCHECK_SECONDS = 60


def serve_factory(factory: str, *, host: str, port: int, workers: int, environment: dict[str, str]) -> None:
    """Serve the app that ``factory`` (``"module:function"``) builds, until interrupted.

    With ``workers`` above 1, uvicorn's supervisor starts that many processes on one listening socket,
    each building its own app, engine and connection pool from ``environment`` (set here, before they
    start, and inherited): a request that holds one process's interpreter (a large JSON body is parsed
    with the GIL held) leaves the others free to answer, and a crashed worker is replaced. One worker
    is served in this process. Access logs are off: query strings may hold e-mail addresses (section 10).
    """
    os.environ.update(environment)
    uvicorn.run(factory, factory=True, host=host, port=port, workers=workers, log_level="warning",
                access_log=False, timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS)


class BackgroundServer:
    """An ASGI app served by uvicorn in a daemon thread for the duration of a ``with`` block."""

    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int | None = None) -> None:
        self.host = host
        self.port = port or free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host=host, port=self.port, log_level="warning",
                                                    access_log=False))
        self.thread = threading.Thread(target=self.server.run, daemon=True, name=f"http-{self.port}")

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError(f"could not serve on {self.url}")
            time.sleep(0.01)
        return self.url

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
