"""The storage sweep's lease: of concurrent sweeps one runs and the others skip; a lease that ran
out (its process died mid-way) is taken over; each sweep of the store leaves one record."""

import os
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlmodel import col

from app.attachments.blobstore import FileSystemBlobStore, StoredBlob, new_key
from app.attachments.sweep import (
    LEASE,
    SweepLeaseLost,
    SweepReport,
    claim_sweep,
    finish_sweep,
    renew_sweep,
    sweep_once,
    sweeper_name,
)
from app.attachments.sweep_models import StorageSweep
from app.core.db import Database, make_database
from app.core.settings import Settings

GRACE = timedelta(hours=1)
HOUR = timedelta(hours=1)


@pytest.fixture
def database(settings: Settings) -> Iterator[Database]:
    db = make_database(settings)
    yield db
    db.dispose()


def _orphan(store: FileSystemBlobStore) -> str:
    """A blob no row names, a day old: past the grace period."""
    key = new_key()
    path = store.path(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"left by a crash between the rename and the commit")
    past = time.time() - 86400
    os.utime(path, (past, past))
    return key


def _records(database: Database) -> list[StorageSweep]:
    with database.reader() as session:
        return list(session.execute(sa.select(StorageSweep).order_by(col(StorageSweep.started_at))).scalars())


class GatedStore(FileSystemBlobStore):
    """Lists the store only once ``opened`` is set, and calls ``on_list`` first."""

    def __init__(self, root: Path, on_list: Callable[[], None] = lambda: None) -> None:
        super().__init__(root)
        self.opened = threading.Event()
        self.listings = 0
        self.on_list = on_list

    def list(self) -> Iterator[StoredBlob]:
        self.listings += 1
        self.on_list()
        assert self.opened.wait(30), "never opened"
        return super().list()


def test_of_two_concurrent_sweeps_one_runs_and_one_skips(database: Database, settings: Settings) -> None:
    store = GatedStore(settings.storage_dir)
    orphan = _orphan(store)
    reports: dict[str, SweepReport] = {}

    def attempt(owner: str) -> None:
        reports[owner] = sweep_once(database, store, grace=GRACE, interval=HOUR, owner=owner)

    threads = [threading.Thread(target=attempt, args=(f"host-{i}:1",)) for i in range(2)]
    for t in threads:
        t.start()
    # The one that claimed the lease waits in the listing; the other one finishes without listing.
    deadline = time.monotonic() + 30
    while len(reports) < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(reports) == 1 and store.listings == 1
    (skipper,) = reports
    assert reports[skipper].sweep_id is None and reports[skipper].removed_orphans == []
    store.opened.set()
    for t in threads:
        t.join(timeout=30)
    (runner,) = set(reports) - {skipper}
    assert reports[runner].removed_orphans == [orphan] and not store.exists(orphan)

    (record,) = _records(database)
    assert record.id == reports[runner].sweep_id and record.owner == runner
    assert record.state == "finished" and record.finished_at is not None
    assert (record.removed_orphans, record.removed_temporary, record.missing_files) == (1, 0, 0)
    assert record.removed_keys == [orphan]

    # Within the interval the store is not swept again; after it, once more.
    again = sweep_once(database, store, grace=GRACE, interval=HOUR, owner="host-2:1")
    assert again.sweep_id is None and store.listings == 1
    later = record.started_at + HOUR
    next_one = sweep_once(database, store, grace=GRACE, interval=HOUR, owner="host-2:1", clock=lambda: later)
    assert next_one.sweep_id is not None
    assert [r.owner for r in _records(database)] == [runner, "host-2:1"]


def test_of_simultaneous_claims_one_wins(database: Database) -> None:
    now = datetime.now(UTC)
    start = threading.Barrier(6)
    claims: list[str | None] = []

    def claim(owner: str) -> None:
        start.wait(timeout=30)
        claims.append(claim_sweep(database, owner, now, interval=HOUR))

    threads = [threading.Thread(target=claim, args=(f"host-{i}:1",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(claims) == 6
    (won,) = [c for c in claims if c is not None]
    assert [(r.id, r.state) for r in _records(database)] == [(won, "running")]


def test_an_expired_lease_is_taken_over(database: Database, settings: Settings) -> None:
    store = FileSystemBlobStore(settings.storage_dir)
    orphan = _orphan(store)
    start = datetime.now(UTC)
    dead = claim_sweep(database, "host-0:1", start, interval=HOUR)  # its process dies mid-way
    assert dead is not None

    held = start + LEASE - timedelta(seconds=1)
    assert (
        sweep_once(database, store, grace=GRACE, interval=None, owner="host-1:1", clock=lambda: held).sweep_id is None
    )
    assert store.exists(orphan)

    expired = start + LEASE + timedelta(seconds=1)
    taken = sweep_once(database, store, grace=GRACE, interval=None, owner="host-1:1", clock=lambda: expired)
    assert taken.sweep_id is not None and taken.removed_orphans == [orphan] and not store.exists(orphan)
    first, second = _records(database)
    assert (first.id, first.state, first.finished_at) == (dead, "abandoned", None)
    assert (second.id, second.state, second.owner) == (taken.sweep_id, "finished", "host-1:1")

    # The dead sweep, were it to wake, can neither renew nor overwrite what happened since.
    assert not renew_sweep(database, dead, expired)
    finish_sweep(database, dead, expired, SweepReport(removed_orphans=["x" * 32]))
    assert [(r.id, r.state, r.removed_orphans) for r in _records(database)] == [
        (dead, "abandoned", 0),
        (taken.sweep_id, "finished", 1),
    ]


def test_a_sweep_whose_lease_was_taken_over_stops_before_removing(database: Database, settings: Settings) -> None:
    start = datetime.now(UTC)
    now = [start]
    stolen: list[str | None] = []

    def stall() -> None:
        # While this sweep lists the store, its lease runs out and another process takes over.
        now[0] = start + LEASE + timedelta(seconds=1)
        stolen.append(claim_sweep(database, "host-1:1", now[0], interval=None))

    store = GatedStore(settings.storage_dir, on_list=stall)
    store.opened.set()
    orphan = _orphan(store)
    with pytest.raises(SweepLeaseLost):
        sweep_once(database, store, grace=GRACE, interval=HOUR, owner="host-0:1", clock=lambda: now[0])
    assert store.exists(orphan)
    assert stolen[0] is not None
    assert [(r.owner, r.state) for r in _records(database)] == [("host-0:1", "abandoned"), ("host-1:1", "running")]


def test_a_failed_sweep_is_recorded_and_releases_the_lease(database: Database, settings: Settings) -> None:
    def unreachable() -> None:
        raise OSError("the bucket does not answer")

    failing = GatedStore(settings.storage_dir, on_list=unreachable)
    with pytest.raises(OSError):
        sweep_once(database, failing, grace=GRACE, interval=HOUR, owner="host-0:1")
    (record,) = _records(database)
    assert record.state == "failed" and record.error == "OSError: the bucket does not answer"
    assert record.finished_at is not None

    # Released: a sweep that asks for no interval (the command line) runs at once.
    store = FileSystemBlobStore(settings.storage_dir)
    orphan = _orphan(store)
    assert sweep_once(database, store, grace=GRACE, interval=None, owner="host-1:1").removed_orphans == [orphan]
    assert [r.state for r in _records(database)] == ["failed", "finished"]


def test_the_command_sweeps_through_the_lease(
    database: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.cli import main

    monkeypatch.setenv("SMPS_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("SMPS_STORAGE_DIR", str(settings.storage_dir))
    store = FileSystemBlobStore(settings.storage_dir)
    orphan = _orphan(store)
    running = claim_sweep(database, "host-0:1", datetime.now(UTC), interval=HOUR)
    assert running is not None

    busy = CliRunner().invoke(main, ["storage", "sweep"])
    assert busy.exit_code == 3 and "another process is sweeping the store" in busy.output
    assert store.exists(orphan)
    assert CliRunner().invoke(main, ["storage", "sweep", "--dry-run"]).exit_code == 0  # no lease needed
    assert len(_records(database)) == 1

    finish_sweep(database, running, datetime.now(UTC), SweepReport())
    done = CliRunner().invoke(main, ["storage", "sweep"])
    assert done.exit_code == 0, done.output
    assert orphan in done.output and not store.exists(orphan)
    last = _records(database)[-1]
    assert (last.owner, last.state, last.removed_keys) == (sweeper_name(), "finished", [orphan])
