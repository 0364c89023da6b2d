"""A Content-Security-Policy on every answer of both services (DESIGN section 10), JSON included.

Pages state their own policy (`tixtrace.kernel.templates.security_headers`, the docs page's
`tixtrace.kernel.docs.DOCS_POLICY`); `DefaultHeaders`, a pure ASGI middleware, gives every other
answer (JSON, errors, static files, redirects, the 413 of `BodyLimit`) `API_POLICY`, which lets a
browser run nothing at all should it ever render one, and ``nosniff``. A header already set is kept.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
_DEFAULTS = ((b"content-security-policy", API_POLICY.encode()), (b"x-content-type-options", b"nosniff"))


class DefaultHeaders:
    """ASGI middleware adding `_DEFAULTS` to each HTTP answer that does not carry them already."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_defaults(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {bytes(name).lower() for name, _ in headers}
                headers.extend((name, value) for name, value in _DEFAULTS if name not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_defaults)
