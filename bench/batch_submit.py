"""Batch submission: the time to submit a recommended list of 300 applications with 5 attachments each
through `POST /batches/{id}/transitions {"action": "submit"}` on a uvicorn server ÷ the time for 30.
Target ≤ 12 (linear or better; receipts reuse stored digests, no file is re-read).

The lists are built directly in the database for speed: a call open now, applications in state
`recommended` with content digests, attachment rows with SHA-256 values and real small files in the
storage directory, and an open batch listing them. Each size is measured ``repeats`` times on its
own list (the median is kept), the sizes alternating, all against one server.

    .venv/bin/python -m bench.batch_submit [--small 30] [--large 300] [--repeats 3] [--postgres ADMIN_URL]
"""

import argparse
import hashlib
import secrets
import statistics
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import sqlalchemy as sa

from app.accounts.models import User
from app.accounts.service import create_api_key
from app.applications.models import Application, ApplicationParty
from app.applications.service import canonical_digest
from app.attachments.blobstore import FileSystemBlobStore, new_key
from app.attachments.models import Attachment
from app.batches.models import Batch, BatchItem, BatchState
from app.core.clock import BEIJING
from app.core.db import Database, make_database
from app.core.ids import new_id
from app.core.settings import Settings
from app.main import migrate
from app.organizations.credit_code import check_character
from app.organizations.models import Organization
from app.reference import data
from app.reference.models import Call
from app.reference.seed import DEFAULT_ATTACHMENT_RULES
from bench.common import realistic_content, server

_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
    b"trailer<</Size 4/Root 1 0 R>>\n%%EOF\n"
)
_KINDS = ["application_form_scan", "implementation_plan", "standards_table", "evidence", "other"]


def open_call(session: Any, now: datetime, key: str) -> Call:
    """A call open now (deadline in 60 days) with the 9th batch's catalogue, as `smps demo` makes its practice call."""
    call = Call(
        id=new_id("call"),
        key=key,
        name=f"基准测试批次 {key}",
        name_en=f"Benchmark call {key}",
        notice_number=f"基准〔{now.year}〕{key}号",
        issue_date=date.today(),
        deadline=(now + timedelta(days=60)).astimezone(BEIJING).replace(hour=23, minute=59, second=59, microsecond=0),
        catalogue=data.CATALOGUE_9TH,
        conditions=data.CONDITIONS_9TH,
        sections=data.SECTIONS_9TH,
        attachment_rules=DEFAULT_ATTACHMENT_RULES,
        created_at=now,
        updated_at=now,
    )
    session.add(call)
    session.flush()
    return call


def build_list(
    database: Database, storage_dir: Path, n: int, attachments: int = 5, recommender_key: str = "370000"
) -> dict[str, Any]:
    """An open batch of ``n`` recommended applications (``attachments`` files each) in a new call.

    Returns ``{"batch_id", "call_id", "recommender_id", "reviewer_id", "reviewer_key", "application_ids"}``.
    """
    now = datetime.now(UTC)
    tag = f"{secrets.randbelow(10**6):06d}"
    store = FileSystemBlobStore(storage_dir)
    with database.transaction() as session:
        call = open_call(session, now, f"bench-{tag}")
        recommender = session.execute(sa.select(Organization).where(Organization.key == recommender_key)).scalar_one()
        units = []
        for u in range(4):
            body = f"11{recommender.province_code[:2]}0102MB{tag}{u}"
            org = Organization(
                id=new_id("org"),
                name=f"基准单位{tag}-{u}",
                credit_code=body + check_character(body),
                province_code=recommender.province_code,
                kind="government_agency",
                created_at=now,
                updated_at=now,
            )
            session.add(org)
            units.append(org.id)
        reviewer = User(
            id=new_id("usr"),
            username=f"bench_reviewer_{tag}",
            display_name="审核员",
            organization_id=recommender.id,
            roles=["reviewer"],
            password_hash="-",
            created_at=now,
            updated_at=now,
        )
        session.add(reviewer)
        session.flush()
        _, key = create_api_key(session, reviewer.id, "bench", now)
        parties = {"undertaking": units[0], "participating": [units[1]], "guarantor": units[2], "guidance": units[3]}
        apps: list[dict[str, Any]] = []
        party_rows: list[dict[str, Any]] = []
        files: list[dict[str, Any]] = []
        for i in range(n):
            app_id = new_id("app")
            content = realistic_content(i, call, recommender.id, parties)
            app_files = []
            for k in range(attachments):
                blob = _PDF + f"%{app_id}-{k}\n".encode()
                storage_key = new_key()
                path = store.path(storage_key)
                path.parent.mkdir(exist_ok=True)
                path.write_bytes(blob)
                row = {
                    "id": new_id("att"),
                    "application_id": app_id,
                    "kind": _KINDS[k % len(_KINDS)],
                    "filename": f"附件{k + 1}.pdf",
                    "description": None,
                    "file_type": "pdf",
                    "media_type": "application/pdf",
                    "size": len(blob),
                    "sha256": hashlib.sha256(blob).hexdigest(),
                    "storage_key": storage_key,
                    "uploaded_by": reviewer.id,
                    "created_at": now,
                }
                files.append(row)
                app_files.append({"id": row["id"], "kind": row["kind"], "sha256": row["sha256"]})
            digest = canonical_digest(SimpleNamespace(call_id=call.id, content=content), app_files)  # type: ignore[arg-type]
            apps.append(
                {
                    "id": app_id,
                    "call_id": call.id,
                    "title": content["title"],
                    "state": "recommended",
                    "version": 7,
                    "undertaking_org_id": units[0],
                    "recommender_id": recommender.id,
                    "province_code": recommender.province_code,
                    "domain_area": content["domain"]["area"],
                    "content": content,
                    "content_digest": digest,
                    "created_by": reviewer.id,
                    "created_at": now,
                    "updated_at": now,
                    "submitted_at": now,
                }
            )
            party_rows += [
                {"application_id": app_id, "role": role, "organization_id": org, "position": pos}
                for pos, (role, org) in enumerate(
                    [
                        ("undertaking", units[0]),
                        ("participating", units[1]),
                        ("guarantor", units[2]),
                        ("guidance", units[3]),
                    ]
                )
            ]
        if apps:
            session.execute(sa.insert(Application), apps)
            session.execute(sa.insert(ApplicationParty), party_rows)
        if files:
            session.execute(sa.insert(Attachment), files)
        batch = Batch(
            id=new_id("bat"),
            call_id=call.id,
            recommender_id=recommender.id,
            state=BatchState.open,
            created_by=reviewer.id,
            created_at=now,
            updated_at=now,
        )
        session.add(batch)
        session.flush()
        if apps:
            session.execute(
                sa.insert(BatchItem),
                [{"batch_id": batch.id, "application_id": a["id"], "rank": r + 1} for r, a in enumerate(apps)],
            )
        return {
            "batch_id": batch.id,
            "call_id": call.id,
            "recommender_id": recommender.id,
            "reviewer_id": reviewer.id,
            "reviewer_key": key,
            "application_ids": [a["id"] for a in apps],
        }


def _submit(http: httpx.Client, built: dict[str, Any]) -> float:
    headers = {"Authorization": f"Bearer {built['reviewer_key']}"}
    etag = http.get(f"/api/v1/batches/{built['batch_id']}", headers=headers).headers["etag"]
    start = time.perf_counter()
    r = http.post(
        f"/api/v1/batches/{built['batch_id']}/transitions",
        json={"action": "submit"},
        headers={**headers, "If-Match": etag},
    )
    elapsed = time.perf_counter() - start
    if r.status_code != 200 or len(r.json()["items"]) != len(built["application_ids"]):
        raise RuntimeError(f"submission failed: {r.status_code} {r.text[:500]}")
    return elapsed


def _measure(url: str, tmp: Path, small: int, large: int, attachments: int, repeats: int) -> dict[str, Any]:
    settings = Settings(database_url=url, storage_dir=tmp / "files")
    migrate(settings)
    database = make_database(settings)
    try:
        lists = [
            (size, build_list(database, settings.storage_dir, size, attachments))
            for _ in range(repeats)
            for size in (small, large)
        ]
    finally:
        database.dispose()
    times: dict[int, list[float]] = {small: [], large: []}
    env = {"SMPS_DATABASE_URL": url, "SMPS_STORAGE_DIR": str(settings.storage_dir)}
    with server("app.asgi:app", env, workers=1) as base, httpx.Client(base_url=base, timeout=300) as http:
        warm = lists[0][1]  # the first request of a process pays for imports and pools: not measured
        http.get(f"/api/v1/batches/{warm['batch_id']}", headers={"Authorization": f"Bearer {warm['reviewer_key']}"})
        for size, built in lists:
            times[size].append(_submit(http, built))
    t_small, t_large = statistics.median(times[small]), statistics.median(times[large])
    return {
        "small": small,
        "large": large,
        "attachments_each": attachments,
        "small_seconds": round(t_small, 4),
        "large_seconds": round(t_large, 4),
        "all_seconds": {str(k): [round(t, 4) for t in v] for k, v in times.items()},
        "ratio": round(t_large / t_small, 2),
        "target": "≤ 12",
    }


def run(
    postgres_admin_url: str | None = None, small: int = 30, large: int = 300, attachments: int = 5, repeats: int = 3
) -> dict[str, Any]:
    """Measure on SQLite, and on PostgreSQL when an admin URL is given (a scratch database is created)."""
    out: dict[str, Any] = {"benchmark": "batch_submit"}
    with tempfile.TemporaryDirectory(prefix="smps-bench-") as tmp:
        out["sqlite"] = _measure(f"sqlite:///{tmp}/bench.db", Path(tmp) / "sqlite", small, large, attachments, repeats)
        if postgres_admin_url:
            admin = sa.create_engine(
                postgres_admin_url.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
            )
            name = f"smps_bench_{uuid.uuid4().hex[:8]}"
            with admin.connect() as conn:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
            try:
                url = sa.engine.make_url(postgres_admin_url).set(database=name).render_as_string(hide_password=False)
                out["postgresql"] = _measure(url, Path(tmp) / "postgresql", small, large, attachments, repeats)
            finally:
                with admin.connect() as conn:
                    conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                admin.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.batch_submit", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--small", type=int, default=30)
    parser.add_argument("--large", type=int, default=300)
    parser.add_argument("--attachments", type=int, default=5, help="attachments per application")
    parser.add_argument("--repeats", type=int, default=3, help="lists of each size (the median time is kept)")
    parser.add_argument("--postgres", default=None, help="an admin URL of a PostgreSQL server")
    args = parser.parse_args()
    results = run(args.postgres, args.small, args.large, args.attachments, args.repeats)
    for backend in ("sqlite", "postgresql"):
        if backend in results:
            f = results[backend]
            print(
                f"{backend}: {f['small']} applications {f['small_seconds']} s, {f['large']} applications "
                f"{f['large_seconds']} s, ratio {f['ratio']} (target ≤ 12; {f['attachments_each']} attachments each)"
            )


if __name__ == "__main__":
    main()
