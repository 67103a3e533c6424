"""The office (国家标准委) on deadline day (bench/deadline_day.py): its feed, the histories it reads, `/metrics`.

An application's drafting, sign-offs and review become visible to the office only once its list is
submitted, when its live cursor has moved past them. So on each `batch.submitted` it sees, the office
reads that list's history (`GET /events?batch_id=…`), as README's integration pattern says; at the end
every event its whole feed shows must have reached it live or in one of those reads.
"""

import asyncio
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx
from prometheus_client.parser import text_string_to_metric_families

# Each operation of the load and the route template `/metrics` counts it under.
OPERATION_ROUTES: dict[str, tuple[str, str]] = {
    "create": ("POST", "/api/v1/applications"),
    "upload": ("POST", "/api/v1/applications/{application_id}/attachments"),
    "read_own": ("GET", "/api/v1/applications/{application_id}"),
    "read_etag": ("GET", "/api/v1/applications/{application_id}"),
    "submit": ("POST", "/api/v1/applications/{application_id}/transitions"),
    "sign": ("POST", "/api/v1/applications/{application_id}/endorsements"),
    "recommend": ("POST", "/api/v1/applications/{application_id}/reviews"),
    "list": ("GET", "/api/v1/applications"),
    "events": ("GET", "/api/v1/events"),
    "history": ("GET", "/api/v1/events"),
    "batch_open": ("POST", "/api/v1/batches"),
    "batch_items": ("PUT", "/api/v1/batches/{batch_id}/items"),
    "batch_submit": ("POST", "/api/v1/batches/{batch_id}/transitions"),
}
REQUESTS = "smps_http_request_duration_seconds"


class Caller(Protocol):
    """What the office needs of the load generator: a timed, counted request (``Load.call``)."""

    async def call(
        self, http: httpx.AsyncClient, op: str, method: str, url: str, key: str, **kw: Any
    ) -> httpx.Response | None: ...


@dataclass
class OfficeView:
    live: set[str] = field(default_factory=set)  # event ids its tail saw
    history: set[str] = field(default_factory=set)  # event ids its history reads brought
    history_reads: int = 0  # lists whose history it read


async def _pages(load: Caller, http: httpx.AsyncClient, op: str, key: str, **params: str) -> list[dict[str, Any]]:
    """Every page of a read of the feed, from the start; [] if a page failed (the load counts the error)."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        r = await load.call(
            http, op, "GET", "/api/v1/events", key, params={**params, **({"after": cursor} if cursor else {})}
        )
        if r is None:
            return items
        page = r.json()
        items += page["items"]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            return items


async def _history(load: Caller, http: httpx.AsyncClient, office: str, batch_id: str, view: OfficeView) -> None:
    items = await _pages(load, http, "history", office, batch_id=batch_id)
    view.history.update(e["id"] for e in items)
    view.history_reads += 1


async def tail(load: Caller, http: httpx.AsyncClient, office: str, view: OfficeView, stop: asyncio.Event) -> None:
    """The office's feed, page after page, reading each submitted list's history as it appears; once the
    day is over, until three polls in a row bring nothing and every history read has ended."""
    cursor: str | None = None
    quiet = 0
    reads: list[asyncio.Task[None]] = []
    while quiet < 3:
        params = {"after": cursor} if cursor else {}
        r = await load.call(http, "events", "GET", "/api/v1/events", office, params=params)
        if r is not None:
            page = r.json()
            for event in page["items"]:
                view.live.add(event["id"])
                if event["type"] == "batch.submitted":
                    reads.append(asyncio.create_task(_history(load, http, office, event["subject_id"], view)))
            cursor = page["next_cursor"]
            if page["has_more"]:
                continue
            quiet = quiet + 1 if stop.is_set() and not page["items"] else 0
        await asyncio.sleep(0.5 if stop.is_set() else 0.2)
    await asyncio.gather(*reads)


async def whole_feed(base: str, office: str) -> dict[str, str]:
    """The whole feed as the office reads it now, from the start: event id -> type (not counted in the load)."""
    out: dict[str, str] = {}
    cursor: str | None = None
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        while True:
            params = {"after": cursor} if cursor else {}
            r = await http.get("/api/v1/events", params=params, headers={"Authorization": f"Bearer {office}"})
            r.raise_for_status()
            page = r.json()
            out.update((e["id"], e["type"]) for e in page["items"])
            cursor = page["next_cursor"]
            if not page["has_more"]:
                return out


async def scrape_requests(http: httpx.AsyncClient, token: str) -> dict[tuple[str, str], int]:
    """Requests per (method, route template) as `/metrics` counts them, all workers and statuses added up."""
    r = await http.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    r.raise_for_status()
    out: dict[tuple[str, str], int] = defaultdict(int)
    for family in text_string_to_metric_families(r.text):
        if family.name != REQUESTS:
            continue
        for sample in family.samples:
            if sample.name == f"{REQUESTS}_count":
                out[(sample.labels["method"], sample.labels["route"])] += int(sample.value)
    return dict(out)


def compare_counts(counted: dict[str, int], scraped: dict[tuple[str, str], int]) -> tuple[dict[str, Any], list[str]]:
    """The load's own responses per route template against `/metrics`'; a problem for each that differs."""
    ours: dict[tuple[str, str], int] = defaultdict(int)
    for op, n in counted.items():
        ours[OPERATION_ROUTES[op]] += n
    table = {
        f"{m} {route}": {"bench": n, "metrics": scraped.get((m, route), 0)} for (m, route), n in sorted(ours.items())
    }
    problems = [
        f"/metrics counts {t['metrics']} requests of {name}, the load {t['bench']}"
        for name, t in table.items()
        if t["bench"] != t["metrics"]
    ]
    others = {k: v for k, v in scraped.items() if k not in ours and k[1] not in ("/metrics", "/healthz")}
    problems += [
        f"/metrics counts {n} requests of {m} {route}, which the load never sent" for (m, route), n in others.items()
    ]
    return table, problems
