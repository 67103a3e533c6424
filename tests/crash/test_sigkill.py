"""SIGKILL the real server (uvicorn, one worker) at seeded random points during a bulk upload, an
attachment upload and the submission of a 200-application list; restart it and check the store.

After each kill: the database passes its integrity check and keeps its invariants (tests/crash/driver.py),
no list is half-submitted, no attachment row points at a missing or torn file and what the crash left
in the storage directory is swept, an ``all_or_nothing`` bulk upload is never half-applied and every
interrupted upload finishes when resumed. SMPS_CRASH_ROUNDS (5) and SMPS_CRASH_SEED set the rounds and
the kill points; the timing of a kill is seeded, where it lands depends on the machine.
"""

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa
from fastapi import FastAPI

from app.applications.models import Application
from app.attachments.models import Attachment
from app.batches.models import Batch, BatchTransition, Receipt
from app.bulk.models import BulkUpload
from app.bulk.runner import resume_unfinished
from app.core.outbox_models import Event
from app.core.settings import Settings
from bench.batch_submit import build_list
from tests.applications.cast import Flow
from tests.attachments import files
from tests.crash.driver import (
    ROUNDS,
    SEED,
    application_steps,
    check_batches,
    check_database,
    check_storage,
    count,
    kill_during,
    rng,
)
from tests.factories import make_user, seeded_org
from tests.races.live import Servers, live_cast

API = "/api/v1"
MiB = 1024 * 1024
BULK_ROWS = 600
BATCH_SIZE = 200


def _log(scenario: str, phases: Counter[str], window: float) -> None:
    print(f"{scenario}: seed {SEED}, undisturbed {window:.2f} s, where the kills landed: {dict(phases)}")


# --- bulk uploads --------------------------------------------------------------------------------


def _bulk_facts(app: FastAPI, tag: str) -> tuple[int, int, int]:
    """(applications of this upload, distinct titles among them, their application.created events)."""
    database = app.state.database
    mine = Application.title.like(f"{tag}%")  # type: ignore[attr-defined]
    created = count(database, sa.select(sa.func.count()).select_from(Application).where(mine))
    distinct = count(database, sa.select(sa.func.count(sa.distinct(Application.title))).where(mine))
    events = count(
        database,
        sa.select(sa.func.count())
        .select_from(Event)
        .join(Application, Application.id == Event.application_id)
        .where(Event.type == "application.created", mine),
    )
    return created, distinct, events


def _uploads(app: FastAPI) -> dict[str, BulkUpload]:
    with app.state.database.reader() as session:
        return {u.id: u for u in session.execute(sa.select(BulkUpload)).scalars()}


def _watch(app: FastAPI, known: set[str], reached: Callable[[BulkUpload], bool]) -> threading.Event:
    """An event set once the new upload reaches a point (or finished, or a minute passed)."""
    event = threading.Event()

    def run() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            new = [u for i, u in _uploads(app).items() if i not in known]
            if new and (reached(new[0]) or new[0].state in ("finished", "failed")):
                break
            time.sleep(0.005)
        event.set()

    threading.Thread(target=run, name="watch-upload", daemon=True).start()
    return event


async def test_sigkill_during_bulk_uploads(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, servers: Servers
) -> None:
    chance = rng("bulk")
    env = {"SMPS_BULK_CHUNK_ROWS": "100"}  # valid_rows commits in chunks: kills land between them too
    server = servers.launch(workers=1, **env)
    cast = await live_cast(app, client)
    headers = cast.applicant.headers

    def rows(tag: str) -> list[dict[str, Any]]:
        return [cast.form(title=f"{tag}第{i}号政务服务标准化试点") for i in range(BULK_ROWS)]

    def upload(url: str, mode: str, tag: str) -> httpx.Response:
        return httpx.post(
            f"{url}{API}/bulk-uploads", json={"mode": mode, "rows": rows(tag)}, headers=headers, timeout=120
        )

    # Undisturbed first: how long an upload takes from the request to the last row.
    server.wait_ready()
    began = time.monotonic()
    r = upload(server.url, "all_or_nothing", "基准")
    assert r.status_code == 202, r.text
    for _ in range(1200):
        done = httpx.get(f"{server.url}{API}/bulk-uploads/{r.json()['id']}", headers=headers, timeout=30).json()
        if done["state"] in ("finished", "failed"):
            break
        time.sleep(0.05)
    window = time.monotonic() - began
    assert done["state"] == "finished" and done["created_count"] == BULK_ROWS, done["state"]

    phases: Counter[str] = Counter()
    later = lambda: datetime.now(UTC) + timedelta(seconds=settings.bulk_lease_seconds + 60)  # noqa: E731
    for round_ in range(1, ROUNDS + 1):
        mode = "all_or_nothing" if round_ % 2 else "valid_rows"
        tag = f"断电{round_}轮"
        server.wait_ready()
        known = set(_uploads(app))
        url = server.url
        send = lambda: upload(url, mode, tag)  # noqa: E731, B023
        if round_ == 1:  # anywhere from sending the request to the last row
            outcome = kill_during(server, send, delay=chance.uniform(0, window * 1.2))
        elif mode == "all_or_nothing":  # while the one transaction creating the rows runs
            outcome = kill_during(
                server,
                send,
                when=_watch(app, known, lambda u: u.state != "queued"),
                delay=chance.uniform(0, window * 0.8),
            )
        else:  # right after a random number of chunks committed
            chunks = chance.randint(1, BULK_ROWS // 100 - 1)
            outcome = kill_during(server, send, when=_watch(app, known, lambda u: u.processed_rows >= chunks * 100))  # noqa: B023
        server = servers.launch(workers=1, **env)

        check_database(app.state.database)
        new = [u for i, u in _uploads(app).items() if i not in known]
        assert len(new) <= 1
        created, distinct, events = _bulk_facts(app, tag)
        assert distinct == created == events, (mode, created, distinct, events)
        if not new:
            assert round_ == 1, "the upload never arrived"  # the other rounds waited for it before the kill
            phases["before the upload was stored"] += 1
            assert created == 0 and not outcome.completed
            continue
        (row,) = new
        phases[f"{mode}: {row.state}"] += 1
        assert row.state in ("queued", "running", "finished"), row.state
        assert row.mode == mode and row.total_rows == BULK_ROWS
        if mode == "all_or_nothing":
            assert created == (BULK_ROWS if row.state == "finished" else 0), (row.state, created)
        else:
            assert created == row.created_count == row.processed_rows, (row.state, created, row.processed_rows)
        assert (row.state == "finished") == (created == BULK_ROWS)

        # Resumed once its runner's lease has run out: it finishes, each row created exactly once.
        resume_unfinished(app.state.database, settings, clock=later)
        after = _uploads(app)[row.id]
        assert after.state == "finished" and after.created_count == BULK_ROWS, (after.state, after.failure)
        assert _bulk_facts(app, tag) == (BULK_ROWS, BULK_ROWS, BULK_ROWS)
        check_database(app.state.database)
    _log("bulk uploads", phases, window)


# --- attachment uploads --------------------------------------------------------------------------


def _slowly(chunks: Iterator[bytes], piece: int = 256 * 1024) -> Iterator[bytes]:
    for chunk in chunks:
        for start in range(0, len(chunk), piece):
            yield chunk[start : start + piece]
            time.sleep(0.004)


async def test_sigkill_during_attachment_uploads(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, servers: Servers
) -> None:
    chance = rng("attachments")
    server = servers.launch(workers=1)
    cast = await live_cast(app, client)
    flow = Flow(client, cast)
    await flow.create()
    await flow.attach_scan()
    server.wait_ready()

    phases: Counter[str] = Counter()
    created: list[str] = []
    for round_ in range(ROUNDS):
        big = files.BigPdf(chance.randint(8, 24) * MiB)
        boundary = f"smps-crash-boundary-{round_}"
        head = sum(len(c) for c in files.multipart(boundary, [("kind", "evidence")], "扫描件.pdf", b""))
        total = head + big.size
        # Every other round: once the whole body was sent, while the file is checked, stored and its row committed.
        after_body = round_ % 2 == 1
        cut = 1.0 if after_body else chance.uniform(0, 1)
        delay = chance.uniform(0, 0.15) if after_body else 0.0
        reached = threading.Event()

        def body(
            cut: float = cut,
            total: int = total,
            big: files.BigPdf = big,
            boundary: str = boundary,
            reached: threading.Event = reached,
        ) -> Iterator[bytes]:
            sent = 0
            for piece in _slowly(files.multipart(boundary, [("kind", "evidence")], "扫描件.pdf", big.chunks())):
                yield piece
                sent += len(piece)
                if sent >= cut * total:
                    reached.set()
            reached.set()

        url = f"{server.url}{API}/applications/{flow.id}/attachments"
        request_headers = {
            **cast.applicant.headers,
            "If-Match": "*",  # any version: the crash is what is tested
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Content-Length": str(total),
        }
        outcome = kill_during(
            server,
            lambda: httpx.post(url, content=body(), headers=request_headers, timeout=120),  # noqa: B023
            when=reached,
            delay=delay,
        )
        server = servers.launch(workers=1)

        with app.state.database.reader() as session:
            rows = {
                a.id: a
                for a in session.execute(
                    sa.select(Attachment).where(Attachment.application_id == flow.id, Attachment.kind == "evidence")
                ).scalars()
            }
        if outcome.completed:
            assert outcome.response is not None and outcome.response.status_code == 201, outcome.response.text
            assert outcome.response.json()["id"] in rows
        new = [a for i, a in rows.items() if i not in created]
        assert len(new) <= 1
        if new:
            assert new[0].sha256 == big.sha256 and new[0].size == big.size
            created.append(new[0].id)
        phases[("after sending: " if after_body else "while sending: ") + ("stored" if new else "not stored")] += 1
        report = check_storage(app.state.database, settings.storage_dir)
        if report["temporary_removed"] or report["orphans_removed"]:
            phases["left files behind, swept"] += 1
        check_database(app.state.database)
        server.wait_ready()
    _log("attachment uploads", phases, 0.0)


# --- batch submission ----------------------------------------------------------------------------


async def test_sigkill_during_batch_submission(app: FastAPI, settings: Settings, servers: Servers) -> None:
    chance = rng("batch")
    server = servers.launch(workers=1)
    database = app.state.database
    built = build_list(database, settings.storage_dir, BATCH_SIZE, attachments=1)
    batch_id, ids = built["batch_id"], built["application_ids"]
    reviewer = {"Authorization": f"Bearer {built['reviewer_key']}"}
    office = make_user(app, seeded_org(app, "office"), "office")
    server.wait_ready()

    def current(url: str) -> tuple[str, str]:
        r = httpx.get(f"{url}{API}/batches/{batch_id}", headers=reviewer, timeout=30)
        assert r.status_code == 200, r.text
        return r.json()["state"], r.headers["etag"]

    def submit(url: str, etag: str) -> httpx.Response:
        return httpx.post(
            f"{url}{API}/batches/{batch_id}/transitions",
            json={"action": "submit"},
            headers={**reviewer, "If-Match": etag},
            timeout=120,
        )

    # Undisturbed first: how long a submission of the whole list takes.
    etag = current(server.url)[1]
    began = time.monotonic()
    r = submit(server.url, etag)
    window = time.monotonic() - began
    assert r.status_code == 200 and len(r.json()["items"]) == BATCH_SIZE, r.text

    phases: Counter[str] = Counter()
    for _ in range(ROUNDS):
        state, etag = current(server.url)
        if state == "submitted":  # the office returns it, so that it can be submitted again
            r = httpx.post(
                f"{server.url}{API}/batches/{batch_id}/transitions",
                timeout=60,
                json={"action": "return", "comment": "请核对排序后重新报送"},
                headers={**office.headers, "If-Match": etag},
            )
            assert r.status_code == 200, r.text
            state, etag = current(server.url)
        url = server.url
        outcome = kill_during(server, lambda: submit(url, etag), delay=chance.uniform(0, window))  # noqa: B023
        server = servers.launch(workers=1)

        check_database(database)
        check_batches(database)
        with database.reader() as session:
            batch = session.get(Batch, batch_id)
            assert batch is not None
            receipts = session.execute(sa.select(sa.func.count()).where(Receipt.batch_id == batch_id)).scalar_one()
            returns = session.execute(
                sa.select(sa.func.count()).where(
                    BatchTransition.batch_id == batch_id, BatchTransition.action == "return"
                )
            ).scalar_one()
        assert application_steps(database, ids, "batch_submitted") == {receipts}
        assert application_steps(database, ids, "batch_returned") == {returns}
        if outcome.completed:
            assert outcome.response is not None and outcome.response.status_code == 200, outcome.response.text
            assert batch.state == "submitted"
        phases[f"{batch.state}{' (answered)' if outcome.completed else ''}"] += 1
        check_storage(database, settings.storage_dir)
        server.wait_ready()
    _log("batch submission", phases, window)
