"""Structured (JSON) logs; the ASGI middleware that gives each request its id, logs one line for it and
records its metrics (app/metrics/requests.py)."""

import itertools
import logging
import secrets
import sys
import time
from typing import Any, Protocol

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

access_log = logging.getLogger("smps.access")


class JsonFormatter(logging.Formatter):
    _second = -1
    _stamp = ""

    def _time(self, record: logging.LogRecord) -> str:
        # Formatted once per second: at hundreds of requests a second, strftime is most of a line's cost.
        second = int(record.created)
        if second != self._second:
            self._stamp, self._second = self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"), second
        return self._stamp

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self._time(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger("smps")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())  # SMPS_LOG_LEVEL=info and INFO alike
    root.propagate = False


# A random prefix per process and a counter: unique, and cheaper than drawing random bytes per request.
_ID_PREFIX = secrets.token_hex(4)
_ID_COUNTER = itertools.count(1)


def _next_request_id() -> str:
    return f"{_ID_PREFIX}{next(_ID_COUNTER):08x}"


class RequestObserver(Protocol):
    """Where a request's measurements go besides the log (the app's metrics)."""

    def started(self) -> None: ...

    def finished(self, method: str, route: str, status: int, seconds: float) -> None: ...


UNMATCHED_ROUTE = "<unmatched>"
# Any other method a client sends is reported as OTHER: label values stay a bounded set.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def route_template(scope: Scope) -> str:
    """The matched route's path format (``/api/v1/applications/{application_id}``), never the raw path:
    ids would make one series and one log value per object, and a path may carry anything."""
    route = scope.get("route")
    template = getattr(route, "path_format", None)
    return template if isinstance(template, str) else UNMATCHED_ROUTE


class RequestIdMiddleware:
    """Gives every request an id (or keeps a well-formed ``X-Request-ID``), logs one line per request
    (method, route template, status, duration, request id, user id: no header, query or body) and hands
    the same measurements to the observer. Pure ASGI: a few dictionary lookups per request."""

    def __init__(self, app: ASGIApp, observer: RequestObserver | None = None) -> None:
        self.app = app
        self.observer = observer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = (
            incoming if 8 <= len(incoming) <= 64 and incoming.replace("-", "").isalnum() else _next_request_id()
        )
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        started = time.perf_counter()
        status = 500
        observer = self.observer
        if observer is not None:
            observer.started()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            route = route_template(scope)
            method = scope["method"] if scope["method"] in _METHODS else "OTHER"
            if observer is not None:
                observer.finished(method, route, status, seconds)
            if access_log.isEnabledFor(logging.INFO):
                # The record made here and handed to the handlers: ``access_log.info`` would also look up
                # the calling frame, which no line shows, and that is a third of a line's cost.
                record = logging.LogRecord(access_log.name, logging.INFO, __file__, 0, "request", None, None)
                record.__dict__["fields"] = {
                    "request_id": request_id,
                    "method": method,
                    "route": route,
                    "status": status,
                    "duration_ms": round(seconds * 1000, 2),
                    "user_id": state.get("user_id"),
                }
                access_log.handle(record)
