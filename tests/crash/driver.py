"""Killing the real server in the middle of requests, and the checks that must hold after a restart."""

import hashlib
import os
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import sqlalchemy as sa

from app.applications.models import Application, ApplicationParty, Transition
from app.attachments.blobstore import FileSystemBlobStore
from app.attachments.models import Attachment
from app.attachments.sweep import sweep_storage
from app.batches.models import Batch, BatchItem, BatchTransition, Receipt
from app.core.db import Database
from app.core.outbox_models import Event, EventCounter
from app.events.models import EventEntry
from tests.races.live import LiveServer

# Rounds per scenario and the seed of the kill points: SMPS_CRASH_ROUNDS, SMPS_CRASH_SEED.
ROUNDS = int(os.environ.get("SMPS_CRASH_ROUNDS", "5"))
SEED = int(os.environ.get("SMPS_CRASH_SEED", "20260207"))


def rng(scenario: str) -> random.Random:
    return random.Random(f"{scenario}:{SEED}")


@dataclass
class Outcome:
    """What the client saw of a request during which the server was killed."""

    response: httpx.Response | None = None
    error: BaseException | None = None
    elapsed: float | None = None

    @property
    def completed(self) -> bool:
        return self.response is not None


def kill_during(
    server: LiveServer, send: Callable[[], httpx.Response], *, delay: float = 0.0, when: threading.Event | None = None
) -> Outcome:
    """Run ``send`` in a thread; SIGKILL the server ``delay`` seconds after it started (or after ``when``)."""
    outcome = Outcome()
    started = threading.Event()

    def run() -> None:
        began = time.monotonic()
        started.set()
        try:
            outcome.response = send()
        except httpx.HTTPError as exc:
            outcome.error = exc
        outcome.elapsed = time.monotonic() - began

    thread = threading.Thread(target=run, name="request-to-kill", daemon=True)
    thread.start()
    started.wait(10)
    if when is not None:
        assert when.wait(120), "the request never reached the kill point"
    time.sleep(delay)
    server.kill()
    thread.join(60)
    assert not thread.is_alive(), "the request did not end when the server died"
    return outcome


def count(database: Database, query: sa.Select) -> int:  # type: ignore[type-arg]
    with database.reader() as session:
        return int(session.execute(query).scalar_one())


def check_database(database: Database) -> None:
    """The store's own integrity and invariants that only a torn transaction could break."""
    with database.reader() as session:
        if database.dialect == "sqlite":
            assert session.execute(sa.text("PRAGMA integrity_check")).scalars().all() == ["ok"]
            assert session.execute(sa.text("PRAGMA foreign_key_check")).all() == []
        # The change feed: every number a transaction took committed with it, as an event or as an entry of
        # the feed (no gap, no extra), and every entry shows an event.
        counter = session.execute(sa.select(EventCounter.value).where(EventCounter.id == 1)).scalar_one()
        events = session.execute(sa.select(sa.func.count()).select_from(Event)).scalar_one()
        entries = session.execute(sa.select(sa.func.count()).select_from(EventEntry)).scalar_one()
        last = max(
            session.execute(sa.select(sa.func.coalesce(sa.func.max(Event.seq), 0))).scalar_one(),
            session.execute(sa.select(sa.func.coalesce(sa.func.max(EventEntry.position), 0))).scalar_one(),
        )
        assert events + entries == last == counter, (
            f"{events} events, {entries} entries, last {last}, counter {counter}"
        )
        shown = sa.exists().where(Event.seq == EventEntry.event_seq)
        assert session.execute(sa.select(sa.func.count()).select_from(EventEntry).where(~shown)).scalar_one() == 0
        # Every application has its parties; every batch item its application and batch.
        orphans = session.execute(
            sa.select(sa.func.count())
            .select_from(Application)
            .where(~sa.exists().where(ApplicationParty.application_id == Application.id))
        ).scalar_one()
        assert orphans == 0, f"{orphans} applications without their parties"
        dangling = session.execute(
            sa.select(sa.func.count())
            .select_from(BatchItem)
            .outerjoin(Application, Application.id == BatchItem.application_id)
            .outerjoin(Batch, Batch.id == BatchItem.batch_id)
            .where(sa.or_(Application.id.is_(None), Batch.id.is_(None)))  # type: ignore[union-attr]
        ).scalar_one()
        assert dangling == 0


def check_batches(database: Database) -> None:
    """No half-submitted list: a batch is submitted iff all its applications are and its receipt exists."""
    with database.reader() as session:
        for batch in session.execute(sa.select(Batch)).scalars():
            states = (
                session.execute(
                    sa.select(Application.state)
                    .join(BatchItem, BatchItem.application_id == Application.id)
                    .where(BatchItem.batch_id == batch.id)
                )
                .scalars()
                .all()
            )
            actions = (
                session.execute(sa.select(BatchTransition.action).where(BatchTransition.batch_id == batch.id))
                .scalars()
                .all()
            )
            receipts = (
                session.execute(
                    sa.select(Receipt).where(Receipt.batch_id == batch.id).order_by(Receipt.seq)  # type: ignore[arg-type]
                )
                .scalars()
                .all()
            )
            assert len(receipts) == actions.count("submit"), (batch.id, batch.state, actions, len(receipts))
            assert [r.seq for r in receipts] == list(range(1, len(receipts) + 1))
            if batch.state == "submitted":
                assert set(states) == {"submitted"}, (batch.id, set(states))
                assert receipts and batch.submitted_at is not None
                ranked = session.execute(
                    sa.select(BatchItem.rank, BatchItem.application_id)
                    .where(BatchItem.batch_id == batch.id)
                    .order_by(BatchItem.rank)
                ).all()
                assert [(i["rank"], i["application_id"]) for i in receipts[-1].document["items"]] == [
                    tuple(r) for r in ranked
                ]
            elif batch.state in ("open", "returned"):
                assert "submitted" not in states, (batch.id, batch.state, set(states))
                assert actions.count("submit") == actions.count("return")


def application_steps(database: Database, application_ids: list[str], action: str) -> set[int]:
    """How many times each application took ``action`` (as a set: one value when they all agree)."""
    with database.reader() as session:
        rows = dict(
            session.execute(
                sa.select(Transition.application_id, sa.func.count())
                .where(Transition.application_id.in_(application_ids), Transition.action == action)  # type: ignore[attr-defined]
                .group_by(Transition.application_id)
            ).all()
        )
    return {rows.get(a, 0) for a in application_ids}


def check_storage(database: Database, storage_dir: Path) -> dict[str, int]:
    """No row without its file (and its bytes); what crashes left behind is swept, nothing else."""
    store = FileSystemBlobStore(storage_dir)
    with database.reader() as session:
        rows = session.execute(sa.select(Attachment.storage_key, Attachment.size, Attachment.sha256)).all()
    for key, size, sha256 in rows:
        assert store.exists(key), f"attachment file {key} is missing"
        digest = hashlib.sha256()
        with store.path(key).open("rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
        assert store.path(key).stat().st_size == size and digest.hexdigest() == sha256, f"attachment file {key} is torn"
    planned = sweep_storage(database, store, grace=timedelta(0), dry_run=True)
    assert planned.missing_files == []
    done = sweep_storage(database, store, grace=timedelta(0))
    assert done.missing_files == []
    assert sorted(done.removed_orphans) == sorted(planned.removed_orphans)
    assert {b.key for b in store.list()} == {key for key, _, _ in rows}
    assert list(store.temp_dir.glob("*")) == []
    return {
        "rows": len(rows),
        "temporary_removed": len(done.removed_temporary),
        "orphans_removed": len(done.removed_orphans),
    }
