"""Hostile bulk files against the real server (uvicorn, one worker, SQLite): for each, the status answered,
the time to answer and the server's RSS growth (peak VmHWM after the request minus VmRSS before it).

    .venv/bin/python -m bench.hostile_bulk

The files are the tests' (tests/bulk/hostile_files.py): a million-row XLSX (5 MB on the wire), 19 MiB
of blank CSV lines, a 10 MiB header line, a zip bomb. A valid 1,000-row CSV is the reference.
"""

import csv
import io
import tempfile
import time
from pathlib import Path

import httpx

from bench.attachment_upload import _setup
from bench.common import server, server_pid
from tests.bulk import hostile_files as h

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(field)


def _valid_csv(rows: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["项目名称", "征集批次", "联系人"])
    writer.writerows([f"济南市第{i}号标准化试点", "9th-batch", "王芳"] for i in range(rows))
    return out.getvalue().encode()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        setup = _setup(url)
        cases = [
            ("valid CSV, 1,000 rows (reference)", "a.csv", _valid_csv(1000), "text/csv"),
            ("XLSX, 1,000,000 rows", "a.xlsx", h.million_rows_xlsx(), XLSX),
            ("CSV, 19 MiB of blank lines", "a.csv", h.blank_lines_csv(19), "text/csv"),
            ("CSV, one 10 MiB header line", "a.csv", h.huge_header_csv(10), "text/csv"),
            ("XLSX zip bomb, 16 MiB inflated", "a.xlsx", h.zip_bomb_xlsx(16), XLSX),
        ]
        env = {"SMPS_DATABASE_URL": url, "SMPS_STORAGE_DIR": f"{tmp}/storage"}
        with server("app.asgi:app", env) as base:
            pid = server_pid(base)
            headers = {"Authorization": f"Bearer {setup['key']}"}
            print(f"{'file':36} {'bytes':>10} {'status':>6} {'code':28} {'seconds':>8} {'RSS growth MiB':>15}")
            for name, filename, data, media in cases:
                Path(f"/proc/{pid}/clear_refs").write_text("5")  # VmHWM := VmRSS
                before = _kib(pid, "VmRSS")
                started = time.perf_counter()
                r = httpx.post(
                    f"{base}/api/v1/bulk-uploads", headers=headers, timeout=300, files={"file": (filename, data, media)}
                )
                elapsed = time.perf_counter() - started
                growth = (_kib(pid, "VmHWM") - before) / 1024
                code = r.json().get("code", "") if r.status_code >= 400 else "(accepted)"
                print(f"{name:36} {len(data):>10} {r.status_code:>6} {code:28} {elapsed:>8.2f} {growth:>15.1f}")


if __name__ == "__main__":
    main()
