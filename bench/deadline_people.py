"""The people of deadline day (bench/deadline_day.py), made directly in the database, and the server they use."""

import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from sqlmodel import col

from app.accounts.models import User
from app.accounts.service import create_api_key
from app.core.db import make_database
from app.core.ids import new_id
from app.core.settings import Settings
from app.main import migrate
from app.organizations.credit_code import check_character
from app.organizations.models import Organization
from bench.batch_submit import open_call
from bench.common import ROOT, free_port

UNITS_PER_RECOMMENDER = 2


@dataclass
class Recommender:
    org_id: str
    key: str  # its reviewer's API key
    units: list[dict[str, str]] = field(default_factory=list)  # {"org", "applicant", "undertaking"}
    signers: dict[str, tuple[str, str]] = field(default_factory=dict)  # role -> (org id, signatory key)
    recommended: list[str] = field(default_factory=list)


def _org(session: Any, name: str, province: str, tag: str, now: datetime) -> str:
    body = f"11{province[:2]}0102MB{tag}"
    org = Organization(
        id=new_id("org"),
        name=name,
        credit_code=body + check_character(body),
        province_code=province,
        kind="government_agency",
        created_at=now,
        updated_at=now,
    )
    session.add(org)
    session.flush()
    return org.id


def _user(session: Any, org_id: str, role: str, now: datetime) -> str:
    user = User(
        id=new_id("usr"),
        username=(username := f"dd_{role}_{uuid.uuid4().hex[:10]}"),
        username_folded=username.casefold(),
        display_name=f"{role}用户",
        organization_id=org_id,
        roles=[role],
        password_hash="-",
        created_at=now,
        updated_at=now,
    )
    session.add(user)
    session.flush()
    return create_api_key(session, user.id, "bench", now)[1]


def setup(settings: Settings) -> tuple[str, list[Recommender], str]:
    """The call, the recommenders with their people, and the office's key (directly in the database)."""
    migrate(settings)
    database = make_database(settings)
    now = datetime.now(UTC)
    try:
        with database.transaction() as session:
            call = open_call(session, now, f"dd-{uuid.uuid4().hex[:6]}")
            rows = session.execute(
                sa.select(col(Organization.id), col(Organization.province_code))
                .where(col(Organization.recommender_kind).is_not(None))
                .order_by(col(Organization.province_code))
            ).all()
            recommenders = []
            for n, (org_id, province) in enumerate(rows[:32]):
                rec = Recommender(org_id, _user(session, org_id, "reviewer", now))
                for role in ("guarantor", "guidance"):
                    org = _org(
                        session, f"{province}{role}单位", province, f"{n:03d}{1 + (role == 'guidance'):04d}", now
                    )
                    rec.signers[role] = (org, _user(session, org, "signatory", now))
                for u in range(UNITS_PER_RECOMMENDER):
                    org = _org(session, f"{province}试点单位{u}", province, f"{n:03d}{10 + u:04d}", now)
                    rec.units.append(
                        {
                            "org": org,
                            "applicant": _user(session, org, "applicant", now),
                            "undertaking": _user(session, org, "signatory", now),
                        }
                    )
                recommenders.append(rec)
            office_org = session.execute(
                sa.select(col(Organization.id)).where(col(Organization.key) == "office")
            ).scalar_one()
            office = _user(session, office_org, "office", now)
            call_id = call.id
    finally:
        database.dispose()
    return call_id, recommenders, office


def serve(
    settings: Settings, workers: int, log: Path, metrics_token: str | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        **({"SMPS_METRICS_TOKEN": metrics_token} if metrics_token else {}),
        "SMPS_DATABASE_URL": settings.database_url,
        "SMPS_STORAGE_DIR": str(settings.storage_dir),
        "SMPS_LOG_LEVEL": "WARNING",
    }
    argv = [
        sys.executable,
        "-m",
        "app.cli",
        "serve",
        "--no-migrate",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    proc = subprocess.Popen(
        argv, cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(1800):  # a busy machine takes its time to import and fork the workers
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    return proc, base
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError(f"smps serve did not start: {log.read_text()[-2000:]}")
    except BaseException:
        os.killpg(proc.pid, signal.SIGKILL)  # the whole group: the supervisor and its workers
        proc.wait()
        raise
