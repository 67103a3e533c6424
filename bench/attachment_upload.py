"""Attachment upload: a 200 MB PDF sent as multipart to the real server (uvicorn), against `cp` of the
same file into the storage directory's file system. Targets: the server's peak RSS grows by < 64 MB;
upload throughput ≥ 0.7 of the floor, the slower of `sha256sum` and `cp` + fsync of the same file on the
same disk (an upload must both digest and durably write every byte); upload ÷ `cp` ≥ 0.5.

The client is curl (a C client, so the figure is the server's), the file is read from the page cache
by both curl and cp. The server's RSS is read from /proc/<pid>/status: VmHWM reset to the current RSS
before the upload (clear_refs 5) and read after, with VmRSS also sampled during the upload.

Every byte must be digested (SHA-256, one stream: it cannot be split across cores), so
``sha256_mb_per_s`` (hashlib alone, measured in the same run) bounds the upload's throughput, and
``sha256_mb_per_s / cp_mb_per_s`` bounds the ratio whatever the rest of the path costs.
``server_cpu_seconds`` is the server's CPU per upload (all its threads), steadier than wall time on
a busy machine; ``load_average`` says how busy it was.

    .venv/bin/python -m bench.attachment_upload [size_mib] [--repeat N]
"""

import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import sqlalchemy as sa
from sqlmodel import col

from app.accounts.models import User
from app.accounts.service import create_api_key
from app.applications.models import Application
from app.core.db import make_database
from app.core.ids import new_id
from app.core.settings import Settings
from app.main import migrate
from app.organizations.credit_code import check_character
from app.organizations.models import Organization
from app.reference.models import Call
from bench.common import server
from tests.attachments.files import BigPdf, pdf

MiB = 1024 * 1024


def _setup(url: str) -> dict[str, str]:
    """A migrated database with an applicant (API key) and a draft application of the 9th call."""
    migrate(Settings(database_url=url))
    database = make_database(Settings(database_url=url))
    now = datetime.now(UTC)
    try:
        with database.transaction() as session:
            call_id = session.execute(sa.select(col(Call.id)).where(col(Call.key) == "9th-batch")).scalar_one()
            recommender = session.execute(
                sa.select(col(Organization.id)).where(col(Organization.key) == "370000")
            ).scalar_one()
            body = "11370102MB0000001"
            org = Organization(
                id=new_id("org"),
                name="历下区行政审批服务局",
                credit_code=body + check_character(body),
                province_code="370000",
                kind="government_agency",
                created_at=now,
                updated_at=now,
            )
            session.add(org)
            session.flush()
            user = User(
                id=new_id("usr"),
                username="bench_uploader",
                username_folded="bench_uploader",
                display_name="申报人",
                organization_id=org.id,
                roles=["applicant"],
                password_hash="x",
                created_at=now,
                updated_at=now,
            )
            session.add(user)
            session.flush()
            _, key = create_api_key(session, user.id, "bench", now)
            application = Application(
                id=new_id("app"),
                call_id=call_id,
                title="政务服务标准化试点",
                state="draft",
                undertaking_org_id=org.id,
                recommender_id=recommender,
                province_code="370000",
                content={},
                created_by=user.id,
                created_at=now,
                updated_at=now,
            )
            session.add(application)
            return {"key": key, "application_id": application.id}
    finally:
        database.dispose()


def _write_file(path: Path, size: int) -> tuple[int, str]:
    """A valid one-page PDF of ``size`` bytes (the tests' generator); returns (size, sha256)."""
    big = BigPdf(size)
    with path.open("wb") as fh:
        for chunk in big.chunks():
            fh.write(chunk)
    return big.size, big.sha256


def _server_pid(port: str) -> int:
    """The uvicorn process this benchmark started (one worker: it serves in the process it runs in)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"uvicorn" in argv and b"--port" in argv and argv[argv.index(b"--port") + 1] == port.encode():
            return int(entry.name)
    raise RuntimeError("the server process was not found")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process, its finished threads included."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


class _RssSampler(threading.Thread):
    """VmRSS of a process every few milliseconds, keeping the largest seen."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_kib = _status_kib(pid, "VmRSS")
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.005):
            self.peak_kib = max(self.peak_kib, _status_kib(self.pid, "VmRSS"))


def _curl_upload(url: str, key: str, path: Path, filename: str) -> tuple[float, dict[str, Any]]:
    """POST the file with curl (kind first, then the file); returns (seconds, the JSON answer)."""
    out = subprocess.run(
        [
            "curl",
            "-sS",
            "-o",
            "-",
            "-w",
            "\n%{http_code} %{time_total}",
            "-H",
            f"Authorization: Bearer {key}",
            "-H",
            "If-Match: *",  # any version of the application: the streaming is measured
            "-H",
            "Expect:",
            "-F",
            "kind=evidence",
            "-F",
            f"file=@{path};filename={filename};type=application/pdf",
            url,
        ],
        capture_output=True,
        check=True,
    ).stdout
    body, _, trailer = out.rpartition(b"\n")
    status, seconds = trailer.decode().split()
    if status not in ("200", "201"):
        raise RuntimeError(f"upload answered {status}: {body[:500]!r}")
    return float(seconds), orjson.loads(body)


def _wait_until_removed(blob_dir: Path, size: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while any(p.is_file() and p.stat().st_size == size for p in blob_dir.rglob("*")):
        if time.monotonic() > deadline:
            raise RuntimeError("the deleted attachment's file was not removed")
        time.sleep(0.02)


def _cp(source: Path, target: Path, fsync: bool) -> float:
    start = time.perf_counter()
    subprocess.run(["cp", str(source), str(target)], check=True)
    if fsync:
        subprocess.run(["sync", str(target)], check=True)  # fsync of that one file
    seconds = time.perf_counter() - start
    target.unlink()
    return seconds


def _sha256sum(source: Path, expected: str) -> float:
    start = time.perf_counter()
    out = subprocess.run(["sha256sum", str(source)], capture_output=True, text=True, check=True).stdout
    seconds = time.perf_counter() - start
    assert out.split()[0] == expected, out
    return seconds


def run(size_mib: int = 200, repeat: int = 3) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="smps-bench-upload-") as tmp:
        root = Path(tmp)
        storage = root / "files"
        url = f"sqlite:///{root}/bench.db"
        info = _setup(url)
        source = storage / "source" / "scan.pdf"  # in the storage directory's file system, as the blobs are
        source.parent.mkdir(parents=True)
        size, sha256 = _write_file(source, size_mib * MiB)
        env = {
            "SMPS_DATABASE_URL": url,
            "SMPS_STORAGE_DIR": str(storage),
            "SMPS_MAX_ATTACHMENT_BYTES": str(max(256, 2 * size_mib) * MiB),
            "SMPS_MAX_APPLICATION_ATTACHMENTS_BYTES": str(max(1024, 4 * size_mib) * MiB),
        }
        headers = {"Authorization": f"Bearer {info['key']}", "If-Match": "*"}
        uploads: list[float] = []
        cpus: list[float] = []
        growths: list[float] = []
        exact_peak = True
        with server("app.asgi:app", env) as base:
            pid = _server_pid(base.rsplit(":", 1)[1])
            target = f"{base}/api/v1/applications/{info['application_id']}/attachments"
            # Warm up (imports, pools, the PDF check) with a small file.
            warm = httpx.post(
                target,
                headers=headers,
                data={"kind": "other"},
                files={"file": ("warm.pdf", pdf(), "application/pdf")},
                timeout=30,
            )
            assert warm.status_code == 201, warm.text
            for _ in range(repeat):
                before = _status_kib(pid, "VmRSS")
                try:
                    Path(f"/proc/{pid}/clear_refs").write_text("5")  # VmHWM := current RSS
                except OSError:
                    exact_peak = False
                sampler = _RssSampler(pid)
                sampler.start()
                cpu_before = _cpu_seconds(pid)
                seconds, answer = _curl_upload(target, info["key"], source, "大扫描件.pdf")
                cpus.append(_cpu_seconds(pid) - cpu_before)
                sampler.stop.set()
                sampler.join()
                assert answer["size"] == size and answer["sha256"] == sha256, answer
                peak = max(sampler.peak_kib, _status_kib(pid, "VmHWM") if exact_peak else 0)
                growths.append((peak - before) / 1024)
                uploads.append(seconds)
                # Remove it so the next round stores it anew (not a retried upload of the same content).
                gone = httpx.delete(
                    f"{base}/api/v1/attachments/{answer['id']}",
                    headers={**headers, "If-Match": f'"{answer["sha256"]}"'},
                    timeout=30,
                )
                assert gone.status_code == 204, gone.text
                _wait_until_removed(storage / "blobs", size)  # its file goes after the answer; not during the next
        copy = storage / "source" / "copy.pdf"
        cps = [_cp(source, copy, fsync=False) for _ in range(repeat)]
        cps_fsync = [_cp(source, copy, fsync=True) for _ in range(repeat)]
        sums = [_sha256sum(source, sha256) for _ in range(repeat)]
        shutil.rmtree(storage / "source")
    upload_s, cp_s, cp_fsync_s, sum_s = (statistics.median(x) for x in (uploads, cps, cps_fsync, sums))
    floor_s = max(cp_fsync_s, sum_s)  # the slower of the two things an upload must do with every byte
    mb = size / 1e6
    sha256_rate = _hashlib_rate()
    return {
        "name": "attachment_upload",
        "bytes": size,
        "repeat": repeat,
        "rss_growth_mib": round(max(growths), 1),
        "rss_exact_peak": exact_peak,
        "rss_target": "< 64",
        "upload_seconds": [round(s, 3) for s in uploads],
        "upload_mb_per_s": round(mb / upload_s),
        "server_cpu_seconds": [round(s, 2) for s in cpus],
        "load_average": round(os.getloadavg()[0], 1),
        "cp_seconds": [round(s, 3) for s in cps],
        "cp_mb_per_s": round(mb / cp_s),
        "cp_fsync_seconds": [round(s, 3) for s in cps_fsync],
        "cp_fsync_mb_per_s": round(mb / cp_fsync_s),
        "sha256sum_seconds": [round(s, 3) for s in sums],
        "sha256sum_mb_per_s": round(mb / sum_s),
        "floor_mb_per_s": round(mb / floor_s),
        "ratio_vs_floor": round(floor_s / upload_s, 3),
        "floor_target": ">= 0.7",
        "ratio": round(cp_s / upload_s, 3),
        "ratio_vs_cp_fsync": round(cp_fsync_s / upload_s, 3),
        "target": ">= 0.5",
        # The ceiling: every byte must be digested, and SHA-256 of one stream cannot be split across cores.
        "sha256_mb_per_s": round(sha256_rate),
        "ratio_vs_sha256_alone": round(mb / upload_s / sha256_rate, 3),
    }


def _hashlib_rate(total: int = 256 * MiB, chunk: int = 4 * MiB) -> float:
    """hashlib SHA-256 alone on this CPU, MB/s: the ceiling of any pipeline that must digest every byte."""
    block = os.urandom(chunk)
    digest = hashlib.sha256()
    start = time.perf_counter()
    for _ in range(total // chunk):
        digest.update(block)
    return total / 1e6 / (time.perf_counter() - start)


if __name__ == "__main__":
    args = sys.argv[1:]
    n = 3
    if "--repeat" in args:
        n = int(args[args.index("--repeat") + 1])
        args = args[: args.index("--repeat")] + args[args.index("--repeat") + 2 :]
    result = run(int(args[0]) if args else 200, n)
    print(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())
    print(
        f"floor (slower of sha256sum {result['sha256sum_mb_per_s']} MB/s and cp+fsync "
        f"{result['cp_fsync_mb_per_s']} MB/s) {result['floor_mb_per_s']} MB/s; upload {result['upload_mb_per_s']} MB/s; "
        f"ratio {result['ratio_vs_floor']} (target ≥ 0.7)"
    )
    print(
        f"peak RSS growth {result['rss_growth_mib']} MiB (target < 64); upload {result['upload_mb_per_s']} MB/s, "
        f"cp {result['cp_mb_per_s']} MB/s, ratio {result['ratio']} (target ≥ 0.5); "
        f"vs cp+fsync {result['cp_fsync_mb_per_s']} MB/s, ratio {result['ratio_vs_cp_fsync']}; "
        f"SHA-256 alone {result['sha256_mb_per_s']} MB/s (upload at {result['ratio_vs_sha256_alone']} of it)"
    )
