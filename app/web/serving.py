"""The HTTP protocol `smps serve` runs: uvicorn's httptools protocol with limits and deadlines on the wire.

- **Header cap.** httptools (llhttp) has no limit of its own on the request line and headers, and it joins
  a header's pieces by concatenation, so a 64 MiB header costs memory and quadratic time before any
  application code runs. The cap counts the bytes fed to the parser until the headers are complete
  (request line included) and answers 431 and closes the connection as soon as it is passed. (A message
  that starts in the same read as the previous one ends is counted from the next read: it may reach twice
  the cap.) The limit is uvicorn's ``h11_max_incomplete_event_size``, the cap uvicorn's h11 protocol
  applies, so it travels to every worker process with uvicorn's configuration.
- **Header deadline.** A request's header section must be complete within ``header_timeout_seconds``
  of its first byte (of the connection's opening, for its first request): beyond, 408 and the connection
  closed (closed silently when nothing of a request came). Between requests uvicorn's keep-alive timeout
  closes an idle connection.
- **Minimum body rate.** While a body is read and the application is ready for it (reading is not paused
  because the application has not consumed what came), every ``body_window_seconds`` must bring at least
  ``body_min_bytes``: otherwise 408 if no response has started, and the connection is closed either way;
  the application sees the client gone.
- **Open connections.** At most ``max_connections`` per process: a connection beyond is answered 503 at
  once and closed, so one client's half-open connections cannot use up the process's file descriptors.
"""

import asyncio
import json
import os
from dataclasses import dataclass
from typing import Any

from uvicorn.protocols.http.flow_control import FlowControl
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# Kept free of the application's imports: uvicorn unpickles this class in each worker process before
# the worker answers its supervisor's health pings, so a heavy import here gets workers killed at start.
# The problems are written in the default language (no request was parsed to negotiate another).
_HEADERS_TOO_LARGE = ("headers_too_large", 431, "Request Header Fields Too Large", "请求头过大")
_HEADERS_DETAIL = "请求头部分超过 {limit} 字节（The request's header section is larger than {limit} bytes）"
_TIMEOUT = ("request_timeout", 408, "Request Timeout", "请求超时")
_HEADER_TIMEOUT_DETAIL = "请求头未在 {limit} 秒内收齐（The request's headers did not arrive within {limit} s）"
_BODY_TIMEOUT_DETAIL = (
    "请求体在 {window} 秒内不足 {limit} 字节（The request body brought less than {limit} bytes in {window} s）"
)
_UNAVAILABLE = ("too_many_connections", 503, "Service Unavailable", "连接过多")
_UNAVAILABLE_DETAIL = "本进程已有 {limit} 个连接（This process already holds {limit} connections）"

# Where the supervisor hands the wire settings to its worker processes (uvicorn's configuration has no
# room for them); the supervisor sets it from Settings before uvicorn starts (app/cli.py).
WIRE_ENVIRONMENT = "SMPS_WIRE_LIMITS"


@dataclass(frozen=True)
class WireLimits:
    header_timeout_seconds: float = 20.0
    body_window_seconds: float = 30.0
    body_min_bytes: int = 16 * 1024
    max_connections: int = 4096

    def to_environment(self) -> str:
        return json.dumps(self.__dict__)

    @classmethod
    def from_environment(cls) -> "WireLimits":
        raw = os.environ.get(WIRE_ENVIRONMENT)
        return cls(**json.loads(raw)) if raw else cls()


_limits: WireLimits | None = None


def wire_limits() -> WireLimits:
    """This process's limits, read once."""
    global _limits
    if _limits is None:
        _limits = WireLimits.from_environment()
    return _limits


def problem_response(kind: tuple[str, int, str, str], detail: str, **extra: Any) -> bytes:
    code, status, reason, title = kind
    problem = {"type": f"urn:smps:problem:{code}", "title": title, "status": status, "code": code, "detail": detail}
    body = json.dumps({**problem, **extra}, ensure_ascii=False).encode()
    retry = b"retry-after: 1\r\n" if status == 503 else b""
    return (
        b"HTTP/1.1 %d %s\r\n" % (status, reason.encode())
        + b"content-type: application/problem+json\r\ncontent-language: zh-CN\r\n"
        + retry
        + b"content-length: %d\r\nconnection: close\r\n\r\n" % len(body)
        + body
    )


class _WatchedFlow(FlowControl):
    """uvicorn's flow control, noting whether reading was paused since the watcher last looked."""

    def __init__(self, transport: asyncio.Transport) -> None:
        super().__init__(transport)
        self.paused_since_look = False

    def pause_reading(self) -> None:
        self.paused_since_look = True
        super().pause_reading()


class HeaderCappedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_cap = int(self.config.h11_max_incomplete_event_size or 64 * 1024)
        self._limits = wire_limits()
        self._in_body = False  # between messages and in the headers, fed bytes count towards the cap
        self._header_bytes = 0
        self._boundaries = 0  # headers or messages completed: where a piece's bytes stop being attributable
        self._refused = False
        self._header_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None
        self._body_bytes = 0  # body bytes come in the current window

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.flow = _WatchedFlow(transport)
        if len(self.connections) > self._limits.max_connections:
            limit = self._limits.max_connections
            self._refuse(_UNAVAILABLE, _UNAVAILABLE_DETAIL.format(limit=limit), max_connections=limit)
            return
        self._header_timer = self.loop.call_later(self._limits.header_timeout_seconds, self._headers_late)

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_timers()
        super().connection_lost(exc)

    def on_headers_complete(self) -> None:
        self._in_body = True
        self._header_bytes = 0
        self._boundaries += 1
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._in_body = False
        self._header_bytes = 0
        self._boundaries += 1
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None
        super().on_message_complete()

    def data_received(self, data: bytes) -> None:
        # Bodies go to the parser whole; header bytes in pieces no larger than the room left, so no
        # more than the cap is ever fed to the parser for one header section.
        while data and not self._refused:
            if self._in_body:
                self._body_bytes += len(data)
                super().data_received(data)
                break
            room = self._header_cap - self._header_bytes
            piece, data = data[:room], data[room:]
            boundaries = self._boundaries
            super().data_received(piece)
            if self.transport.is_closing():
                return
            if boundaries == self._boundaries:
                self._header_bytes += len(piece)
                if self._header_bytes >= self._header_cap:  # the headers go on past the cap
                    limit = self._header_cap
                    self._refuse(_HEADERS_TOO_LARGE, _HEADERS_DETAIL.format(limit=limit), max_bytes=limit)
        if self._refused or self.transport.is_closing():
            return
        # A request under way: its headers have a deadline, its body a minimum rate.
        if self._in_body:
            if self._body_timer is None:
                self._body_bytes = 0
                self.flow.paused_since_look = self.flow.read_paused  # type: ignore[attr-defined]
                self._body_timer = self.loop.call_later(self._limits.body_window_seconds, self._body_slow)
        elif self._header_bytes and self._header_timer is None:
            self._header_timer = self.loop.call_later(self._limits.header_timeout_seconds, self._headers_late)

    def _headers_late(self) -> None:
        self._header_timer = None
        if self.transport.is_closing():
            return
        if self._header_bytes == 0 or not (self.cycle is None or self.cycle.response_complete):
            self.transport.close()  # nothing of a request came (or a response is on its way): no answer
            return
        limit = self._limits.header_timeout_seconds
        self._refuse(_TIMEOUT, _HEADER_TIMEOUT_DETAIL.format(limit=f"{limit:g}"))

    def _body_slow(self) -> None:
        self._body_timer = None
        if self.transport.is_closing() or not self._in_body:
            return
        flow: _WatchedFlow = self.flow  # type: ignore[assignment]
        if flow.paused_since_look or self._body_bytes >= self._limits.body_min_bytes:
            # Enough came, or the application held the client back for part of the window: a new window.
            flow.paused_since_look = flow.read_paused
            self._body_bytes = 0
            self._body_timer = self.loop.call_later(self._limits.body_window_seconds, self._body_slow)
            return
        cycle = self.cycle
        window, limit = self._limits.body_window_seconds, self._limits.body_min_bytes
        if cycle is not None and not cycle.response_started:
            # The application waiting on the body sees the client gone; the answer is ours alone.
            cycle.disconnected = True
            cycle.message_event.set()
            self._refuse(_TIMEOUT, _BODY_TIMEOUT_DETAIL.format(window=f"{window:g}", limit=limit))
        else:
            if cycle is not None:
                cycle.disconnected = True
                cycle.message_event.set()
            self._refused = True
            self.transport.close()

    def _stop_timers(self) -> None:
        for timer in (self._header_timer, self._body_timer):
            if timer is not None:
                timer.cancel()
        self._header_timer = self._body_timer = None

    def _refuse(self, kind: tuple[str, int, str, str], detail: str, **extra: Any) -> None:
        self._refused = True
        self._stop_timers()
        self.transport.write(problem_response(kind, detail, **extra))
        self.transport.close()
