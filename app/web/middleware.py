"""Answers the service gives before or around routing: a URL with a NUL character, HEAD as GET
without the body, and the ``Allow`` header of a 405 naming every method the document declares for
the path (and HEAD wherever GET is)."""

import re
from typing import Any

from fastapi import FastAPI, Request
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from app.core.errors import BadRequest, MethodNotAllowed, problem_response
from app.core.i18n import Text

_HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"})


class RejectNulInUrl:
    """A NUL character has no use in a URL, and PostgreSQL text cannot hold one: 400 before any routing.
    And HEAD answered as GET without the body (``head_as_get``).

    Pure ASGI (no per-request cost beyond two substring tests and a comparison)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and (
            "\x00" in scope["path"] or b"%00" in scope["query_string"] or b"\x00" in scope["query_string"]
        ):
            error = BadRequest(Text("请求地址中含有 NUL 字符", "The URL contains a NUL character"))
            await problem_response(Request(scope), error)(scope, receive, send)
            return
        if scope["type"] == "http" and scope["method"] == "HEAD":
            await head_as_get(self.app, scope, receive, send)
            return
        await self.app(scope, receive, send)


async def head_as_get(app: Any, scope: Any, receive: Any, send: Any) -> None:
    """RFC 9110 §9.3.2: HEAD on every GET resource, with the headers GET would send and no body.

    Run by the innermost layer (``RejectNulInUrl``, no layer of its own on every request), so the routes
    (the hoisted ones too) see a GET and the layers outside see the HEAD (the log line names it). The
    GET runs whole: a streamed download is read and dropped, the price of answering exactly what GET
    would."""
    ended = False

    async def send_headers_only(message: Any) -> None:
        nonlocal ended
        if message["type"] != "http.response.body":
            await send(message)
        elif not message.get("more_body", False) and not ended:
            ended = True
            await send({"type": "http.response.body", "body": b"", "more_body": False})

    await app({**scope, "method": "GET"}, receive, send_headers_only)


def allowed_methods(request: Request) -> str | None:
    """Every method the document declares for the requested path (routing names only the first route's)."""
    patterns: list[tuple[re.Pattern[str], set[str]]] | None = getattr(request.app.state, "allowed_methods", None)
    if patterns is None:
        patterns = [
            (
                re.compile(
                    "".join(
                        r"[^/]+" if part.startswith("{") else re.escape(part)
                        for part in re.split(r"(\{[^}]+\})", template)
                    )
                ),
                {m.upper() for m in operations} & _HTTP_METHODS,
            )
            for template, operations in request.app.openapi().get("paths", {}).items()
        ]
        request.app.state.allowed_methods = patterns
    path = request.scope.get("path", "")
    methods: set[str] = set().union(*(m for pattern, m in patterns if pattern.fullmatch(path)))
    if "GET" in methods:
        methods.add("HEAD")
    return ", ".join(sorted(methods)) if methods else None


def install_method_not_allowed(app: FastAPI) -> None:
    """405 as a problem whose ``Allow`` names every method of the path (a handler by status, so it
    takes the place of the general HTTP error handler for this one status)."""

    @app.exception_handler(405)
    async def _method_not_allowed(request: Request, exc: StarletteHTTPException) -> Response:
        headers = dict(exc.headers or {})
        headers["Allow"] = allowed_methods(request) or headers.get("Allow", "")
        return problem_response(request, MethodNotAllowed(headers=headers))
