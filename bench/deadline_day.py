"""Deadline day on PostgreSQL under `smps serve`: every role at once, then every list submitted in the last seconds.

The 32 recommenders (31 provinces and the XPCC, 省级推荐单位) each have a reviewer who reads and filters
lists all along; applicants (two units per recommender) create applications, upload a 1–5 MB PDF scan,
submit, have their three parties sign and their reviewer recommend, as many times as the time allows;
the office (联合办公室) tails `/events`. In the last seconds every reviewer builds its batch (推荐清单)
of what it recommended and submits it. Then the checks: no response ≥ 500, each batch submitted once
with a receipt `/receipts/verify` calls valid, every event the office may see reached it (live, or
in the history of a submitted list it reads on each `batch.submitted`: bench/deadline_office.py), the
`/metrics` request counters (all workers) match the load's own count per route, every attachment
row has its file. Run at 1 and at 2 workers, each on a fresh scratch database; per operation req/s,
p50, p99 and errors, and the 2-worker ÷ 1-worker ratio of all requests per second. Then the capacity
at each worker count (bench/deadline_capacity.py): the highest open-loop arrival rate with every
operation's p99 under 1 s and no error.

    .venv/bin/python -m bench.deadline_day --postgres ADMIN_URL [--seconds 60] [--workers 1,2]
"""

import argparse
import asyncio
import os
import secrets
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from sqlmodel import col

from app.attachments.blobstore import FileSystemBlobStore
from app.attachments.models import Attachment
from app.core.db import make_database
from app.core.outbox_models import Event
from app.core.settings import Settings
from bench.deadline_load import Load, stats
from bench.deadline_office import OfficeView, compare_counts, scrape_requests, tail, whole_feed
from bench.deadline_people import Recommender, serve, setup
from tests.attachments.files import BigPdf

MiB = 1024 * 1024
SIGNING_ROLES = ("undertaking", "guarantor", "guidance")
SECTIONS = ("basic_situation", "groundwork", "objectives", "main_tasks", "schedule", "expected_results", "safeguards")


def _form(call_id: str, rec: Recommender, unit: dict[str, str], n: int) -> dict[str, Any]:
    return {
        "call_id": call_id,
        "title": f"政务服务标准化试点 {n}",
        "domain": {"area": "1.1", "item": "1.1.3"},
        "recommender_id": rec.org_id,
        "parties": {
            "participating": [],
            "guarantor": rec.signers["guarantor"][0],
            "guidance": rec.signers["guidance"][0],
        },
        "contact": {"name": "王芳", "phone": "13800138000", "email": "wangfang@example.cn"},
        "period": {"start": "2025-01-01", "end": "2026-12-31"},
        "sections": {k: f"{k} 的内容。" for k in SECTIONS},
        "standards": [{"code": None, "title": "网上办事服务规范", "level": "local", "status": "to_be_drafted"}],
        "funding": {"amount_cny": 1200000, "sources": "区财政"},
        "eligibility": [{"condition": c, "attested": True} for c in (1, 2, 3, 4)],
    }


async def _applicant(
    http: httpx.AsyncClient,
    load: Load,
    call_id: str,
    rec: Recommender,
    unit: dict[str, str],
    scans: list[bytes],
    until: float,
) -> None:
    n = 0
    while time.monotonic() < until:
        n += 1
        r = await load.call(
            http, "create", "POST", "/api/v1/applications", unit["applicant"], json=_form(call_id, rec, unit, n)
        )
        if r is None:
            continue
        app_id, base = r.json()["id"], f"/api/v1/applications/{r.json()['id']}"
        scan = scans[n % len(scans)]
        files = {"file": ("申请书扫描件.pdf", scan, "application/pdf")}
        if (
            await load.call(
                http,
                "upload",
                "POST",
                f"{base}/attachments",
                unit["applicant"],
                headers={"If-Match": r.headers["etag"]},
                files=files,
                data={"kind": "application_form_scan"},
            )
            is None
        ):
            continue
        r = await load.call(http, "read_own", "GET", base, unit["applicant"])
        if r is None:
            continue
        r = await load.call(
            http,
            "submit",
            "POST",
            f"{base}/transitions",
            unit["applicant"],
            json={"action": "submit"},
            headers={"If-Match": r.headers["etag"]},
        )
        if r is None:
            continue
        etag = r.headers["etag"]
        signers = {"undertaking": (unit["org"], unit["undertaking"]), **rec.signers}
        for role in SIGNING_ROLES:
            org, key = signers[role]
            body = {
                "role": role,
                "organization_id": org,
                "decision": "agree",
                "opinion": "同意申报",
                "signatory_name": "张伟",
                "signatory_title": "局长",
            }
            r = await load.call(
                http, "sign", "POST", f"{base}/endorsements", key, json=body, headers={"If-Match": etag}
            )
            if r is None:
                break
            etag = r.headers.get("etag") or ""
            if not etag:
                r = await load.call(http, "read_etag", "GET", base, key)
                if r is None:
                    break
                etag = r.headers["etag"]
        else:
            body = {"decision": "recommend", "opinion": "同意推荐"}
            if await load.call(
                http, "recommend", "POST", f"{base}/reviews", rec.key, json=body, headers={"If-Match": etag}
            ):
                rec.recommended.append(app_id)


async def _reader(http: httpx.AsyncClient, load: Load, rec: Recommender, until: float) -> None:
    filters = [f"recommender_id={rec.org_id}&state=provincial_review", "state=recommended", "domain_area=1.1", ""]
    i = 0
    while time.monotonic() < until:
        i += 1
        await load.call(http, "list", "GET", f"/api/v1/applications?page_size=50&{filters[i % len(filters)]}", rec.key)


async def _submit_batch(http: httpx.AsyncClient, load: Load, call_id: str, rec: Recommender) -> str | None:
    r = await load.call(http, "batch_open", "POST", "/api/v1/batches", rec.key, json={"call_id": call_id})
    if r is None:
        return None
    batch_id, etag = r.json()["id"], r.headers["etag"]
    items = [{"application_id": a, "rank": i + 1} for i, a in enumerate(rec.recommended)]
    r = await load.call(
        http,
        "batch_items",
        "PUT",
        f"/api/v1/batches/{batch_id}/items",
        rec.key,
        json={"items": items},
        headers={"If-Match": etag},
    )
    if r is None:
        return None
    r = await load.call(
        http,
        "batch_submit",
        "POST",
        f"/api/v1/batches/{batch_id}/transitions",
        rec.key,
        json={"action": "submit"},
        headers={"If-Match": r.headers["etag"]},
    )
    return batch_id if r is not None else None


async def _day(
    base: str, call_id: str, recs: list[Recommender], office: str, seconds: float, metrics_token: str
) -> tuple[Load, dict[str, str], OfficeView, dict[tuple[str, str], int], float]:
    load, view, stop = Load(), OfficeView(), asyncio.Event()
    scans = [b"".join(BigPdf(mb * MiB).chunks()) for mb in range(1, 6)]
    # Idle connections are dropped before uvicorn's 5 s keep-alive ends: a request sent on a connection the
    # server is closing fails with ReadError without ever reaching it.
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200, keepalive_expiry=3)
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as http:
        start = time.monotonic()
        # Everyone works until the last seconds; then the lists go in, all at once.
        until = start + seconds * 0.8
        office_task = asyncio.create_task(tail(load, http, office, view, stop))
        await asyncio.gather(
            *(_reader(http, load, rec, until) for rec in recs),
            *(_applicant(http, load, call_id, rec, unit, scans, until) for rec in recs for unit in rec.units),
        )
        ids = await asyncio.gather(*(_submit_batch(http, load, call_id, rec) for rec in recs if rec.recommended))
        elapsed = time.monotonic() - start
        batches = {rec.org_id: b for rec, b in zip([r for r in recs if r.recommended], ids, strict=True) if b}
        stop.set()
        await office_task
        # Before any request the load does not count (the checks'): the scrape must match the load's own tally.
        scraped = await scrape_requests(http, metrics_token)
    return load, batches, view, scraped, elapsed


async def _verify(base: str, recs: list[Recommender], batches: dict[str, str], office: str) -> list[str]:
    problems = []
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        for rec in recs:
            if not rec.recommended:
                continue
            batch_id = batches.get(rec.org_id)
            if batch_id is None:
                problems.append(f"recommender {rec.org_id}: its batch was not submitted")
                continue
            auth = {"Authorization": f"Bearer {rec.key}"}
            receipts = (await http.get(f"/api/v1/batches/{batch_id}/receipts", headers=auth)).json()
            if len(receipts) != 1:
                problems.append(f"batch {batch_id}: {len(receipts)} receipts")
                continue
            listed = (await http.get(f"/api/v1/batches?call_id={receipts[0].get('call_id', '')}", headers=auth)).json()
            submitted = [b for b in listed.get("items", []) if b.get("state") == "submitted"]
            if len(submitted) != 1:
                problems.append(f"recommender {rec.org_id}: {len(submitted)} submitted batches")
            verdict = (await http.post("/api/v1/receipts/verify", json=receipts[0], headers=auth)).json()
            if not verdict.get("valid"):
                problems.append(f"batch {batch_id}: receipt not valid ({verdict})")
    return problems


def run_once(admin_url: str, workers: int, seconds: float) -> dict[str, Any]:
    admin = sa.create_engine(
        admin_url.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
    )
    name = f"smps_deadline_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        with tempfile.TemporaryDirectory(prefix="smps-deadline-") as tmp:
            url = sa.engine.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
            settings = Settings(database_url=url, storage_dir=Path(tmp) / "files")
            call_id, recs, office = setup(settings)
            log = Path(tempfile.gettempdir()) / f"{name}.log"  # kept: the server's own account of any 5xx
            metrics_token = secrets.token_urlsafe(24)
            proc, base = serve(settings, workers, log, metrics_token)
            try:
                load, batches, view, scraped, elapsed = asyncio.run(
                    _day(base, call_id, recs, office, seconds, metrics_token)
                )
                problems = asyncio.run(_verify(base, recs, batches, office))
                visible = asyncio.run(whole_feed(base, office))
            finally:
                os.killpg(proc.pid, 15)
                proc.wait(timeout=30)
            database = make_database(settings)
            try:
                with database.reader() as session:
                    events = set(session.execute(sa.select(col(Event.id))).scalars())
                    keys = list(session.execute(sa.select(col(Attachment.storage_key))).scalars())
            finally:
                database.dispose()
            store = FileSystemBlobStore(settings.storage_dir)
            missing_files = [k for k in keys if not store.exists(k)]
            # What the office may see (its whole feed, read from the start now) reached it live or in the
            # history of a submitted list; the submissions themselves live.
            seen = view.live | view.history
            if unseen := set(visible) - seen:
                problems.append(f"{len(unseen)} events the office may see reached neither its feed nor a history read")
            if missed := {e for e, t in visible.items() if t == "batch.submitted" and e not in view.live}:
                problems.append(f"{len(missed)} batch.submitted events were not seen by the office's live feed")
            if view.history_reads != len(batches):
                problems.append(f"the office read {view.history_reads} list histories for {len(batches)} lists")
            metrics, mismatches = compare_counts({op: len(t) for op, t in load.times.items()}, scraped)
            problems += mismatches
            if set(visible) - events:
                problems.append("the office's feed names events that are not in the log")
            if missing_files:
                problems.append(f"{len(missing_files)} attachment rows without their file")
            if load.server_errors:
                problems.append(f"{load.server_errors} responses >= 500")
            total = sum(len(t) for t in load.times.values())
            return {
                "workers": workers,
                "seconds": round(elapsed, 1),
                "requests": total,
                "rps": round(total / elapsed, 1),
                "operations": stats(load, elapsed),
                "batches_submitted": len(batches),
                "applications_recommended": sum(len(r.recommended) for r in recs),
                "events": len(events),
                "events_office_may_see": len(visible),
                "events_seen_live_by_office": len(view.live & set(visible)),
                "events_seen_in_history_reads": len(view.history & set(visible)),
                "events_seen_by_office": len(seen & set(visible)),
                "history_reads": view.history_reads,
                "metrics_requests": metrics,
                "attachments": len(keys),
                "responses_5xx": load.server_errors,
                "problems": problems,
                "server_log": str(log),
                "error_samples": {op: errs[:3] for op, errs in load.errors.items()},
            }
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def run(
    admin_url: str, seconds: float = 60, workers: tuple[int, ...] = (1, 2), capacity: bool = True
) -> dict[str, Any]:
    runs = []
    for w in workers:
        runs.append(run_once(admin_url, w, seconds))
        _print({"runs": runs[-1:]})  # as soon as it is known: a later run may fail
    out: dict[str, Any] = {"name": "deadline_day", "runs": runs}
    rps = {r["workers"]: r["rps"] for r in runs}
    if 1 in rps and 2 in rps:
        out["ratio_rps"] = round(rps[2] / rps[1], 3)
    if capacity:  # the open-loop arrival rate each worker count keeps with every p99 under 1 s
        from bench import deadline_capacity  # it builds on this module's load and forms

        found = deadline_capacity.run(admin_url, workers)
        out["capacity"] = {f"{r['backend']}/{r['workers']}": r["capacity_rps"] for r in found["runs"]}
        out["capacity_runs"] = [{k: v for k, v in r.items() if k != "steps"} for r in found["runs"]]
        print("\n".join(deadline_capacity.summary(found)), flush=True)
    return out


def _print(result: dict[str, Any]) -> None:
    for r in result["runs"]:
        print(f"--- {r['workers']} worker(s): {r['requests']} requests in {r['seconds']} s, {r['rps']} req/s")
        print(f"{'operation':<14}{'requests':>9}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
        for op, s in r["operations"].items():
            print(f"{op:<14}{s['requests']:>9}{s['rps']:>8}{s['p50_ms']!s:>9}{s['p99_ms']!s:>9}{s['errors']:>8}")
        print(
            f"batches submitted {r['batches_submitted']}, applications recommended {r['applications_recommended']}, "
            f"events {r['events']}, attachments {r['attachments']}, 5xx {r['responses_5xx']}"
        )
        print(
            f"office: may see {r['events_office_may_see']} events, saw {r['events_seen_by_office']} of them "
            f"({r['events_seen_live_by_office']} live, {r['events_seen_in_history_reads']} in "
            f"{r['history_reads']} list history reads)"
        )
        agree = sum(t["bench"] == t["metrics"] for t in r["metrics_requests"].values())
        print(f"/metrics request counters agree with the load's own for {agree} of {len(r['metrics_requests'])} routes")
        print(
            "checks: " + ("all passed" if not r["problems"] else "; ".join(r["problems"])) + f" (log {r['server_log']})"
        )
        for op, errs in r["error_samples"].items():
            print(f"  {op} errors, e.g.: {errs}")
    if "ratio_rps" in result:
        print(f"2 workers ÷ 1 worker, all requests per second: {result['ratio_rps']}")


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.deadline_day", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--postgres", required=True, help="an admin URL of a PostgreSQL server (a scratch database is made)"
    )
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    parser.add_argument("--no-capacity", action="store_true", help="skip the open-loop capacity climb")
    args = parser.parse_args()
    workers = tuple(int(w) for w in args.workers.split(","))
    result = run(args.postgres, args.seconds, workers, capacity=not args.no_capacity)
    if "ratio_rps" in result:
        print(f"2 workers ÷ 1 worker, all requests per second: {result['ratio_rps']}")
    if any(r["problems"] for r in result["runs"]):
        sys.exit(1)


if __name__ == "__main__":
    main()
