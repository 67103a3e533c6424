"""Request bodies are limited while they are read, before routing and authentication.

A declared ``Content-Length`` over the limit is refused before a byte of the body is read; a body
without one (chunked) is counted as it arrives and cut at the limit. Either way the answer is 413
problem+json with ``Connection: close``, so the rest of the body is never read: an anonymous caller
cannot make the service hold more than the limit of one body.

Which limit: form-encoded bodies (the token endpoint) ``max_form_body_bytes``; every other body
``max_json_body_bytes``; the routes that declare ``streams_body`` (``app.core.route_facts``) stream their
(larger) bodies to storage or to the bulk parser and enforce their own limits while reading, so they
pass through. The middleware runs before routing: it matches a request against those routes' paths.
"""

import re
from collections.abc import Iterable, Sequence

from starlette.requests import Request
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import PayloadTooLarge, problem_response
from app.core.i18n import Text
from app.core.route_facts import BODYLESS, declared_routes
from app.core.settings import Settings

_FORM = b"application/x-www-form-urlencoded"
_PARAMETER = re.compile(r"\\\{[^}]*\\\}")  # a path parameter, once the path is escaped
Streaming = tuple[tuple[str, re.Pattern[str]], ...]


def streaming_routes(routes: Iterable[BaseRoute]) -> Streaming:
    """(method, path) of the routes that limit their own bodies while streaming them (a trailing slash too)."""
    return tuple(
        (method, re.compile(_PARAMETER.sub("[^/]+", re.escape(route.path.rstrip("/"))) + "/?"))
        for route in declared_routes(routes)
        if route.facts.streams_body
        for method in sorted(route.methods)
    )


class _BodyTooLarge(Exception):
    """Raised into the application from ``receive`` when the body passes its limit."""


def body_limit(scope: Scope, settings: Settings, streaming: Streaming) -> int | None:
    """The byte limit of this request's body, or None when its route enforces its own."""
    method = scope["method"]
    if method in BODYLESS:
        return None
    path = scope["path"]
    if any(method == m and pattern.fullmatch(path) for m, pattern in streaming):
        return None
    content_type = _header(scope, b"content-type") or b""
    if content_type.split(b";", 1)[0].strip().lower() == _FORM:
        return settings.max_form_body_bytes
    return settings.max_json_body_bytes


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


class LimitRequestBodies:
    """Pure ASGI middleware: 413 for a body over its route's limit, while reading."""

    def __init__(self, app: ASGIApp, settings: Settings, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.settings = settings
        self.routes = routes  # the application's, complete by the first request
        self.streaming: Streaming | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.streaming is None:
            self.streaming = streaming_routes(self.routes)
        limit = body_limit(scope, self.settings, self.streaming)
        if limit is None:
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _refuse(scope, receive, send, limit)
            return

        received = 0
        refused = False
        started = False

        async def counting_receive() -> Message:
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    refused = True
                    raise _BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused:  # whatever the application made of the cut body, the answer is ours
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not refused:
                raise
        if refused and not started:
            await _refuse(scope, receive, send, limit)


async def _refuse(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
    error = PayloadTooLarge(
        Text("请求体超过 {limit} 字节", "The request body is larger than {limit} bytes"),
        limit=limit,
        headers={"Connection": "close"},
        extra={"max_bytes": limit},
    )
    await problem_response(Request(scope), error)(scope, receive, send)
