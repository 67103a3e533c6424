"""Hostile payloads against a real `smps serve`: for each, the status answered, the time to answer and
the server's peak RSS growth (a refused 200 MiB body grows the server by < 64 MiB).

One function per payload, each returning what to send (``Payload``); ``PAYLOADS`` lists them, so a
new payload is one function and one entry. The client is a raw socket that sends the request head,
then the body from a generator, and stops sending as soon as the server answers or closes: the test
measures the server, not a client that insists on sending 200 MiB first.

The server's RSS is read from /proc/<pid>/status: VmHWM reset to the current RSS (clear_refs 5)
before the payload and read after. With one worker, `smps serve` serves in its own process.

    .venv/bin/python -m bench.hostile [--size-mib 200]
"""

import argparse
import json
import os
import select
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

MiB = 1024 * 1024
ROOT = Path(__file__).resolve().parents[1]
CHUNK = 256 * 1024


@dataclass
class Payload:
    name: str
    head: bytes
    body: Iterable[bytes]


@dataclass
class Answer:
    status: int | None  # None: the server closed the connection without an answer
    raw: bytes
    sent_bytes: int
    seconds: float

    def json(self) -> Any:
        return json.loads(self.raw.partition(b"\r\n\r\n")[2] or b"null")

    def header(self, name: str) -> str | None:
        for line in self.raw.partition(b"\r\n\r\n")[0].split(b"\r\n")[1:]:
            key, _, value = line.partition(b":")
            if key.strip().lower() == name.lower().encode():
                return value.strip().decode("latin-1")
        return None


def _repeat(total: int, fill: bytes = b"a") -> Iterator[bytes]:
    block = fill * CHUNK
    left = total
    while left > 0:
        yield block[: min(CHUNK, left)]
        left -= CHUNK


def json_body_declared(size: int, path: str = "/api/v1/applications") -> Payload:
    """An anonymous JSON body of ``size`` bytes with its Content-Length declared."""
    body = [b'{"title": "', *_repeat(size - 13), b'"}']
    head = (
        f"POST {path} HTTP/1.1\r\nHost: smps\r\nContent-Type: application/json\r\nContent-Length: {size}\r\n\r\n"
    ).encode()
    return Payload(f"json_body_{size // MiB}mib_declared", head, body)


def json_body_chunked(size: int, path: str = "/api/v1/applications") -> Payload:
    """The same body, chunked (no Content-Length): the server must count it as it arrives."""

    def chunks() -> Iterator[bytes]:
        for piece in [b'{"title": "', *_repeat(size - 13), b'"}']:
            yield b"%x\r\n%s\r\n" % (len(piece), piece)
        yield b"0\r\n\r\n"

    head = (
        f"POST {path} HTTP/1.1\r\nHost: smps\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    ).encode()
    return Payload(f"json_body_{size // MiB}mib_chunked", head, chunks())


def huge_header(size: int, path: str = "/healthz") -> Payload:
    """One request header of ``size`` bytes (sent as the rest of the head)."""

    def rest() -> Iterator[bytes]:
        yield from _repeat(size)
        yield b"\r\n\r\n"

    return Payload(f"header_{size // MiB}mib", f"GET {path} HTTP/1.1\r\nHost: smps\r\nX-Padding: ".encode(), rest())


def exchange(url: str, payload: Payload, timeout: float = 60) -> Answer:
    """Send the payload until the server answers or closes; what it answered (bounded by ``timeout``)."""
    parts = urlsplit(url)
    started = time.monotonic()
    deadline = started + timeout
    sent = 0
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as sock:
        try:
            sock.sendall(payload.head)
            for chunk in payload.body:
                if select.select([sock], [], [], 0)[0] or time.monotonic() > deadline:
                    break  # an answer (or a close) is waiting: stop sending
                sock.sendall(chunk)
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        raw = _read_answer(sock, deadline)
    status = int(raw.split(b" ", 2)[1]) if raw.startswith(b"HTTP/1.") else None
    return Answer(status, raw, sent, time.monotonic() - started)


def _read_answer(sock: socket.socket, deadline: float) -> bytes:
    raw = b""
    while time.monotonic() < deadline:
        try:
            data = sock.recv(65536)
        except (ConnectionResetError, TimeoutError):
            break
        if not data:
            break
        raw += data
        head, sep, body = raw.partition(b"\r\n\r\n")
        if sep:
            length = next(
                (
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                ),
                None,
            )
            if length is not None and len(body) >= length:
                break
    return raw


def status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def measure(url: str, pid: int, payload: Payload, timeout: float = 60) -> tuple[Answer, float]:
    """The answer to the payload and the server's peak RSS growth meanwhile, in MiB."""
    before = status_kib(pid, "VmRSS")
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # VmHWM := current RSS
    answer = exchange(url, payload, timeout)
    time.sleep(0.2)  # anything the server still does with the payload shows in its peak
    return answer, (status_kib(pid, "VmHWM") - before) / 1024


PAYLOADS: list[Callable[[int], Payload]] = [json_body_declared, json_body_chunked, huge_header]


def serve(database_url: str, storage: Path) -> tuple[subprocess.Popen[bytes], str]:
    """`smps serve` with one worker (it migrates first); the process and its URL once it answers."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "SMPS_DATABASE_URL": database_url,
        "SMPS_STORAGE_DIR": str(storage),
        "SMPS_LOG_LEVEL": "WARNING",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--no-worker"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("smps serve did not start")


def run(size_mib: int = 200) -> dict[str, Any]:
    directory = Path(tempfile.mkdtemp(prefix="smps-bench-hostile-"))
    proc, url = serve(f"sqlite:///{directory}/bench.db", directory / "files")
    results: dict[str, Any] = {"bench": "hostile", "size_mib": size_mib}
    try:
        for make in PAYLOADS:
            payload = make(size_mib * MiB)
            answer, growth = measure(url, proc.pid, payload)
            results[payload.name] = {
                "status": answer.status,
                "seconds": round(answer.seconds, 3),
                "rss_growth_mib": round(growth, 1),
                "sent_mib": round(answer.sent_bytes / MiB, 1),
            }
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.hostile", description=__doc__)
    parser.add_argument("--size-mib", type=int, default=200)
    print(json.dumps(run(parser.parse_args().size_mib), ensure_ascii=False))


if __name__ == "__main__":
    main()
