"""Bulk import: rows/s of `POST /bulk-uploads` end to end (10,000 valid applications, through the app,
until the upload is finished) ÷ rows/s of a raw executemany INSERT of the same rows into the same kind
of database. Target ≥ 0.2. Best of 3 alternating runs of each side.

    .venv/bin/python -m bench.bulk_import [n] [--postgres postgresql://user@host:port/postgres] [--credit-codes]

Each upload has titles of its own (as the raw side's rows do): uploading the same rows again would
only report them as duplicates. ``--credit-codes``: the rows name their parties by unified social
credit code, as provincial bureaus hold them, instead of by id.
"""

import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from fastapi.testclient import TestClient

from app.accounts.models import User
from app.accounts.service import create_api_key
from app.applications.models import Application
from app.core.db import make_database
from app.core.ids import new_id
from app.core.settings import Settings
from app.main import create_app, migrate
from app.organizations.credit_code import check_character
from app.organizations.models import Organization
from app.reference.models import Call

# How often the harness asks for the upload's state (`smps client` asks every 0.5 s); more often
# only makes the polling requests compete with the processing they measure.
POLL_SECONDS = 0.05
# Each measurement is repeated, alternating the two sides, and the best of each is kept: the
# machines are shared and a single figure is often someone else's load.
REPEAT = 3

SECTIONS = ("basic_situation", "groundwork", "objectives", "main_tasks", "schedule", "expected_results", "safeguards")


def _setup(url: str) -> dict[str, Any]:
    migrate(Settings(database_url=url))
    database = make_database(Settings(database_url=url))
    now = datetime.now(UTC)
    try:
        with database.transaction() as session:
            call = session.execute(sa.select(Call).where(Call.key == "9th-batch")).scalar_one()
            recommender = session.execute(sa.select(Organization.id).where(Organization.key == "370000")).scalar_one()
            orgs, codes = [], []
            for i in range(4):
                body = f"11370102MB{i:07d}"[:17]
                org = Organization(
                    id=new_id("org"),
                    name=f"历下区单位{i}",
                    credit_code=body + check_character(body),
                    province_code="370000",
                    kind="government_agency",
                    created_at=now,
                    updated_at=now,
                )
                session.add(org)
                orgs.append(org.id)
                codes.append(org.credit_code)
            session.flush()
            user = User(
                id=new_id("usr"),
                username="bench_applicant",
                display_name="申报人",
                organization_id=orgs[0],
                roles=["applicant"],
                password_hash="x",
                created_at=now,
                updated_at=now,
            )
            session.add(user)
            session.flush()
            _, key = create_api_key(session, user.id, "bench", now)
            return {
                "call_id": call.id,
                "recommender": recommender,
                "orgs": orgs,
                "codes": codes,
                "user_id": user.id,
                "key": key,
            }
    finally:
        database.dispose()


def _form(i: int, info: dict[str, Any], tag: str, by_code: bool = False) -> dict[str, Any]:
    orgs = info["codes" if by_code else "orgs"]
    filler = "围绕政务服务标准化，建立健全标准体系，推动服务规范化、便利化。" * 4
    return {
        "call_id": info["call_id"],
        "title": f"第{i}号政务服务标准化试点（{tag}）",
        "domain": {"area": "1.1", "item": "1.1.3"},
        "recommender_id": info["recommender"],
        "parties": {"participating": [orgs[1]], "guarantor": orgs[2], "guidance": orgs[3]},
        "contact": {"name": "王芳", "phone": "13800138000", "email": "wangfang@example.cn"},
        "period": {"start": "2023-01-01", "end": "2024-12-31"},
        "sections": {k: filler for k in SECTIONS},
        "standards": [
            {"code": "GB/T 32169.1-2015", "title": "政务服务中心运行规范", "level": "national", "status": "existing"}
        ],
        "funding": {"amount_cny": 1200000, "sources": "区财政"},
        "eligibility": [{"condition": n, "attested": True} for n in (1, 2, 3, 4)],
    }


def _bulk(url: str, info: dict[str, Any], rows: list[dict[str, Any]], tmp: Path) -> float:
    settings = Settings(
        database_url=url, storage_dir=tmp / "files", log_level="WARNING", max_bulk_upload_bytes=512 * 1024 * 1024
    )
    app = create_app(settings)
    try:
        http = TestClient(app, base_url="http://bench")
        headers = {"Authorization": f"Bearer {info['key']}"}
        # The client's own work (encoding the body) is not the service's: the body is ready before the clock starts.
        body = orjson.dumps({"mode": "all_or_nothing", "rows": rows})
        start = time.perf_counter()
        r = http.post("/api/v1/bulk-uploads", content=body, headers=headers | {"Content-Type": "application/json"})
        assert r.status_code == 202, r.text
        upload_id = r.json()["id"]
        while True:
            body = http.get(f"/api/v1/bulk-uploads/{upload_id}", headers=headers).json()
            if body["state"] in ("finished", "failed"):
                break
            time.sleep(POLL_SECONDS)
        elapsed = time.perf_counter() - start
        assert body["state"] == "finished" and body["created_count"] == len(rows), {
            k: body[k] for k in ("state", "error_count")
        }
        return elapsed
    finally:
        app.state.database.dispose()


def _raw(url: str, info: dict[str, Any], rows: list[dict[str, Any]]) -> float:
    """The reference: one executemany INSERT of the same applications, committed."""
    engine = make_database(Settings(database_url=url))
    now = datetime.now(UTC)
    values = []
    ids = dict(zip(info["codes"], info["orgs"], strict=True))
    for form in rows:
        content = {k: v for k, v in form.items() if k != "call_id"}
        parties = content["parties"]
        content["parties"] = {
            "undertaking": info["orgs"][0],
            "participating": [ids.get(p, p) for p in parties["participating"]],
            "guarantor": ids.get(parties["guarantor"], parties["guarantor"]),
            "guidance": ids.get(parties["guidance"], parties["guidance"]),
        }
        values.append(
            {
                "id": new_id("app"),
                "call_id": form["call_id"],
                "title": form["title"],
                "state": "draft",
                "version": 1,
                "undertaking_org_id": info["orgs"][0],
                "recommender_id": form["recommender_id"],
                "province_code": "370000",
                "domain_area": "1.1",
                "content": content,
                "content_digest": None,
                "entered_by_org_id": None,
                "created_by": info["user_id"],
                "outcome_document_number": None,
                "created_at": now,
                "updated_at": now,
                "submitted_at": None,
            }
        )
    try:
        with engine.writer() as session:
            start = time.perf_counter()
            session.execute(sa.insert(Application.__table__), values)  # type: ignore[attr-defined]
            session.commit()
            return time.perf_counter() - start
    finally:
        engine.dispose()


def _measure(url: str, n: int, tmp: Path, repeat: int, by_code: bool) -> dict[str, Any]:
    info = _setup(url)
    bulk, raw = [], []
    for round_ in range(repeat):
        # Titles of their own per upload and per raw insert: the same rows again would be duplicates.
        bulk.append(_bulk(url, info, [_form(i, info, f"B{round_}", by_code) for i in range(n)], tmp))
        raw.append(_raw(url, info, [_form(i, info, f"R{round_}") for i in range(n)]))
    bulk_s, raw_s = min(bulk), min(raw)
    return {
        "rows": n,
        "bulk_seconds": round(bulk_s, 3),
        "bulk_rows_per_s": round(n / bulk_s),
        "raw_seconds": round(raw_s, 3),
        "raw_rows_per_s": round(n / raw_s),
        "ratio": round(raw_s / bulk_s, 3),
        "bulk_samples": [round(x, 3) for x in bulk],
        "raw_samples": [round(x, 3) for x in raw],
    }


def run(
    n: int = 10000, postgres_admin_url: str | None = None, repeat: int = REPEAT, by_code: bool = False
) -> dict[str, Any]:
    """Measure on SQLite, and on PostgreSQL when an admin URL is given (a scratch database is created)."""
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        out["sqlite"] = _measure(f"sqlite:///{tmp}/bench.db", n, Path(tmp), repeat, by_code)
        if postgres_admin_url:
            admin = sa.create_engine(
                postgres_admin_url.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
            )
            name = f"smps_bench_{uuid.uuid4().hex[:8]}"
            with admin.connect() as conn:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
            try:
                url = sa.engine.make_url(postgres_admin_url).set(database=name).render_as_string(hide_password=False)
                out["postgresql"] = _measure(url, n, Path(tmp), repeat, by_code)
            finally:
                with admin.connect() as conn:
                    conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                admin.dispose()
    return out


if __name__ == "__main__":
    args = sys.argv[1:]
    by_code = "--credit-codes" in args
    args = [a for a in args if a != "--credit-codes"]
    pg = None
    if "--postgres" in args:
        pg = args[args.index("--postgres") + 1]
        args = [a for a in args if a not in ("--postgres", pg)]
    results = run(int(args[0]) if args else 10000, pg, by_code=by_code)
    for backend, figures in results.items():
        print(
            f"{backend}: bulk {figures['bulk_rows_per_s']} rows/s ({figures['bulk_seconds']} s), raw executemany "
            f"{figures['raw_rows_per_s']} rows/s ({figures['raw_seconds']} s), ratio {figures['ratio']} (target ≥ 0.2); "
            f"best of {len(figures['bulk_samples'])}: bulk {figures['bulk_samples']} s, raw {figures['raw_samples']} s"
        )
