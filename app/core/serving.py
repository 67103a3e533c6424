"""The HTTP protocol `smps serve` runs: uvicorn's httptools protocol with a cap on the header section.

httptools (llhttp) has no limit of its own on the request line and headers, and it joins a header's
pieces by concatenation, so a 64 MiB header costs memory and quadratic time before any application code
runs. The cap counts the bytes fed to the parser until the headers are complete (request line
included) and answers 431 and closes the connection as soon as it is passed. (A message that starts
in the same read as the previous one ends is counted from the next read: it may reach twice the cap.)
The limit is uvicorn's ``h11_max_incomplete_event_size``, the cap uvicorn's h11 protocol applies, so
it travels to every worker process with uvicorn's configuration.
"""

import json
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# Kept free of the application's imports: uvicorn unpickles this class in each worker process before
# the worker answers its supervisor's health pings, so a heavy import here gets workers killed at start.
# The problem is written in the default language (no request was parsed to negotiate another).
_PROBLEM = {
    "type": "urn:smps:problem:headers_too_large",
    "title": "请求头过大",
    "status": 431,
    "code": "headers_too_large",
}
_DETAIL = "请求头部分超过 {limit} 字节（The request's header section is larger than {limit} bytes）"


class HeaderCappedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_cap = int(self.config.h11_max_incomplete_event_size or 64 * 1024)
        self._in_body = False  # between messages and in the headers, fed bytes count towards the cap
        self._header_bytes = 0
        self._boundaries = 0  # headers or messages completed: where a piece's bytes stop being attributable
        self._refused = False

    def on_headers_complete(self) -> None:
        self._in_body = True
        self._header_bytes = 0
        self._boundaries += 1
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._in_body = False
        self._header_bytes = 0
        self._boundaries += 1
        super().on_message_complete()

    def data_received(self, data: bytes) -> None:
        # Bodies go to the parser whole; header bytes in pieces no larger than the room left, so no
        # more than the cap is ever fed to the parser for one header section.
        while data and not self._refused:
            if self._in_body:
                super().data_received(data)
                return
            room = self._header_cap - self._header_bytes
            piece, data = data[:room], data[room:]
            boundaries = self._boundaries
            super().data_received(piece)
            if self.transport.is_closing():
                return
            if boundaries == self._boundaries:
                self._header_bytes += len(piece)
                if self._header_bytes >= self._header_cap:  # the headers go on past the cap
                    self._refuse()

    def _refuse(self) -> None:
        self._refused = True
        problem = {
            **_PROBLEM,
            "detail": _DETAIL.format(limit=self._header_cap),
            "max_bytes": self._header_cap,
        }
        body = json.dumps(problem, ensure_ascii=False).encode()
        self.transport.write(
            b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
            b"content-type: application/problem+json\r\n"
            b"content-language: zh-CN\r\n"
            b"content-length: " + str(len(body)).encode() + b"\r\n"
            b"connection: close\r\n\r\n" + body
        )
        self.transport.close()
