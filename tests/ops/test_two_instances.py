"""Two `smps serve` instances (2 workers each) and two `smps worker` processes on one PostgreSQL
database and one S3 bucket (a moto server) behave as one service; the storage sweep each of them
keeps running sweeps the bucket once per interval. PostgreSQL only: not collected on SQLite
(tests/ops/conftest.py); with SMPS_TEST_DATABASE=postgresql the database must be there."""

import asyncio
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import boto3
import httpx
import orjson
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from moto.server import ThreadedMotoServer
from sqlmodel import col

from app.applications.models import Application
from app.attachments.blobstore import new_key
from app.attachments.models import Attachment
from app.attachments.sweep import DUE_SHARE
from app.attachments.sweep_models import StorageSweep
from app.bulk.models import BulkUpload
from app.core.outbox_models import Event
from app.core.settings import Settings
from app.events.delivery import CLAIM_BATCH
from app.events.models import WebhookAttempt, WebhookDelivery, WebhookFanout
from tests.applications.cast import MINIMAL_PDF
from tests.conftest import BACKEND, ROOT_DIR
from tests.events.conftest import Receiver
from tests.races.live import LiveServer, Servers, live_cast, one_winner

API = "/api/v1"
BUCKET = "smps-two-instances"
ROWS = 600
# Every process's storage sweep wakes this often; the bucket is swept once per interval all the same.
SWEEP_INTERVAL = 1.0
SWEEP_GRACE = 5
pytestmark = pytest.mark.usefixtures("real_time")


@pytest.fixture(autouse=True)
def _postgresql_required() -> None:
    # Collected only for PostgreSQL; a missing server fails in the database fixtures, never skips.
    assert BACKEND == "postgresql"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    boto3.client(
        "s3",
        endpoint_url=f"http://{host}:{port}",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ).create_bucket(Bucket=BUCKET)
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def shared_env(s3_endpoint: str, tmp_path: Path) -> dict[str, str]:
    """What every process gets: the bucket, webhooks to this host, short bulk leases, a sweep every second."""
    return {
        "SMPS_BLOB_BACKEND": "s3",
        "SMPS_S3_ENDPOINT_URL": s3_endpoint,
        "SMPS_S3_BUCKET": BUCKET,
        "SMPS_S3_PREFIX": f"t-{new_key()[:8]}/",
        "SMPS_S3_ACCESS_KEY_ID": "testing",
        "SMPS_S3_SECRET_ACCESS_KEY": "testing",
        "SMPS_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
        "SMPS_WORKER_POLL_SECONDS": "0.2",
        # A delivery claimed by the killed instance is retried within seconds, not minutes.
        "SMPS_WEBHOOK_TIMEOUT_SECONDS": "2",
        "SMPS_WEBHOOK_LEASE_SECONDS": "6",
        "SMPS_BULK_LEASE_SECONDS": "2",
        "SMPS_BULK_CHUNK_ROWS": "20",
        "SMPS_STORAGE_SWEEP_INTERVAL_SECONDS": str(SWEEP_INTERVAL),
        "SMPS_STORAGE_SWEEP_GRACE_SECONDS": str(SWEEP_GRACE),
    }


class Workers:
    """`smps worker` processes, stopped at teardown."""

    def __init__(self, settings: Settings, env: dict[str, str], tmp_path: Path) -> None:
        self.settings, self.env, self.tmp_path = settings, env, tmp_path
        self.started: list[subprocess.Popen[bytes]] = []

    def start(self) -> subprocess.Popen[bytes]:
        env = {
            **os.environ,
            "SMPS_DATABASE_URL": self.settings.database_url,
            "SMPS_STORAGE_DIR": str(self.settings.storage_dir),
            "SMPS_LOG_LEVEL": "WARNING",
            **self.env,
        }
        log = (self.tmp_path / f"worker-{len(self.started)}.log").open("ab")
        process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "worker"], cwd=ROOT_DIR, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        self.started.append(process)
        return process

    def stop_all(self) -> None:
        for process in self.started:
            process.terminate()
        for process in self.started:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


@pytest.fixture
def workers(settings: Settings, shared_env: dict[str, str], tmp_path: Path) -> Iterator[Workers]:
    started = Workers(settings, shared_env, tmp_path)
    yield started
    started.stop_all()


def two_instances(servers: Servers, env: dict[str, str]) -> tuple[LiveServer, LiveServer]:
    # One after the other: four workers importing the service at once crowd a small test machine.
    first = servers.start(workers=2, command="smps", **env)
    second = servers.start(workers=2, command="smps", **env)
    return first, second


async def test_two_instances_share_one_database_and_one_bucket(
    app: FastAPI,
    client: httpx.AsyncClient,
    settings: Settings,
    servers: Servers,
    workers: Workers,
    shared_env: dict[str, str],
) -> None:
    receiver = Receiver()
    try:
        await _scenario(app, client, settings, servers, workers, shared_env, receiver)
    finally:
        receiver.close()


async def _scenario(
    app: FastAPI,
    client: httpx.AsyncClient,
    settings: Settings,
    servers: Servers,
    workers: Workers,
    env: dict[str, str],
    receiver: Receiver,
) -> None:
    cast = await live_cast(app, client)
    bucket = Bucket(env)
    orphan = bucket.put(new_key())  # left by a crash between the upload and its row's commit
    a, b = two_instances(servers, env)
    headers = cast.applicant.headers

    async with (
        httpx.AsyncClient(base_url=a.url + API, timeout=60) as via_a,
        httpx.AsyncClient(base_url=b.url + API, timeout=60) as via_b,
    ):
        # Subscribed before anything happens, through one instance.
        hook = await via_a.post("/webhooks", json={"url": receiver.url, "event_types": ["*"]}, headers=headers)
        assert hook.status_code == 201, hook.text

        # 1. Written through one, read through the other: the same representation and ETag; the file
        #    uploaded through one is downloaded through the other (one bucket).
        created = await via_a.post("/applications", json=cast.form(), headers=headers)
        assert created.status_code == 201, created.text
        app_id = created.json()["id"]
        read = await via_b.get(f"/applications/{app_id}", headers=headers)
        assert read.status_code == 200 and read.headers["etag"] == created.headers["etag"]
        assert read.json() == created.json()
        scan = await via_b.post(
            f"/applications/{app_id}/attachments",
            headers={**headers, "If-Match": read.headers["etag"]},
            files={"file": ("申请书扫描件.pdf", MINIMAL_PDF, "application/pdf")},
            data={"kind": "application_form_scan"},
        )
        assert scan.status_code == 201, scan.text
        download = await via_a.get(f"/attachments/{scan.json()['id']}/content", headers=headers)
        assert download.status_code == 200 and download.content == MINIMAL_PDF
        etag = (await via_a.get(f"/applications/{app_id}", headers=headers)).headers["etag"]
        assert (await via_b.get(f"/applications/{app_id}", headers=headers)).headers["etag"] == etag
        assert scan.headers["application-etag"] == etag

    # 2. 50 identical submissions spread over both instances (connections opened first): one wins.
    responses = await _spread_race([a.url, b.url], 50, f"{API}/applications/{app_id}/transitions", headers, etag)
    winner = one_winner(responses, 200)
    assert winner.json()["state"] == "endorsing"
    history = httpx.get(f"{b.url}{API}/applications/{app_id}/transitions", headers=headers, timeout=30).json()
    assert [t["action"] for t in history["items"]] == ["submit"]

    # 3. A bulk upload whose instance is SIGKILLed while it runs is finished by another process.
    rows = [cast.form(title=f"双实例第{i}号政务服务标准化试点") for i in range(ROWS)]
    upload = httpx.post(
        f"{a.url}{API}/bulk-uploads", json={"mode": "valid_rows", "rows": rows}, headers=headers, timeout=120
    )
    assert upload.status_code == 202, upload.text
    upload_id = upload.json()["id"]
    running = _wait(lambda: _upload_row(app, upload_id), lambda u: u.processed_rows > 0 or u.state == "finished", 60)
    a.kill()
    assert running.state == "running", "the upload finished before the kill: give it more rows"
    time.sleep(2.5)  # its runner's lease (SMPS_BULK_LEASE_SECONDS) runs out
    # Two workers from now on: at their first pass they resume the upload; they share the deliveries.
    workers.start()
    workers.start()
    done = _wait(lambda: _upload(b.url, upload_id, headers), lambda u: u["state"] in ("finished", "failed"), 120)
    assert done["state"] == "finished" and done["created_count"] == ROWS, done
    with app.state.database.reader() as session:
        titles = session.execute(
            sa.select(col(Application.title), sa.func.count())
            .where(col(Application.title).like("双实例第%"))
            .group_by(col(Application.title))
        ).all()
    assert len(titles) == ROWS and all(count == 1 for _, count in titles)

    # 4. Every event is delivered once, whichever worker (or instance's embedded worker) claimed it:
    #    each attempt is made by one process only. The one exception is by design (at least once): an
    #    attempt the killed instance had sent but not recorded is abandoned when its lease runs out and
    #    made again, so that delivery may arrive twice under its one webhook-id.
    _wait(lambda: _outbox_drained(app), bool, 120)
    time.sleep(2)  # a second delivery of any event would arrive meanwhile
    with app.state.database.reader() as session:
        deliveries = session.execute(
            sa.select(col(WebhookDelivery.id), col(WebhookDelivery.state), col(WebhookDelivery.event_id))
        ).all()
        abandoned = set(
            session.execute(
                sa.select(col(WebhookAttempt.delivery_id)).where(col(WebhookAttempt.error).like("abandoned%"))
            ).scalars()
        )
    assert {state for _, state, _ in deliveries} == {"succeeded"}
    delivered = Counter(h["webhook-id"] for h, _ in receiver.requests)
    assert set(delivered) == {d for d, _, _ in deliveries}
    twice = {d for d, n in delivered.items() if n > 1}
    assert twice <= abandoned and all(delivered[d] == 2 for d in twice), delivered.most_common(3)
    # The killed instance runs one embedded worker: at most one claimed batch was in flight there.
    assert len(abandoned) <= CLAIM_BATCH, abandoned
    events = Counter(orjson.loads(body)["data"]["id"] for _, body in receiver.requests)
    assert len(events) == len(deliveries) and all(events[e] == delivered[d] for d, _, e in deliveries)
    kinds = Counter(orjson.loads(body)["type"] for body in {h["webhook-id"]: b for h, b in receiver.requests}.values())
    assert kinds["application.created"] == ROWS + 1

    # 5. Each instance's embedded worker and both workers sweep every second, yet the bucket is swept
    #    once per interval: the orphan is removed by one sweep, the uploaded file stays.
    sweepers = {p.pid for p in (a.process, b.process, *workers.started) if p is not None}
    _check_one_sweep_per_interval(app, bucket, orphan, sweepers)


class Bucket:
    """The test's prefix of the shared bucket, seen directly."""

    def __init__(self, env: dict[str, str]) -> None:
        self.client = boto3.client(
            "s3",
            endpoint_url=env["SMPS_S3_ENDPOINT_URL"],
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        self.prefix = env["SMPS_S3_PREFIX"]

    def put(self, key: str) -> str:
        self.client.put_object(Bucket=BUCKET, Key=self.prefix + key, Body=b"no row names this")
        return key

    def names(self) -> set[str]:
        listed = self.client.list_objects_v2(Bucket=BUCKET, Prefix=self.prefix).get("Contents", [])
        return {o["Key"][len(self.prefix) :] for o in listed}


def _check_one_sweep_per_interval(app: FastAPI, bucket: Bucket, orphan: str, pids: set[int]) -> None:
    gone = _wait(lambda: orphan not in bucket.names(), bool, 60)
    assert gone, "the orphan past its grace period was never removed"
    time.sleep(2 * SWEEP_INTERVAL)  # a second sweep of the orphan would be recorded meanwhile
    with app.state.database.reader() as session:
        referenced = set(session.execute(sa.select(col(Attachment.storage_key))).scalars())
        sweeps = list(session.execute(sa.select(StorageSweep).order_by(col(StorageSweep.started_at))).scalars())
    assert referenced and referenced <= bucket.names()  # the uploaded file stays
    assert len(sweeps) >= 4
    removed = [s for s in sweeps if s.removed_orphans]
    assert [(s.removed_orphans, s.removed_keys) for s in removed] == [(1, [orphan])]  # removed once
    # Swept by these processes, one at a time, never two within one interval: four processes
    # sweeping on their own would start one every quarter of an interval or so.
    assert {int(s.owner.rsplit(":", 1)[1]) for s in sweeps} <= pids
    for previous, following in zip(sweeps, sweeps[1:], strict=False):
        assert following.started_at - previous.started_at >= timedelta(seconds=SWEEP_INTERVAL * DUE_SHARE)
        if previous.state == "finished":
            assert previous.finished_at is not None and following.started_at >= previous.finished_at
    # The killed instance may have died mid-sweep: its sweep was taken over, no other one was left over.
    assert {s.state for s in sweeps[:-1]} <= {"finished", "abandoned"}
    assert sum(s.state == "abandoned" for s in sweeps) <= 1


def _upload_row(app: FastAPI, upload_id: str) -> BulkUpload:
    with app.state.database.reader() as session:
        row = session.get(BulkUpload, upload_id)
        assert row is not None
        return row


def _outbox_drained(app: FastAPI) -> bool:
    """Every event fanned out and every delivery finished."""
    with app.state.database.reader() as session:
        newest = session.execute(sa.select(sa.func.max(col(Event.seq)))).scalar_one() or 0
        cursor = session.execute(sa.select(col(WebhookFanout.last_seq))).scalar() or 0
        pending = session.execute(
            sa.select(sa.func.count()).where(col(WebhookDelivery.state) == "pending")
        ).scalar_one()
    return cursor >= newest and pending == 0


async def _spread_race(urls: list[str], n: int, path: str, headers: dict[str, str], etag: str) -> list[httpx.Response]:
    clients = [
        httpx.AsyncClient(base_url=url, timeout=60, limits=httpx.Limits(max_connections=n, max_keepalive_connections=n))
        for url in urls
    ]
    try:
        warm = await asyncio.gather(*(clients[i % 2].get("/healthz") for i in range(n)))
        assert all(r.status_code == 200 for r in warm)
        return list(
            await asyncio.gather(
                *(
                    clients[i % 2].post(path, json={"action": "submit"}, headers={**headers, "If-Match": etag})
                    for i in range(n)
                )
            )
        )
    finally:
        for c in clients:
            await c.aclose()


def _upload(url: str, upload_id: str, headers: dict[str, str]) -> dict:
    r = httpx.get(f"{url}{API}/bulk-uploads/{upload_id}", headers=headers, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def _wait(read, done, seconds: float):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while True:
        value = read()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.2)
