"""Change feed: time per page at the end of a 100,000-event feed ÷ at its start (pages of 500), through
`GET /api/v1/events` on a uvicorn server, as a provincial reviewer (the visibility filter applies:
most events are about applications the reviewer sees, some are not). Target ≤ 1.2.

The whole feed is walked once to learn each page's cursor; then the first and the last full pages
are fetched alternately, several rounds, and the medians compared. The server's CPU time per page
is reported too (steadier when the machine is busy).

    .venv/bin/python -m bench.change_feed [n_events] [--postgres postgresql://user@host:port/postgres]
"""

import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa

from app.applications.models import Application
from app.core.db import make_database
from app.core.ids import new_id
from app.core.outbox import allocate, publish
from app.core.outbox_models import Event
from app.core.settings import Settings
from app.events import audiences as _audiences  # noqa: F401  (registers the feed's publisher)
from bench.common import build_database, cpu_seconds, scratch_postgres, server, server_pid

APPLICATIONS = 2_000
PAGES_COMPARED = 10  # full pages at each end of the feed
ROUNDS = 5
INVISIBLE_EVERY = 10  # one event in ten is about an application the reviewer does not see
TYPES = ("application.created", "application.updated", "application.state_changed", "review.recorded")


def _fill_events(url: str, n_events: int, info: dict[str, Any]) -> int:
    """n events about the applications of the database; returns how many the reviewer may see."""
    database = make_database(Settings(database_url=url))
    try:
        with database.transaction() as session:
            apps = session.execute(
                sa.select(
                    Application.id,
                    Application.recommender_id,
                    Application.state,
                    Application.undertaking_org_id,
                    Application.title,
                )
            ).all()
            visible = [a for a in apps if a.recommender_id == info["recommender_id"] and a.state != "draft"]
            hidden = [a for a in apps if a.recommender_id != info["recommender_id"]]
            start = datetime.now(UTC) - timedelta(days=30)
            first = allocate(session, n_events)
            batch: list[dict[str, Any]] = []
            seen = 0
            for seq in range(first, first + n_events):
                about = hidden[seq % len(hidden)] if seq % INVISIBLE_EVERY == 0 else visible[seq % len(visible)]
                seen += seq % INVISIBLE_EVERY != 0
                kind = TYPES[seq % len(TYPES)]
                # Each type's data as the service writes it (the feed's response model checks it).
                data: dict[str, Any] = {
                    "application.created": {"state": about.state, "title": about.title},
                    "application.updated": {"fields": ["title"]},
                    "application.state_changed": {
                        "action": "recommend",
                        "from": "provincial_review",
                        "to": about.state,
                    },
                    "review.recorded": {"decision": "recommend"},
                }[kind]
                batch.append(
                    {
                        "seq": seq,
                        "id": new_id("evt"),
                        "type": kind,
                        "subject_type": "application",
                        "subject_id": about.id,
                        "actor_id": None,
                        "occurred_at": start + timedelta(seconds=seq),
                        "application_id": about.id,
                        "recommender_id": about.recommender_id,
                        "organization_id": about.undertaking_org_id,
                        "data": data,
                    }
                )
                if len(batch) == 5000:
                    session.execute(sa.insert(Event.__table__), batch)  # type: ignore[attr-defined]
                    publish(session, batch)  # the feed's entries, as the service writes them
                    batch = []
            if batch:
                session.execute(sa.insert(Event.__table__), batch)  # type: ignore[attr-defined]
                publish(session, batch)
        return seen
    finally:
        database.dispose()


def _page(http: httpx.Client, after: str | None, page_size: int) -> dict[str, Any]:
    params: dict[str, Any] = {"page_size": page_size}
    if after:
        params["after"] = after
    r = http.get("/api/v1/events", params=params)
    r.raise_for_status()
    return r.json()


def _measure(url: str, n_events: int, page_size: int) -> dict[str, Any]:
    info = build_database(url, APPLICATIONS)
    visible = _fill_events(url, n_events, info)
    headers = {"Authorization": f"Bearer {info['reviewer_key']}"}
    with (
        server("app.asgi:app", {"SMPS_DATABASE_URL": url}) as base,
        httpx.Client(base_url=base, headers=headers, timeout=60) as http,
    ):
        pid = server_pid(base)
        # Walk the whole feed once: the cursor of every page.
        cursors: list[str | None] = [None]
        walked = 0
        while True:
            body = _page(http, cursors[-1], page_size)
            walked += len(body["items"])
            if not body["has_more"]:
                break
            cursors.append(body["next_cursor"])
        assert walked >= visible, (walked, visible)  # and whatever the seed recorded that the reviewer sees
        full = cursors[:-1]  # the last page may be short
        assert len(full) >= 2 * PAGES_COMPARED, "too few pages to compare"
        ends = {"start": full[:PAGES_COMPARED], "end": full[-PAGES_COMPARED:]}
        seconds: dict[str, list[float]] = {"start": [], "end": []}
        cpu: dict[str, float] = {"start": 0.0, "end": 0.0}
        for _ in range(ROUNDS):
            for first, last in zip(ends["start"], ends["end"], strict=True):
                for where, after in (("start", first), ("end", last)):
                    before_cpu, began = cpu_seconds(pid), time.perf_counter()
                    items = _page(http, after, page_size)["items"]
                    seconds[where].append(time.perf_counter() - began)
                    cpu[where] += cpu_seconds(pid) - before_cpu
                    assert len(items) == page_size
    per_page = {k: statistics.median(v) for k, v in seconds.items()}
    cpu_ms = {k: v * 1000 / len(seconds[k]) for k, v in cpu.items()}
    return {
        "events": n_events,
        "visible_events": visible,
        "pages": len(cursors),
        "page_size": page_size,
        "start_ms_per_page": round(per_page["start"] * 1000, 2),
        "end_ms_per_page": round(per_page["end"] * 1000, 2),
        "ratio": round(per_page["end"] / per_page["start"], 3),
        "start_server_cpu_ms_per_page": round(cpu_ms["start"], 2),
        "end_server_cpu_ms_per_page": round(cpu_ms["end"], 2),
        "cpu_ratio": round(cpu_ms["end"] / cpu_ms["start"], 3) if cpu_ms["start"] else None,
    }


def run(n_events: int = 100_000, postgres_admin_url: str | None = None, page_size: int = 500) -> dict[str, Any]:
    """Measure on SQLite, and on PostgreSQL when an admin URL is given (a scratch database is created)."""
    out: dict[str, Any] = {"name": "change_feed", "target": "<= 1.2"}
    with tempfile.TemporaryDirectory(prefix="smps-bench-") as tmp:
        out["sqlite"] = _measure(f"sqlite:///{tmp}/bench.db", n_events, page_size)
    if postgres_admin_url:
        with scratch_postgres(postgres_admin_url) as url:
            out["postgresql"] = _measure(url, n_events, page_size)
    return out


if __name__ == "__main__":
    args = sys.argv[1:]
    pg = None
    if "--postgres" in args:
        pg = args[args.index("--postgres") + 1]
        args = [a for a in args if a not in ("--postgres", pg)]
    results = run(int(args[0]) if args else 100_000, pg)
    for backend in ("sqlite", "postgresql"):
        if backend in results:
            f = results[backend]
            print(
                f"{backend}: {f['events']} events ({f['visible_events']} visible, {f['pages']} pages of {f['page_size']}): "
                f"{f['start_ms_per_page']} ms per page at the start, {f['end_ms_per_page']} ms at the end, "
                f"ratio {f['ratio']} (target ≤ 1.2); server CPU {f['start_server_cpu_ms_per_page']} → "
                f"{f['end_server_cpu_ms_per_page']} ms per page (ratio {f['cpu_ratio']})"
            )
