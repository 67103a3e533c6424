"""Isolation: other users' sign-in, edit and read while a hostile set runs, against their idle figures.

The service (`smps serve`, one worker, default settings) is started here on a scratch database (SQLite,
or a scratch database on ``--postgres ADMIN_URL``). Three well-behaved clients, one per operation, loop
for a phase: a sign-in (password form), an edit (read the ETag, PATCH the title with If-Match) and a
read (GET the application with an API key). Their p99 is measured on an idle service, then again
while the hostile set runs:

- trickling bulk-upload bodies (a byte every half second, on four connections, reopened when cut),
- an XLSX metadata bomb (a zip whose ``xl/sharedStrings.xml`` inflates to ~100 MiB), uploaded in a loop,
- a receipt carrying one genuine SM2 signature 200 times, sent to ``POST /receipts/verify`` in a loop,
- four 49-megapixel PNGs uploaded as attachments, round after round,
- 2,000 idle connections, reopened as the server closes them.

Printed: each operation's p99 idle and under attack and their ratio (target ≤ 3), the server's RSS
growth (target < 512 MiB), and what each hostile client got. Loopback only; every loop is bounded in
time and count.

    .venv/bin/python -m bench.isolation [--seconds 30] [--postgres ADMIN_URL] [--skip trickle,png]
"""

import argparse
import base64
import contextlib
import functools
import io
import json
import os
import selectors
import signal
import socket
import statistics
import struct
import tempfile
import threading
import time
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import sqlalchemy as sa
from sqlmodel import col

from app.accounts.models import User
from app.batches import receipts, signing
from app.batches.keystore import key_store
from app.core.db import make_database
from app.core.ids import new_id
from app.core.security import hash_password
from app.core.settings import Settings
from bench.attachment_upload import _setup
from bench.common import scratch_postgres
from bench.hostile import serve
from bench.trickle import trickle, trickling_body
from tests.bulk import hostile_files as h

PASSWORD = "isolation-password"
IDLE_CONNECTIONS = 2000
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# The hostile payloads.


def shared_strings_bomb(inflated_mib: int = 100) -> bytes:
    """An XLSX whose sharedStrings.xml (declared in the workbook's parts) inflates to ``inflated_mib``."""
    types = h._CONTENT_TYPES.replace(
        "</Types>",
        '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
        'officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
    )
    rels = h._WORKBOOK_RELS.replace(
        "</Relationships>",
        '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        'sharedStrings" Target="sharedStrings.xml"/></Relationships>',
    )
    head = b'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1"><si><t>'
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", types)
        archive.writestr("_rels/.rels", h._RELS)
        archive.writestr("xl/workbook.xml", h._WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", rels)
        archive.writestr("xl/worksheets/sheet1.xml", h.sheet(h.HEADER_ROW))
        with archive.open("xl/sharedStrings.xml", "w", force_zip64=True) as part:
            part.write(head)
            block = b"a" * (1 << 20)
            for _ in range(inflated_mib):
                part.write(block)
            part.write(b"</t></si></sst>")
    return out.getvalue()


def big_png(side: int = 7000, tag: int = 0) -> bytes:
    """A ``side``×``side`` grayscale PNG (49 megapixels at 7000): tiny compressed, huge decoded."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0))
        + chunk(b"tEXt", b"Comment\x00" + str(tag).encode())  # each file its own digest
        + chunk(b"IDAT", _blank_pixels(side))
        + chunk(b"IEND", b"")
    )


@functools.cache
def _blank_pixels(side: int) -> bytes:
    return zlib.compress((b"\x00" + b"\x00" * side) * side, 9)


def repeated_signature_receipt(keys_dir: Path, repeats: int = 200) -> dict[str, Any]:
    """A receipt-shaped document with a real SM2 signature by the service's key, repeated."""
    signer = next(s for s in key_store(keys_dir).signers() if s.info.alg == "SM2-SM3")
    document = {
        "tracking_number": "SMPS-BENCH-000000-001",
        "submitted_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "items": [{"rank": i, "application_id": f"app_{i}", "content_digest": "ab" * 32} for i in range(30)],
    }
    value = base64.b64encode(signing.sign(signer.key, receipts.payload(document))).decode()
    return {**document, "signatures": [{"kid": signer.info.kid, "alg": "SM2-SM3", "value": value}] * repeats}


# Measuring.


def p99(samples: list[float]) -> float:
    if len(samples) < 2:
        return samples[0] if samples else float("nan")
    return statistics.quantiles(samples, n=100, method="inclusive")[98]


class Victims:
    """The well-behaved users: one loop per operation, latencies in seconds, errors counted."""

    def __init__(self, url: str, username: str, key: str, application_id: str) -> None:
        self.url, self.username, self.key, self.application_id = url, username, key, application_id
        self.errors: Counter[str] = Counter()

    def _loop(self, name: str, op: Callable[[httpx.Client], bool], until: float, out: list[float]) -> None:
        with httpx.Client(base_url=self.url, timeout=60) as http:
            n = 0
            while time.monotonic() < until and n < 100_000:
                n += 1
                started = time.perf_counter()
                try:
                    ok = op(http)
                except httpx.HTTPError:
                    ok = False
                out.append(time.perf_counter() - started)
                if not ok:
                    self.errors[name] += 1

    def sign_in(self, http: httpx.Client) -> bool:
        r = http.post("/api/v1/auth/token", data={"username": self.username, "password": PASSWORD})
        return r.status_code == 200

    def edit(self, http: httpx.Client) -> bool:
        path, auth = f"/api/v1/applications/{self.application_id}", {"Authorization": f"Bearer {self.key}"}
        current = http.get(path, headers=auth)
        r = http.patch(
            path,
            json={"title": f"政务服务标准化试点 {time.monotonic_ns() % 10**6}"},
            headers={**auth, "If-Match": current.headers.get("etag", "")},
        )
        return current.status_code == 200 and r.status_code == 200

    def read(self, http: httpx.Client) -> bool:
        path = f"/api/v1/applications/{self.application_id}"
        return http.get(path, headers={"Authorization": f"Bearer {self.key}"}).status_code == 200

    def run(self, seconds: float) -> dict[str, list[float]]:
        until = time.monotonic() + seconds
        samples: dict[str, list[float]] = {"sign_in": [], "edit": [], "read": []}
        ops = {"sign_in": self.sign_in, "edit": self.edit, "read": self.read}
        threads = [
            threading.Thread(target=self._loop, args=(name, ops[name], until, samples[name])) for name in samples
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return samples


class Hostile:
    """The hostile set, each client a thread that stops at ``until``."""

    def __init__(self, url: str, key: str, application_id: str, keys_dir: Path) -> None:
        self.url, self.key, self.application_id = url, key, application_id
        self.auth = {"Authorization": f"Bearer {key}"}
        self.keys_dir = keys_dir
        self.bomb = shared_strings_bomb()
        self.receipt = orjson.dumps(repeated_signature_receipt(keys_dir))
        self.png_files = [[big_png(tag=i * 100 + r) for r in range(3)] for i in range(4)]
        self.seen: dict[str, Counter[Any]] = {}
        self.lock = threading.Lock()

    def note(self, name: str, outcome: Any) -> None:
        with self.lock:
            self.seen.setdefault(name, Counter())[outcome] += 1

    def trickler(self, until: float) -> None:
        head, drip = trickling_body("/api/v1/bulk-uploads", "multipart/form-data; boundary=x", 1 << 20)
        head = head.replace(b"\r\n\r\n", f"\r\nAuthorization: Bearer {self.key}\r\n\r\n".encode(), 1)
        # The file part starts at once; its content then comes a byte at a time.
        head += (
            b'--x\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\nContent-Type: text/csv\r\n\r\n'
        )
        while time.monotonic() < until - 1:
            result = trickle(self.url, head, drip, 0.5, until - time.monotonic())
            self.note("trickling bulk body", result.answer.status if result.closed_by_server else "still open")

    def xlsx_bomb(self, until: float) -> None:
        bomb = self.bomb
        with httpx.Client(base_url=self.url, timeout=120) as http:
            for _ in range(50):
                if time.monotonic() >= until:
                    break
                try:
                    r = http.post("/api/v1/bulk-uploads", headers=self.auth, files={"file": ("a.xlsx", bomb, XLSX)})
                    self.note("xlsx sharedStrings bomb", r.status_code)
                except httpx.HTTPError as exc:
                    self.note("xlsx sharedStrings bomb", type(exc).__name__)

    def signatures(self, until: float) -> None:
        body = self.receipt
        with httpx.Client(base_url=self.url, timeout=120) as http:
            for _ in range(1000):
                if time.monotonic() >= until:
                    break
                try:
                    r = http.post(
                        "/api/v1/receipts/verify",
                        content=body,
                        headers={**self.auth, "content-type": "application/json"},
                    )
                    self.note("receipt, 200 repeated signatures", r.status_code)
                except httpx.HTTPError as exc:
                    self.note("receipt, 200 repeated signatures", type(exc).__name__)

    def pngs(self, until: float, index: int) -> None:
        path = f"/api/v1/applications/{self.application_id}/attachments"
        with httpx.Client(base_url=self.url, timeout=120) as http:
            for png in self.png_files[index]:
                if time.monotonic() >= until:
                    break
                try:
                    r = http.post(
                        path,
                        headers={**self.auth, "If-Match": "*"},  # decoded and stored whatever the version
                        data={"kind": "evidence"},
                        files={"file": (f"scan{index}.png", png, "image/png")},
                    )
                    self.note("49-megapixel PNG", r.status_code)
                except httpx.HTTPError as exc:
                    self.note("49-megapixel PNG", type(exc).__name__)

    def idle(self, until: float) -> None:
        port = int(self.url.rsplit(":", 1)[1])
        socks: list[socket.socket] = []

        def top_up() -> None:
            while len(socks) < IDLE_CONNECTIONS:
                try:
                    socks.append(socket.create_connection(("127.0.0.1", port), timeout=5))
                except OSError as exc:
                    self.note("idle connections", f"connect: {type(exc).__name__}")
                    return

        watch = selectors.DefaultSelector()
        try:
            top_up()
            self.note("idle connections", f"opened {len(socks)}")
            for s in socks:
                watch.register(s, selectors.EVENT_READ)
            while time.monotonic() < until:
                for found, _ in watch.select(0.5):
                    closed = found.fileobj
                    assert isinstance(closed, socket.socket)
                    watch.unregister(closed)
                    socks.remove(closed)
                    closed.close()
                    self.note("idle connections", "closed by the server")
                known = len(socks)
                top_up()
                for s in socks[known:]:
                    watch.register(s, selectors.EVENT_READ)
        finally:
            watch.close()
            for s in socks:
                s.close()

    def run(self, until: float, skip: frozenset[str] = frozenset()) -> list[threading.Thread]:
        named: dict[str, list[Callable[[], None]]] = {
            "idle": [lambda: self.idle(until)],
            "trickle": [lambda: self.trickler(until) for _ in range(4)],
            "xlsx": [lambda: self.xlsx_bomb(until)],
            "signatures": [lambda: self.signatures(until)],
            "png": [lambda i=i: self.pngs(until, i) for i in range(4)],  # type: ignore[misc]
        }
        jobs = [job for name, group in named.items() if name not in skip for job in group]
        threads = [threading.Thread(target=job, daemon=True) for job in jobs]
        for t in threads:
            t.start()
        return threads


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _victim(url: str) -> str:
    """A user with a password in the organization of the bench applicant (direct in the database)."""
    settings = Settings(database_url=url)
    database = make_database(settings)
    now = datetime.now(UTC)
    try:
        with database.transaction() as session:
            applicant = session.execute(sa.select(User).where(col(User.username) == "bench_uploader")).scalar_one()
            session.add(
                User(
                    id=new_id("usr"),
                    username="bench_victim",
                    username_folded="bench_victim",
                    display_name="申报人",
                    organization_id=applicant.organization_id,
                    roles=["applicant"],
                    password_hash=hash_password(PASSWORD),
                    created_at=now,
                    updated_at=now,
                )
            )
    finally:
        database.dispose()
    return "bench_victim"


@contextlib.contextmanager
def _database(postgres: str | None) -> Iterator[tuple[str, Path]]:
    with tempfile.TemporaryDirectory(prefix="smps-bench-isolation-") as tmp:
        if postgres is None:
            yield f"sqlite:///{tmp}/bench.db", Path(tmp) / "files"
        else:
            with scratch_postgres(postgres) as url:
                yield url, Path(tmp) / "files"


def run(seconds: float = 30, postgres: str | None = None, skip: frozenset[str] = frozenset()) -> dict[str, Any]:
    result: dict[str, Any] = {"bench": "isolation", "backend": "postgresql" if postgres else "sqlite"}
    if skip:
        result["skipped"] = sorted(skip)
    with _database(postgres) as (url, storage):
        setup = _setup(url)
        username = _victim(url)
        keys_dir = storage.parent / "receipt-keys"
        key_store(keys_dir).generate(development=True)
        proc, base = serve(url, storage)
        try:
            victims = Victims(base, username, setup["key"], setup["application_id"])
            idle = victims.run(seconds)
            idle_errors = dict(victims.errors)
            victims.errors.clear()
            baseline = peak = rss_kib(proc.pid)
            hostile = Hostile(base, setup["key"], setup["application_id"], keys_dir)
            until = time.monotonic() + seconds + 5
            threads = hostile.run(until, skip)
            time.sleep(5)  # the hostile set under way first
            sampler_stop = threading.Event()

            def sample() -> None:
                nonlocal peak
                while not sampler_stop.wait(0.2):
                    with contextlib.suppress(FileNotFoundError):
                        peak = max(peak, rss_kib(proc.pid))

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            attacked = victims.run(seconds)
            sampler_stop.set()
            for t in threads:
                t.join(timeout=max(1.0, until - time.monotonic() + 30))
            result["ops"] = {
                name: {
                    "idle_p99_ms": round(p99(idle[name]) * 1000, 1),
                    "attacked_p99_ms": round(p99(attacked[name]) * 1000, 1),
                    "ratio": round(p99(attacked[name]) / p99(idle[name]), 2),
                    "requests_idle": len(idle[name]),
                    "requests_attacked": len(attacked[name]),
                }
                for name in idle
            }
            result["errors"] = {"idle": idle_errors, "attacked": dict(victims.errors)}
            result["rss_growth_mib"] = round((peak - baseline) / 1024, 1)
            result["hostile"] = {name: dict(c) for name, c in hostile.seen.items()}
            result["hostile_threads_still_running"] = sum(t.is_alive() for t in threads)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except Exception:
                proc.kill()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.isolation", description=__doc__)
    parser.add_argument("--seconds", type=float, default=30, help="length of each phase (idle, attacked)")
    parser.add_argument("--postgres", default=None, help="an admin URL of a PostgreSQL server (scratch database)")
    parser.add_argument(
        "--skip", default="", help="hostile clients left out, comma-separated: idle,trickle,xlsx,signatures,png"
    )
    args = parser.parse_args()
    skip = frozenset(name for name in args.skip.split(",") if name)
    print(json.dumps(run(args.seconds, args.postgres, skip), ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
