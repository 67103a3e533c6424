"""What runs beside the service: the worker resumes bulk uploads whose runner is gone (at its first
pass and every minute, never one another runner holds) and keeps the storage sweep running;
``/readyz`` answers 503 when the blob store is unavailable."""

import threading
import time
from datetime import UTC, datetime, timedelta

import httpx
import sqlalchemy as sa
from fastapi import FastAPI

from app.attachments.blobstore import FileSystemBlobStore, blob_store_of, new_key
from app.bulk.models import BulkUpload
from app.core.settings import Settings
from app.worker import Worker
from tests.applications.cast import make_cast
from tests.bulk.test_bulk import _leave_running, _store_upload, count_applications


def _state(app: FastAPI, upload_id: str) -> tuple[str, int]:
    with app.state.database.reader() as session:
        upload = session.get(BulkUpload, upload_id)
        assert upload is not None
        return upload.state, upload.created_count


async def test_the_worker_resumes_uploads_whose_runner_is_gone(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    cast = await make_cast(app, client)

    # Three uploads of different rows (the same rows again would be reported duplicate, not created).
    def rows(batch: str) -> list[dict]:
        return [cast.form(title=f"续传{batch}第{i}号试点") for i in range(5)]

    gone = _store_upload(app, cast, "all_or_nothing", rows("甲"))
    held = _store_upload(app, cast, "valid_rows", rows("乙"))
    fresh = _store_upload(app, cast, "all_or_nothing", rows("丙"))  # its request's runner is about to claim it
    start = app.state.clock()
    _leave_running(app, gone, lease_owner="run_dead", lease_until=start - timedelta(seconds=1))
    _leave_running(app, held, lease_owner="run_alive", lease_until=start + timedelta(minutes=5))
    worker = Worker(app.state.database, settings)
    try:
        # The first pass (service start): only the upload whose lease ran out.
        assert worker.run_once(start).resumed == [gone]
        assert _state(app, gone) == ("finished", 5)
        assert _state(app, held) == ("running", 0) and _state(app, fresh) == ("queued", 0)
        # Not again within the minute.
        assert worker.run_once(start + timedelta(seconds=40)).resumed == []
        # Later: the queued upload nobody claimed is taken over; the held one still is not.
        assert worker.run_once(start + timedelta(minutes=2)).resumed == [fresh]
        assert _state(app, fresh) == ("finished", 5) and _state(app, held) == ("running", 0)
        # Its runner's lease runs out: resumed, each row created once.
        assert worker.run_once(start + timedelta(minutes=6)).resumed == [held]
        assert _state(app, held) == ("finished", 5)
        assert worker.run_once(start + timedelta(minutes=8)).resumed == []
    finally:
        worker.close()
    assert count_applications(app) == 15


async def test_the_worker_loop_resumes_in_the_background_and_runs_the_sweep(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    cast = await make_cast(app, client)
    upload_id = _store_upload(app, cast, "valid_rows", [cast.form(title=f"后台{i}") for i in range(3)])
    _leave_running(app, upload_id, lease_owner="run_dead", lease_until=datetime(2022, 11, 1, tzinfo=UTC))
    store = FileSystemBlobStore(settings.storage_dir)
    orphan = new_key()
    (store.blob_dir / orphan[:2]).mkdir(exist_ok=True)
    (store.blob_dir / orphan[:2] / orphan).write_bytes(b"left by a crash")
    settings.storage_sweep_grace_seconds = 0
    settings.storage_sweep_interval_seconds = 0.05

    worker = Worker(app.state.database, settings)
    stop = threading.Event()
    loop = threading.Thread(target=worker.run_forever, args=(stop,), daemon=True)
    loop.start()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if _state(app, upload_id)[0] == "finished" and not store.exists(orphan):
                break
            time.sleep(0.05)
        assert _state(app, upload_id) == ("finished", 3)
        assert not store.exists(orphan)
        assert any(t.name == "smps-storage-sweep" for t in threading.enumerate())
    finally:
        stop.set()
        loop.join(timeout=10)
        worker.close()
    assert not loop.is_alive()
    assert not any(t.name == "smps-storage-sweep" for t in threading.enumerate())  # stopped with the loop


async def test_readyz_checks_the_blob_store(app: FastAPI, client: httpx.AsyncClient, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    assert (await client.get("/readyz")).status_code == 200
    store = blob_store_of(app)

    def unreachable() -> None:
        raise OSError("the bucket does not answer")

    monkeypatch.setattr(store, "check", unreachable)
    r = await client.get("/readyz")
    assert r.status_code == 503
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "bucket" not in r.text  # the cause is logged, not shown
    with app.state.database.reader() as session:  # the database is fine: only the store failed
        assert session.execute(sa.text("SELECT 1")).scalar_one() == 1
