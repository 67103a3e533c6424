"""Shared pieces of the benchmarks: a migrated database with realistic data, servers, wrk."""

import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from app.accounts.models import User
from app.accounts.service import create_api_key
from app.applications.models import Application, ApplicationParty
from app.core.db import make_database
from app.core.ids import new_id
from app.core.security import hash_password
from app.core.settings import Settings
from app.main import migrate
from app.organizations.credit_code import check_character
from app.organizations.models import Organization
from app.reference.models import Call

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
STATES = ["draft", "endorsing", "provincial_review", "recommended", "submitted", "returned"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def realistic_content(i: int, call: Call, recommender_id: str, parties: dict[str, Any]) -> dict[str, Any]:
    """About 10 KB of form, like a real application."""
    area = ["1.2", "2.3", "3.1", "4.2", "6.3", "7.1"][i % 6]
    filler = "围绕政务服务标准化，建立健全标准体系，推动服务规范化、便利化。" * 12
    return {
        "title": f"第{i}号政务服务标准化试点",
        "domain": {"area": area},
        "recommender_id": recommender_id,
        "parties": parties,
        "contact": {"name": "王芳", "phone": "13800138000", "email": "wangfang@example.cn"},
        "period": {"start": "2023-01-01", "end": "2024-12-31"},
        "sections": {s["key"]: filler for s in call.sections},
        "standards": [
            {"code": f"GB/T 3216{k}-2015", "title": "政务服务中心运行规范", "level": "national", "status": "existing"}
            for k in range(10)
        ],
        "funding": {"amount_cny": 1200000, "sources": "区财政"},
        "eligibility": [{"condition": n, "attested": True} for n in (1, 2, 3, 4)],
    }


def build_database(url: str, n_applications: int, provinces: int = 8) -> dict[str, Any]:
    """Migrate and fill a database: organizations in several provinces and n applications across states."""
    settings = Settings(database_url=url)
    migrate(settings)
    database = make_database(settings)
    now = datetime.now(UTC)
    info: dict[str, Any] = {}
    with database.transaction() as session:
        call = session.execute(sa.select(Call).where(Call.key == "9th-batch")).scalar_one()
        bureaus = (
            session.execute(
                sa.select(Organization)
                .where(Organization.recommender_kind == "province")
                .order_by(Organization.key)
                .limit(provinces)
            )
            .scalars()
            .all()
        )
        units = []
        for b_i, bureau in enumerate(bureaus):
            for u in range(4):
                body = f"11{bureau.province_code[:2]}0100MB{b_i:03d}{u:04d}"[:17]
                org = Organization(
                    id=new_id("org"),
                    name=f"单位{b_i}-{u}",
                    credit_code=body + check_character(body),
                    province_code=bureau.province_code,
                    kind="government_agency",
                    created_at=now,
                    updated_at=now,
                )
                session.add(org)
                units.append((bureau, org))
        session.flush()
        reviewer = User(
            id=new_id("usr"),
            username="bench_reviewer",
            display_name="审核员",
            organization_id=bureaus[0].id,
            roles=["reviewer"],
            password_hash=hash_password("bench-password"),
            created_at=now,
            updated_at=now,
        )
        session.add(reviewer)
        session.flush()
        _, info["reviewer_key"] = create_api_key(session, reviewer.id, "bench", now)
        apps, parties_rows = [], []
        for i in range(n_applications):
            bureau, unit = units[i % len(units)]
            others = [o for b, o in units if b.id == bureau.id and o.id != unit.id]
            parties = {
                "undertaking": unit.id,
                "participating": [others[0].id],
                "guarantor": others[1].id,
                "guidance": others[2].id,
            }
            created = now - timedelta(seconds=n_applications - i)
            app_id = new_id("app")
            apps.append(
                {
                    "id": app_id,
                    "call_id": call.id,
                    "title": f"第{i}号政务服务标准化试点",
                    "state": STATES[i % len(STATES)],
                    "version": 1,
                    "undertaking_org_id": unit.id,
                    "recommender_id": bureau.id,
                    "province_code": bureau.province_code,
                    "domain_area": "1.2",
                    "content": realistic_content(i, call, bureau.id, parties),
                    "created_by": reviewer.id,
                    "created_at": created,
                    "updated_at": created,
                }
            )
            for pos, (role, org) in enumerate(
                [
                    ("undertaking", unit.id),
                    ("participating", others[0].id),
                    ("guarantor", others[1].id),
                    ("guidance", others[2].id),
                ]
            ):
                parties_rows.append({"application_id": app_id, "role": role, "organization_id": org, "position": pos})
            if len(apps) >= 5000:
                session.execute(sa.insert(Application), apps)
                session.execute(sa.insert(ApplicationParty), parties_rows)
                apps, parties_rows = [], []
        if apps:
            session.execute(sa.insert(Application), apps)
            session.execute(sa.insert(ApplicationParty), parties_rows)
        info["recommender_id"] = bureaus[0].id
        info["visible_application_id"] = session.execute(
            sa.select(Application.id)
            .where(Application.recommender_id == bureaus[0].id, Application.state == "provincial_review")
            .limit(1)
        ).scalar_one()
    database.dispose()
    return info


@contextmanager
def server(module: str, env: dict[str, str], workers: int = 1, log: Path | None = None) -> Iterator[str]:
    """Start uvicorn serving ``module`` on a free loopback port; yield its base URL.

    ``log``: the service logs at its default level into this file, as in production (one JSON line per
    request); without it, warnings only.
    """
    port = free_port()
    logging = {} if log is not None else {"SMPS_LOG_LEVEL": "WARNING"}
    log_file = log.open("ab") if log is not None else None
    proc = subprocess.Popen(
        [
            PYTHON,
            "-m",
            "uvicorn",
            module,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=ROOT,
        env={**os.environ, **env, **logging},
        stderr=log_file,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise RuntimeError(f"{module} did not start")
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
        if log_file is not None:
            log_file.close()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process (and its reaped children) has used, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def server_pid(base: str) -> int:
    """The pid of the process listening on the URL's port (the uvicorn server)."""
    port = int(base.rsplit(":", 1)[1])
    out = subprocess.run(["ss", "-Htlnp", f"sport = :{port}"], capture_output=True, text=True).stdout
    return int(re.search(r"pid=(\d+)", out).group(1))  # type: ignore[union-attr]


def wrk(url: str, headers: dict[str, str] | None = None, seconds: int = 8, connections: int = 16) -> float:
    """Requests per second measured by wrk (Debian package) on loopback."""
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for k, v in (headers or {}).items():
        cmd += ["-H", f"{k}: {v}"]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in out:
        raise RuntimeError(f"non-2xx responses from {url}:\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]


def temp_sqlite_url() -> str:
    return f"sqlite:///{tempfile.mkdtemp(prefix='smps-bench-')}/bench.db"


def unique() -> str:
    return secrets.token_hex(4)


@contextmanager
def scratch_postgres(admin_url: str) -> Iterator[str]:
    """A new empty database on the server of ``admin_url``, dropped afterwards."""
    admin = sa.create_engine(
        admin_url.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
    )
    name = f"smps_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield sa.engine.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
