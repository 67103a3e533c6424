"""The electronic copy: `GET /batches/{id}/package.zip` of a submitted list of 300 applications with 5
attachments each (1 MiB each by default: ~1.5 GB), streamed by a uvicorn server.

Reported: MB/s of the download ÷ the blob store's own read MB/s (every attachment read through
``FileSystemBlobStore.read`` in this process, the same files just before), target ≥ 0.5; the server's
RSS growth during the download (target < 64 MiB); the time to the first byte of the body (target < 1 s).
The first download of a list computes each attachment's SM3 and CRC-32 and renders each 申请书; both are
kept, so a later download (and a resumed one) only copies: the target is read on that second download,
and the first is reported beside it.

    .venv/bin/python -m bench.package [--applications 300] [--attachments 5] [--mib 1]
"""

import argparse
import hashlib
import os
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from app.attachments.blobstore import FileSystemBlobStore
from app.attachments.models import Attachment
from app.core.db import make_database
from app.core.settings import Settings
from app.main import migrate
from bench.batch_submit import _PDF, _submit, build_list
from bench.common import server, server_pid

MIB = 1024 * 1024
_HASHER = ["openssl", "dgst", "-sha256", "-r"] if shutil.which("openssl") else ["sha256sum"]  # both print "<hex> …"


def _fill(storage_dir: Path, database: Any, batch_id: str, mib: float) -> int:
    """Every attachment of the list made ``mib`` MiB (a valid PDF head, then filler); returns the total bytes."""
    store = FileSystemBlobStore(storage_dir)
    size = int(mib * MIB)
    total = 0
    with database.transaction() as session:
        rows = session.execute(sa.select(Attachment)).scalars().all()
        for n, row in enumerate(rows):
            head = _PDF + f"%{row.id}\n".encode()
            body = head + (hashlib.sha256(str(n).encode()).digest() * (size // 32 + 1))[: max(size - len(head), 0)]
            store.path(row.storage_key).write_bytes(body)
            row.size, row.sha256 = len(body), hashlib.sha256(body).hexdigest()
            total += len(body)
    del batch_id
    return total


def _store_read_mbps(storage_dir: Path, database: Any) -> float:
    store = FileSystemBlobStore(storage_dir)
    with database.reader() as session:
        keys = list(session.execute(sa.select(Attachment.storage_key)).scalars())
    start, read = time.perf_counter(), 0
    for key in keys:
        for chunk in store.read(key):
            read += len(chunk)
    return read / MIB / (time.perf_counter() - start)


def _rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def _first_byte(url: str, auth: str) -> float:
    """Seconds from the request to the first byte of the body (not of the headers)."""
    name, value = auth.split(": ", 1)
    start = time.perf_counter()
    with httpx.stream("GET", url, headers={name: value}, timeout=600) as r:
        for _ in r.iter_raw():
            return time.perf_counter() - start
    raise RuntimeError("an empty body")


def _download(base: str, built: dict[str, Any], pid: int) -> dict[str, Any]:
    before, peak, stop = _rss(pid), [0], threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], _rss(pid))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    # curl as the client (a Python client is slower than the server at these rates), the body piped to
    # OpenSSL's SHA-256 (coreutils' sha256sum, ~350 MB/s of CPU here, was slower than the server).
    url = f"{base}/api/v1/batches/{built['batch_id']}/package.zip"
    auth = f"Authorization: Bearer {built['reviewer_key']}"
    fmt = "%{stderr}%{time_total} %{size_download} %{http_code}"
    curl = subprocess.Popen(["curl", "-sS", "-H", auth, "-w", fmt, url], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    digest = subprocess.run(_HASHER, stdin=curl.stdout, capture_output=True, check=True).stdout.split()[0]
    assert curl.stderr is not None
    total_s, size_s, code = curl.stderr.read().decode().split()
    curl.wait()
    if code != "200":
        raise RuntimeError(f"package.zip: {code}")
    elapsed, size = float(total_s), int(size_s)
    stop.set()
    sampler.join()
    return {
        "bytes": size,
        "seconds": round(elapsed, 3),
        "mb_per_s": round(size / MIB / elapsed, 1),
        "first_byte_s": round(_first_byte(url, auth), 3),
        "rss_growth_mib": round((peak[0] - before) / MIB, 1),
        "sha256": digest.decode(),
    }


def run(applications: int = 300, attachments: int = 5, mib: float = 1.0, url: str | None = None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="smps-bench-") as tmp:
        database_url = url or f"sqlite:///{tmp}/bench.db"
        settings = Settings(database_url=database_url, storage_dir=Path(tmp) / "files")
        migrate(settings)
        database = make_database(settings)
        try:
            built = build_list(database, settings.storage_dir, applications, attachments)
            payload = _fill(settings.storage_dir, database, built["batch_id"], mib)
        finally:
            database.dispose()
        env = {"SMPS_DATABASE_URL": database_url, "SMPS_STORAGE_DIR": str(settings.storage_dir)}
        with server("app.asgi:app", env, workers=1) as base, httpx.Client(base_url=base, timeout=600) as http:
            _submit(http, built)
            pid = server_pid(base)
            cold = _download(base, built, pid)
            database = make_database(settings)
            try:
                store_mbps = _store_read_mbps(settings.storage_dir, database)
            finally:
                database.dispose()
            warm = _download(base, built, pid)
        if warm["sha256"] != cold["sha256"]:
            raise RuntimeError("two downloads of the same list differ")
        return {
            "benchmark": "package",
            "backend": "postgresql" if database_url.startswith("postgresql") else "sqlite",
            "applications": applications,
            "attachments_each": attachments,
            "attachment_mib": mib,
            "payload_attachment_bytes": payload,
            "store_read_mb_per_s": round(store_mbps, 1),
            "first": cold,
            "second": warm,
            "ratio": round(warm["mb_per_s"] / store_mbps, 3),
            "ratio_first": round(cold["mb_per_s"] / store_mbps, 3),
            "cpu_count": os.cpu_count(),
        }


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.package", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--applications", type=int, default=300)
    parser.add_argument("--attachments", type=int, default=5)
    parser.add_argument("--mib", type=float, default=1.0, help="size of each attachment")
    args = parser.parse_args()
    r = run(args.applications, args.attachments, args.mib)
    for name in ("first", "second"):
        f = r[name]
        print(
            f"{name} download: {f['bytes'] / MIB:.0f} MiB in {f['seconds']} s = {f['mb_per_s']} MiB/s, first byte "
            f"{f['first_byte_s']} s, server RSS growth {f['rss_growth_mib']} MiB"
        )
    print(
        f"blob store read {r['store_read_mb_per_s']} MiB/s; second download ÷ store read = {r['ratio']} "
        f"(target ≥ 0.5), first ÷ store read = {r['ratio_first']}"
    )


if __name__ == "__main__":
    main()
