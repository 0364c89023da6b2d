"""Interface URLs that point at this host on a port where the wallet served beside it is not.

``tixtrace serve`` runs the wallet and the back office together; an interface stored while they ran on
other ports (``demo --wallet-port``, ``serve --wallet-port``) still names the old port, and every run
of its schedules then fails, or worse, reaches whatever else listens there. ``serve`` says so at start
(DESIGN section 7), once per such interface; it changes nothing (the operator may mean it).
"""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

from sqlalchemy import Engine

from tixtrace.backoffice.services.interfaces import InterfaceView, list_interfaces
from tixtrace.kernel.db import unit_of_work

_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})
_ANY = frozenset({"0.0.0.0", "::", ""})  # noqa: S104 (names, not a bind)


def this_host(host: str) -> frozenset[str]:
    """The host names that reach a server listening on ``host`` from this machine (lower-cased)."""
    names = set(_LOOPBACK) | {host.lower().strip("[]")}
    if host in _ANY:
        names.add(socket.gethostname().lower())
    return frozenset(names)


def port_elsewhere_on_this_host(url: str, host: str, wallet_port: int) -> int | None:
    """The port ``url`` names when it points at this host on another port than ``wallet_port``; else None."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None
    name = (parts.hostname or "").lower()
    if name not in this_host(host) or port == wallet_port:
        return None
    return port


def misdirected_interfaces(engine: Engine, *, host: str, wallet_port: int) -> list[str]:
    """One warning per stored interface whose URL points at this host on another port than the wallet's."""
    found: list[InterfaceView] = []
    after = 0
    with unit_of_work(engine, write=False) as conn:
        while True:
            page, last = list_interfaces(conn, after_id=after, limit=500)
            found += page
            if last is None:
                break
            after = last
    warnings = []
    for interface in found:
        port = port_elsewhere_on_this_host(interface.url, host, wallet_port)
        if port is not None:
            warnings.append(f"interface {interface.name!r} (id {interface.id}) points at {interface.url}: this host, "
                            f"port {port}, but the wallet here listens on port {wallet_port}; its runs will fail or "
                            f"reach another service. Change its URL (Interfaces screen or PUT /api/interfaces/"
                            f"{interface.id}) unless that is meant")
    return warnings
