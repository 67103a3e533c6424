"""Structured (JSON) logs; the ASGI middleware that gives each request its id, logs one line for it and
records its metrics (app/metrics/requests.py).

The request line is the costliest part of a fast read (``python -m bench.read_path``): through logging's
machinery (a ``LogRecord``, the handler's lock, a write to stderr per line) it took a tenth of
``GET /applications/{id}``. So, as ``configure_logging`` sets logging up, the line is encoded straight
from its fields and handed to the service's handler, which writes the lines of the event loop together,
a few times a second. Set up any other way (another handler, a filter), the line goes through logging.
"""

import asyncio
import itertools
import logging
import secrets
import sys
import time
from typing import Any, Protocol, TextIO

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

access_log = logging.getLogger("smps.access")


class _Stamp:
    """``time`` of a line, formatted once per second: at thousands of lines a second, strftime is most of
    a line's cost."""

    def __init__(self) -> None:
        self._second = -1
        self._text = ""

    def __call__(self, created: float) -> str:
        second = int(created)
        if second != self._second:
            self._text, self._second = time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(second)), second
        return self._text


class JsonFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__()
        self.stamp = _Stamp()

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.stamp(record.created),
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


# How long a line written on the event loop's thread may wait to go out with the others: under load,
# hundreds of lines share one write; a process killed outright loses at most this much of its lines.
GATHER_SECONDS = 0.05


class JsonLines(logging.StreamHandler[TextIO]):
    """One JSON line per record on the stream. Lines below WARNING written on a thread running an event
    loop are gathered and go out together within ``GATHER_SECONDS``: one write for many requests, not a
    write each. Any other line is written at once, after those gathered. ``flush`` writes them all."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream)
        self.setFormatter(JsonFormatter())
        self.stamp = _Stamp()
        self._gathered: list[str] = []
        self._flushing_on: asyncio.AbstractEventLoop | None = None  # the loop a flush is due on

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.write_line(self.format(record), gather=record.levelno < logging.WARNING)
        except Exception:
            self.handleError(record)

    def write_line(self, line: str, *, gather: bool = True) -> None:
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop() if gather else None
        except RuntimeError:
            loop = None
        with self.lock:  # type: ignore[union-attr]  # made by Handler.__init__
            self._gathered.append(line)
            if loop is None:
                self._write()
            elif loop is not self._flushing_on:  # none due, or due on a loop of before (a test's)
                self._flushing_on = loop
                loop.call_later(GATHER_SECONDS, self.flush)

    def _write(self) -> None:
        lines, self._gathered, self._flushing_on = self._gathered, [], None
        self.stream.write("".join(f"{line}\n" for line in lines))
        self.stream.flush()

    def flush(self) -> None:
        with self.lock:  # type: ignore[union-attr]  # made by Handler.__init__
            if self._gathered:
                self._write()
            elif self.stream and hasattr(self.stream, "flush"):
                self.stream.flush()


def configure_logging(level: str) -> None:
    root = logging.getLogger("smps")
    for previous in root.handlers:
        previous.flush()
    root.handlers[:] = [JsonLines(sys.stderr)]
    root.setLevel(level.upper())  # SMPS_LOG_LEVEL=info and INFO alike
    root.propagate = False


def flush_logs() -> None:
    """Write the lines gathered so far (as the app stops)."""
    for handler in logging.getLogger("smps").handlers:
        handler.flush()


def _direct_handler() -> JsonLines | None:
    """The service's handler when a request line would reach it alone and unfiltered, as
    ``configure_logging`` sets logging up; None otherwise (the line goes through logging)."""
    if access_log.handlers or access_log.filters or not access_log.propagate:
        return None
    parent = access_log.parent
    if parent is None or parent.filters or len(parent.handlers) != 1:
        return None
    handler = parent.handlers[0]
    if type(handler) is not JsonLines or handler.filters or handler.level > logging.INFO:
        return None
    return handler


def log_request(fields: dict[str, Any]) -> None:
    """The request's line: straight to the service's handler when it is the one writing, else a record."""
    handler = _direct_handler()
    if handler is not None:
        stamp = handler.stamp(time.time())
        entry = {"time": stamp, "level": "INFO", "logger": access_log.name, "message": "request", **fields}
        handler.write_line(orjson.dumps(entry, default=str).decode())
        return
    # The record made here: ``access_log.info`` would also look up the calling frame, which no line shows.
    record = logging.LogRecord(access_log.name, logging.INFO, __file__, 0, "request", None, None)
    record.__dict__["fields"] = fields
    access_log.handle(record)


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
                log_request(
                    {
                        "request_id": request_id,
                        "method": method,
                        "route": route,
                        "status": status,
                        "duration_ms": round(seconds * 1000, 2),
                        "user_id": state.get("user_id"),
                    }
                )
