"""The transport's own ceiling for package.zip: a bare ASGI app that streams the list's attachment files
(named, one per line, in the file ``SMPS_BENCH_FILES``) as views of the files mapped into memory, with a
Content-Length, under the same uvicorn — no framework, no database, no archive. ``bench.package`` times it
with the same client, so the package's rate can be read against what the server can send at all."""

import mmap
import os
from pathlib import Path
from typing import Any

FILES = [line for line in Path(os.environ.get("SMPS_BENCH_FILES", "/dev/null")).read_text().splitlines() if line]
SIZE = sum(os.path.getsize(p) for p in FILES)


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    if scope["path"] == "/healthz":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"ok"})
        return
    headers = [(b"content-length", str(SIZE).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    for path in FILES:
        with open(path, "rb") as fh:
            view = mmap.mmap(fh.fileno(), 0, flags=mmap.MAP_SHARED | mmap.MAP_POPULATE, prot=mmap.PROT_READ)
        await send({"type": "http.response.body", "body": memoryview(view), "more_body": True})
    await send({"type": "http.response.body", "body": b""})
