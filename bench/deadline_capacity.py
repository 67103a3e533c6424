"""Deadline-day capacity: the highest open-loop arrival rate `smps serve` keeps with every p99 under 1 s.

Open loop: requests start on a schedule, not when the previous answer comes back (a closed loop slows
down with the server and hides its queue). A scheduler launches one asyncio task per arrival at its
precise time (``start + i / rate``), whatever is still in flight; each arrival is one request of the
deadline-day mix, in turn: a reviewer's list of applications (filtered as in bench/deadline_day.py), an
applicant's new application, an applicant reading one of its own, and the office's change feed. Each
step holds a rate for ``step_seconds`` and the rate goes up by ``factor`` until a step fails (a p99
≥ 1 s or any error, or the scheduler itself falls behind by a second); the capacity is the last rate
that passed, or 0 if the first failed, after two halvings of the gap between the last rate that passed
and the first that failed. The number of steps is capped, so the run stays bounded: at most
``(max_steps + 2) × step_seconds`` of load per worker count, plus start-up.

    .venv/bin/python -m bench.deadline_capacity --postgres ADMIN_URL [--workers 1,2] [--sqlite]
"""

import argparse
import asyncio
import itertools
import json
import os
import secrets
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from app.core.settings import Settings
from bench.deadline_day import _form
from bench.deadline_load import Load, stats
from bench.deadline_people import Recommender, serve, setup

P99_LIMIT_S = 1.0
FILTERS = ("state=provincial_review", "state=recommended", "domain_area=1.1", "")


class Mix:
    """The arrivals' requests, in turn, and the applications made so far (to read them back)."""

    def __init__(self, call_id: str, recs: list[Recommender], office: str) -> None:
        self.call_id, self.recs, self.office = call_id, recs, office
        self.units = [(rec, unit) for rec in recs for unit in rec.units]
        self.made: list[tuple[str, str]] = []  # (applicant key, application id)
        self.turn = itertools.count()

    async def one(self, http: httpx.AsyncClient, load: Load) -> None:
        n = next(self.turn)
        kind = n % 4
        if kind == 0:
            rec = self.recs[n % len(self.recs)]
            query = FILTERS[(n // 4) % len(FILTERS)]
            await load.call(http, "list", "GET", f"/api/v1/applications?page_size=50&{query}", rec.key)
        elif kind == 1 or (kind == 2 and not self.made):
            rec, unit = self.units[n % len(self.units)]
            form = _form(self.call_id, rec, unit, n)
            r = await load.call(http, "create", "POST", "/api/v1/applications", unit["applicant"], json=form)
            if r is not None:
                self.made.append((unit["applicant"], r.json()["id"]))
        elif kind == 2:
            key, app_id = self.made[n % len(self.made)]
            await load.call(http, "read_own", "GET", f"/api/v1/applications/{app_id}", key)
        else:
            await load.call(http, "events", "GET", "/api/v1/events", self.office, params={"page_size": 50})


async def _step(base: str, mix: Mix, rate: float, seconds: float) -> dict[str, Any]:
    """One rate held for ``seconds``: the per-operation figures and whether every p99 stayed under 1 s."""
    load = Load()
    limits = httpx.Limits(max_connections=1000, max_keepalive_connections=200, keepalive_expiry=3)
    arrivals = int(rate * seconds)
    lag = 0.0
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as http:
        tasks = []
        start = time.perf_counter()
        for i in range(arrivals):
            due = start + i / rate
            if (wait := due - time.perf_counter()) > 0:
                await asyncio.sleep(wait)
            lag = max(lag, time.perf_counter() - due)
            tasks.append(asyncio.create_task(mix.one(http, load)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
    ops = stats(load, elapsed)
    errors = sum(o["errors"] for o in ops.values())
    worst = max((o["p99_ms"] or 0 for o in ops.values()), default=0)
    # A scheduler a second late is the load generator at its limit, not the server: the step does not count.
    passed = errors == 0 and load.server_errors == 0 and worst < P99_LIMIT_S * 1000 and lag < 1.0
    return {
        "rate": rate,
        "arrivals": arrivals,
        "worst_p99_ms": worst,
        "errors": errors,
        "scheduler_lag_ms": round(lag * 1000, 1),
        "passed": passed,
        "operations": ops,
    }


def climb(
    base: str, mix: Mix, start_rate: float, factor: float, step_seconds: float, max_steps: int, refine: int = 2
) -> dict[str, Any]:
    """Up by ``factor`` until a step fails, then ``refine`` halvings of the gap between the last rate that
    passed and the first that failed."""
    steps: list[dict[str, Any]] = []

    def held(rate: float) -> bool:
        step = asyncio.run(_step(base, mix, rate, step_seconds))
        steps.append(step)
        print(
            f"  {rate:>7.1f} req/s: worst p99 {step['worst_p99_ms']} ms, errors {step['errors']}, "
            f"scheduler lag {step['scheduler_lag_ms']} ms -> {'pass' if step['passed'] else 'FAIL'}",
            flush=True,
        )
        return bool(step["passed"])

    asyncio.run(_step(base, mix, start_rate, 2))  # warm-up (connections, caches, first imports): not counted
    capacity, failed, rate = 0.0, 0.0, start_rate  # failed: 0 until a step fails
    for _ in range(max_steps):
        if not held(rate):
            failed = rate
            break
        capacity, rate = rate, round(rate * factor, 1)
    for _ in range(refine if failed and capacity else 0):
        middle = round((capacity + failed) / 2, 1)
        if held(middle):
            capacity = middle
        else:
            failed = middle
    return {"capacity_rps": capacity, "first_failed_rps": failed or None, "steps": steps, "reached_cap": not failed}


@contextmanager
def _database(admin_url: str | None) -> Iterator[str]:
    """A scratch PostgreSQL database on the admin URL's server, or a scratch SQLite file (None)."""
    if admin_url is None:
        with tempfile.TemporaryDirectory(prefix="smps-capacity-") as tmp:
            yield f"sqlite:///{tmp}/smps.db"
        return
    admin = sa.create_engine(
        admin_url.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
    )
    name = f"smps_capacity_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield sa.engine.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def run_once(
    admin_url: str | None, workers: int, step_seconds: float = 8, max_steps: int = 7, start_rate: float = 10
) -> dict[str, Any]:
    backend = "postgresql" if admin_url else "sqlite"
    print(f"capacity, {backend}, {workers} worker(s):", flush=True)
    with _database(admin_url) as url, tempfile.TemporaryDirectory(prefix="smps-capacity-") as tmp:
        settings = Settings(database_url=url, storage_dir=Path(tmp) / "files")
        call_id, recs, office = setup(settings)
        log = Path(tempfile.gettempdir()) / f"smps-capacity-{uuid.uuid4().hex[:8]}.log"
        proc, base = serve(settings, workers, log, secrets.token_urlsafe(24))
        try:
            found = climb(base, Mix(call_id, recs, office), start_rate, 1.5, step_seconds, max_steps)
        finally:
            os.killpg(proc.pid, 15)
            proc.wait(timeout=30)
    return {"backend": backend, "workers": workers, "server_log": str(log), **found}


def run(admin_url: str | None, workers: tuple[int, ...] = (1, 2), sqlite: bool = False, **kw: Any) -> dict[str, Any]:
    runs = [run_once(admin_url, w, **kw) for w in workers] if admin_url else []
    if sqlite:
        runs.append(run_once(None, 1, **kw))  # SQLite has one writer: one worker
    return {"name": "deadline_capacity", "p99_limit_ms": P99_LIMIT_S * 1000, "runs": runs}


def summary(result: dict[str, Any]) -> list[str]:
    return [
        f"capacity {r['backend']} {r['workers']} worker(s): {r['capacity_rps']} req/s"
        + (" (the last step passed: at least this)" if r["reached_cap"] else "")
        for r in result["runs"]
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.deadline_capacity",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--postgres", default=None, help="an admin URL of a PostgreSQL server (a scratch database)")
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts (PostgreSQL)")
    parser.add_argument("--sqlite", action="store_true", help="also at 1 worker on SQLite")
    parser.add_argument("--step-seconds", type=float, default=8)
    parser.add_argument("--max-steps", type=int, default=7)
    parser.add_argument("--start-rate", type=float, default=10)
    args = parser.parse_args()
    result = run(
        args.postgres,
        tuple(int(w) for w in args.workers.split(",")),
        args.sqlite or not args.postgres,
        step_seconds=args.step_seconds,
        max_steps=args.max_steps,
        start_rate=args.start_rate,
    )
    print(json.dumps({**result, "runs": [{k: v for k, v in r.items() if k != "steps"} for r in result["runs"]]}))
    print("\n".join(summary(result)))


if __name__ == "__main__":
    main()
