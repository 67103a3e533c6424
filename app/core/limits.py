"""Request bodies are limited while they are read, before routing and authentication.

A declared ``Content-Length`` over the limit is refused before a byte of the body is read; a body
without one (chunked) is counted as it arrives and cut at the limit. Either way the answer is 413
problem+json with ``Connection: close``, so the rest of the body is never read: an anonymous caller
cannot make the service hold more than the limit of one body.

Which limit: form-encoded bodies (the token endpoint) ``max_form_body_bytes``; every other body
``max_json_body_bytes``; the routes of ``STREAMING_ROUTES`` stream their (larger) bodies to storage or
to the bulk parser and enforce their own limits while reading, so they pass through.
"""

import re
from typing import Any

from fastapi import FastAPI
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import PROBLEM_MEDIA_TYPE, PayloadTooLarge, problem_response
from app.core.i18n import Text
from app.core.openapi_patch import amend_openapi
from app.core.settings import Settings

# (method, path) of the routes that limit their own bodies while streaming them.
STREAMING_ROUTES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("POST", re.compile(r"/api/v1/applications/[^/]+/attachments/?")),
    ("POST", re.compile(r"/api/v1/bulk-uploads/?")),
)
# Methods whose bodies no route reads: uvicorn buffers at most 64 KiB of an unread body, then pauses.
_BODYLESS = frozenset({"GET", "HEAD", "OPTIONS"})
_FORM = b"application/x-www-form-urlencoded"


class _BodyTooLarge(Exception):
    """Raised into the application from ``receive`` when the body passes its limit."""


def body_limit(scope: Scope, settings: Settings) -> int | None:
    """The byte limit of this request's body, or None when its route enforces its own."""
    method = scope["method"]
    if method in _BODYLESS:
        return None
    path = scope["path"]
    if any(method == m and pattern.fullmatch(path) for m, pattern in STREAMING_ROUTES):
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

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = body_limit(scope, self.settings)
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


def add_to_openapi(app: FastAPI) -> None:
    """Declare 413 ``payload_too_large`` on every operation with a body that this middleware limits."""

    def amend(schema: dict[str, Any]) -> None:
        problem = {"content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
        for path, operations in schema.get("paths", {}).items():
            for method, operation in operations.items():
                streaming = any(
                    method.upper() == m and pattern.fullmatch(path.replace("{", "").replace("}", ""))
                    for m, pattern in STREAMING_ROUTES
                )
                if "requestBody" not in operation or streaming:
                    continue  # the streaming routes declare their own 413
                entry = operation["responses"].setdefault("413", {"description": "", **problem})
                if PayloadTooLarge.code not in entry["description"]:
                    entry["description"] = ", ".join(filter(None, [entry["description"], PayloadTooLarge.code]))

    amend_openapi(app, amend)
