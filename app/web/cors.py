"""CORS for browser frontends served from other origins (``SMPS_CORS_ORIGINS``), exact origins only.

Credentials are off: a frontend sends ``Authorization: Bearer …`` itself, never cookies. A request from
an origin not listed is served as if CORS did not exist (no ``Access-Control-*`` header at all, a
preflight is an ordinary OPTIONS request), so only the listed origins learn anything from the headers.
"""

from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ALLOW_HEADERS = ["Authorization", "Content-Type", "If-Match", "If-None-Match", "Idempotency-Key", "Accept-Language"]
# What browser tracing and error-reporting libraries add to every request (W3C Trace Context and
# Baggage, Sentry), and the request id a frontend may set to find its request in the logs.
TRACING_HEADERS = ["traceparent", "tracestate", "baggage", "sentry-trace", "X-Request-ID"]
EXPOSE_HEADERS = [
    "ETag",
    "Application-ETag",
    "Location",
    "Idempotent-Replayed",
    "Retry-After",
    "Content-Disposition",
    "Content-Range",
    "X-Request-ID",
    "WWW-Authenticate",
]
ALLOW_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
PREFLIGHT_MAX_AGE = 600


class ListedOriginsCORS:
    def __init__(self, app: ASGIApp, origins: list[str], allow_headers: list[str] | None = None) -> None:
        self.app = app
        self.origins = frozenset(origins)
        self.cors = CORSMiddleware(
            app,
            allow_origins=origins,
            allow_methods=ALLOW_METHODS,
            allow_headers=[*ALLOW_HEADERS, *TRACING_HEADERS, *(allow_headers or [])],
            expose_headers=EXPOSE_HEADERS,
            allow_credentials=False,
            max_age=PREFLIGHT_MAX_AGE,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if Headers(scope=scope).get("origin") in self.origins:
            await self.cors(scope, receive, send)
            return

        async def send_varying(message: Message) -> None:
            # The answer depends on the Origin: a cache must not hand this one to a listed origin.
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).add_vary_header("Origin")
            await send(message)

        await self.app(scope, receive, send_varying)


def install(app: Any, origins: list[str], allow_headers: list[str] | None = None) -> None:
    """CORS for ``origins`` (none: off), allowing the standard and tracing request headers and ``allow_headers``."""
    if origins:
        app.add_middleware(ListedOriginsCORS, origins=origins, allow_headers=allow_headers or [])
