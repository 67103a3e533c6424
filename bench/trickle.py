"""Slow clients on raw sockets: a request whose head or body trickles in, idle connections.

Each client is bounded by a budget of seconds and stops on its own; what it measures is when (and how)
the server ended the exchange. Loopback only: the URLs are the benchmark's or test's own server.
"""

import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from bench.hostile import Answer, _read_answer


@dataclass
class Trickled:
    answer: Answer
    closed_by_server: bool  # the server answered or closed before the budget ran out


def _connect(url: str, timeout: float) -> socket.socket:
    parts = urlsplit(url)
    return socket.create_connection((parts.hostname, parts.port), timeout=timeout)


def trickle(url: str, head: bytes, drip: bytes, interval: float, budget: float) -> Trickled:
    """Send ``head`` at once, then one byte of ``drip`` every ``interval`` seconds (repeated as needed),
    until the server answers or closes, or ``budget`` seconds pass."""
    started = time.monotonic()
    deadline = started + budget
    sent = 0
    closed = False
    raw = b""
    with _connect(url, budget) as sock:
        sock.sendall(head)
        i = 0
        while time.monotonic() < deadline:
            sock.settimeout(max(0.01, min(interval, deadline - time.monotonic())))
            try:
                data = sock.recv(65536)
            except TimeoutError:
                data = None
            except ConnectionResetError:
                closed = True
                break
            if data is not None:  # an answer (b"": a close) came: read it to its end
                closed = True
                if data:
                    raw = data + _read_answer(sock, time.monotonic() + 10)
                break
            try:
                sock.sendall(drip[i % len(drip) : i % len(drip) + 1])
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                raw = _read_answer(sock, time.monotonic() + 10)
                break
            sent += 1
            i += 1
    status = int(raw.split(b" ", 2)[1]) if raw.startswith(b"HTTP/1.") else None
    return Trickled(Answer(status, raw, sent, time.monotonic() - started), closed)


def trickling_headers(path: str = "/healthz") -> tuple[bytes, bytes]:
    """A GET whose header section never ends: its head, and the bytes to drip."""
    return f"GET {path} HTTP/1.1\r\nHost: smps\r\n".encode(), b"X-Slow: " + b"a" * 4000 + b"\r\n"


def trickling_body(path: str, content_type: str, length: int = 1 << 20) -> tuple[bytes, bytes]:
    """A POST declaring ``length`` bytes of body, of which the drip brings one byte at a time."""
    head = f"POST {path} HTTP/1.1\r\nHost: smps\r\nContent-Type: {content_type}\r\nContent-Length: {length}\r\n\r\n"
    return head.encode(), b"a"


def idle_connections(url: str, count: int, timeout: float = 10) -> list[socket.socket]:
    """``count`` connections opened and left silent (the caller closes them)."""
    socks: list[socket.socket] = []
    try:
        for _ in range(count):
            socks.append(_connect(url, timeout))
    except OSError:
        for s in socks:
            s.close()
        raise
    return socks


def closed_by_peer(sock: socket.socket, wait: float) -> bool:
    """Whether the server closed (or answered on) this connection within ``wait`` seconds."""
    sock.settimeout(wait)
    try:
        return sock.recv(65536) is not None
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True
