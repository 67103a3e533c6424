"""The deadline-day load's tally: per operation, the answers' times and the errors; and their figures."""

import statistics
import time
from collections import defaultdict
from typing import Any

import httpx


class Load:
    """Timings and answers per operation, and what the checks need."""

    def __init__(self) -> None:
        self.times: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, list[str]] = defaultdict(list)
        self.server_errors = 0

    async def call(
        self,
        http: httpx.AsyncClient,
        op: str,
        method: str,
        url: str,
        key: str,
        ok: tuple[int, ...] = (200, 201),
        **kw: Any,
    ) -> httpx.Response | None:
        headers = {"Authorization": f"Bearer {key}", **kw.pop("headers", {})}
        start = time.perf_counter()
        try:
            r = await http.request(method, url, headers=headers, **kw)
        except httpx.HTTPError as exc:
            self.errors[op].append(f"{type(exc).__name__}: {exc}")
            return None
        self.times[op].append(time.perf_counter() - start)
        if r.status_code >= 500:
            self.server_errors += 1
        if r.status_code not in ok:
            self.errors[op].append(f"{r.status_code} {r.text[:200]}")
            return None
        return r


def stats(load: Load, elapsed: float) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for op in sorted(set(load.times) | set(load.errors)):
        t = sorted(load.times.get(op, []))
        out[op] = {
            "requests": len(t),
            "rps": round(len(t) / elapsed, 1),
            "p50_ms": round(statistics.median(t) * 1000, 1) if t else None,
            "p99_ms": round(t[min(len(t) - 1, int(len(t) * 0.99))] * 1000, 1) if t else None,
            "errors": len(load.errors.get(op, [])),
        }
    return out
