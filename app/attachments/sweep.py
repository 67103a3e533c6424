"""The storage sweep: remove what crashed or abandoned uploads left, report rows whose file is gone.

A pass removes only temporary files and blobs older than the grace period (an upload in flight
keeps its temporary file fresh; a blob is moved into place just before its row commits) that no row
names, and it never deletes a row: ``sweep_storage`` is safe to run at any time.

Many processes keep ``start_periodic_sweep`` running (every ``smps worker``, every ``smps serve``
without ``--no-worker``), yet the shared store is swept once per interval: a process first claims
the lease row (``storage_sweep_lease``), and only one claim succeeds while a sweep runs or since one
started less than an interval ago. The others sweep only their own temporary files (they live on
each host's disk) and skip the store. Every sweep of the store leaves a row in ``storage_sweeps``:
who, when, what it removed. A sweep whose process dies keeps its lease no longer than about an
interval (renewed while it runs, at most ``LEASE``); then the next process takes over and marks it
abandoned.
Run it by hand with ``smps storage sweep`` (cron, a systemd timer).
"""

import logging
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import col

from app.attachments.blobstore import BlobStore, StoredBlob
from app.attachments.models import Attachment
from app.attachments.sweep_models import StorageSweep, StorageSweepLease
from app.core.db import Database
from app.core.ids import new_id

log = logging.getLogger("smps.storage")

_BATCH = 500
# Blobs listed or rows read between two looks at the lease.
_RENEW_EVERY = 5000
# A sweep holds the store this long without renewing; it renews as it goes. A periodic sweep's lease
# is its interval within these bounds, so a sweep whose process died delays the next one by no more
# than about an interval.
LEASE = timedelta(minutes=10)
MIN_LEASE = timedelta(seconds=10)
# A process waking a little before a full interval since the last start (another host's clock runs
# ahead, a thread's wait ends early) still takes its turn: no two sweeps start closer than this share.
DUE_SHARE = 0.9
# Records of sweeps older than this are deleted by the sweep itself.
KEEP_RECORDS = timedelta(days=90)
# A record lists at most this many removed keys (the count is always complete).
LISTED_KEYS = 1000
_LEASE_ROW = 1


@dataclass
class SweepReport:
    removed_temporary: list[str] = field(default_factory=list)
    removed_orphans: list[str] = field(default_factory=list)
    # Rows whose file is missing: an integrity problem to look into, never repaired silently.
    missing_files: list[dict[str, str]] = field(default_factory=list)
    # The record of this sweep of the store (``storage_sweeps``); None when only the temporary files
    # were swept because another process sweeps or just swept the store.
    sweep_id: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "removed_temporary": self.removed_temporary,
            "removed_orphans": self.removed_orphans,
            "missing_files": self.missing_files,
        }


class SweepLeaseLost(Exception):
    """Another process took the sweep over (this one did not renew its lease in time): it stops."""


def sweep_storage(
    database: Database,
    store: BlobStore,
    *,
    grace: timedelta,
    now: datetime | None = None,
    dry_run: bool = False,
    renew: Callable[[], None] = lambda: None,
) -> SweepReport:
    """One pass of the sweep, unleased and unrecorded. ``dry_run`` reports what would be removed
    without removing it; ``renew`` is called between the steps (it keeps a lease)."""
    now = now or datetime.now(UTC)
    report = SweepReport()
    _sweep_temporary(store, now - grace, report, dry_run)
    _sweep_blobs(database, store, now - grace, report, dry_run, renew)
    if report.missing_files:
        log.error("attachment rows without a file", extra={"count": len(report.missing_files)})
    return report


def _sweep_temporary(store: BlobStore, cutoff: datetime, report: SweepReport, dry_run: bool) -> None:
    for path in sorted(store.temp_dir.glob("*.part")):
        try:
            modified = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        except FileNotFoundError:
            continue
        if modified < cutoff:
            report.removed_temporary.append(path.name)
            if not dry_run:
                path.unlink(missing_ok=True)


def _sweep_blobs(
    database: Database,
    store: BlobStore,
    cutoff: datetime,
    report: SweepReport,
    dry_run: bool,
    renew: Callable[[], None],
) -> None:
    # The store is listed before the rows are read: a blob listed here whose row commits later was
    # moved into place moments ago, so the grace period keeps it.
    blobs: dict[str, StoredBlob] = {}
    for blob in store.list():
        blobs[blob.key] = blob
        if len(blobs) % _RENEW_EVERY == 0:
            renew()
    renew()
    known: set[str] = set()
    with database.reader() as session:
        rows = session.execute(
            sa.select(
                col(Attachment.id), col(Attachment.application_id), col(Attachment.storage_key)
            ).execution_options(yield_per=2000)
        )
        for row in rows:
            known.add(row.storage_key)
            if len(known) % _RENEW_EVERY == 0:
                renew()
            if row.storage_key not in blobs and not store.exists(row.storage_key):
                report.missing_files.append({"attachment_id": row.id, "application_id": row.application_id})

    candidates = [key for key, blob in blobs.items() if key not in known and blob.modified_at < cutoff]
    for start in range(0, len(candidates), _BATCH):
        renew()
        batch = candidates[start : start + _BATCH]
        with database.reader() as session:
            # Checked again: a row may have committed since the rows were read.
            referenced = set(
                session.execute(
                    sa.select(col(Attachment.storage_key)).where(col(Attachment.storage_key).in_(batch))
                ).scalars()
            )
        for key in batch:
            if key in referenced:
                continue
            report.removed_orphans.append(key)
            if not dry_run:
                store.delete(key)


# -- once per interval, whatever the number of processes --------------------------------------------


def sweeper_name() -> str:
    """Who sweeps, as the record names it: host and process."""
    return f"{socket.gethostname()}:{os.getpid()}"[:200]


_LEASE_TABLE = StorageSweepLease.__table__  # type: ignore[attr-defined]  # SQLModel types no __table__ on the class
_SWEEPS = StorageSweep.__table__  # type: ignore[attr-defined]  # as above


def claim_sweep(
    database: Database, owner: str, now: datetime, *, interval: timedelta | None, lease: timedelta = LEASE
) -> str | None:
    """Take the store's sweep lease and open the sweep's record; its id, or None when another
    process holds the lease or (``interval`` given) a sweep started less than an interval ago.

    One conditional UPDATE of the lease row: PostgreSQL re-checks the condition once the row lock
    of a concurrent claim is released, SQLite's write lock serialises, so one claim wins.
    """
    sweep_id = new_id("swp")
    live = sa.or_(_LEASE_TABLE.c.lease_until.is_(None), _LEASE_TABLE.c.lease_until < now)
    due = (
        sa.true()
        if interval is None
        else sa.or_(
            _LEASE_TABLE.c.last_started_at.is_(None), _LEASE_TABLE.c.last_started_at <= now - interval * DUE_SHARE
        )
    )
    with database.transaction() as session:
        claimed: int = (
            session.connection()
            .execute(
                sa.update(_LEASE_TABLE)
                .where(_LEASE_TABLE.c.id == _LEASE_ROW, live, due)
                .values(sweep_id=sweep_id, lease_until=now + lease, last_started_at=now)
            )
            .rowcount
        )
        if claimed != 1:
            return None
        # Any sweep still marked running lost its lease: its process stopped mid-way.
        session.connection().execute(
            sa.update(_SWEEPS)
            .where(_SWEEPS.c.state == "running")
            .values(state="abandoned", error="its lease ran out before it finished; another sweep took over")
        )
        session.add(StorageSweep(id=sweep_id, owner=owner, started_at=now, state="running"))
    return sweep_id


def renew_sweep(database: Database, sweep_id: str, now: datetime, lease: timedelta = LEASE) -> bool:
    """Extend the lease of a running sweep; False when another process has taken it over."""
    with database.transaction() as session:
        renewed: int = (
            session.connection()
            .execute(
                sa.update(_LEASE_TABLE)
                .where(_LEASE_TABLE.c.id == _LEASE_ROW, _LEASE_TABLE.c.sweep_id == sweep_id)
                .values(lease_until=now + lease)
            )
            .rowcount
        )
    return renewed == 1


def finish_sweep(
    database: Database, sweep_id: str, now: datetime, report: SweepReport | None, error: str | None = None
) -> None:
    """Record the outcome (``report``, or the ``error`` it failed with), release the lease and delete
    records older than ``KEEP_RECORDS``."""
    values: dict[str, object] = {"finished_at": now, "state": "finished" if error is None else "failed"}
    if report is not None:
        values |= {
            "removed_orphans": len(report.removed_orphans),
            "removed_temporary": len(report.removed_temporary),
            "missing_files": len(report.missing_files),
            "removed_keys": report.removed_orphans[:LISTED_KEYS],
        }
    if error is not None:
        values["error"] = error[:500]
    with database.transaction() as session:
        connection = session.connection()
        connection.execute(
            sa.update(_SWEEPS).where(_SWEEPS.c.id == sweep_id, _SWEEPS.c.state == "running").values(**values)
        )
        connection.execute(
            sa.update(_LEASE_TABLE)
            .where(_LEASE_TABLE.c.id == _LEASE_ROW, _LEASE_TABLE.c.sweep_id == sweep_id)
            .values(sweep_id=None, lease_until=None)
        )
        connection.execute(sa.delete(_SWEEPS).where(_SWEEPS.c.started_at < now - KEEP_RECORDS))


def sweep_once(
    database: Database,
    store: BlobStore,
    *,
    grace: timedelta,
    interval: timedelta | None,
    owner: str | None = None,
    lease: timedelta = LEASE,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> SweepReport:
    """Sweep this process's temporary files, and the store unless another process sweeps it now or
    did less than ``interval`` ago (``None``: whenever no other sweep runs). The report's
    ``sweep_id`` names the record of the store's sweep, None when it was skipped."""
    started = clock()
    owner = owner or sweeper_name()
    sweep_id = claim_sweep(database, owner, started, interval=interval, lease=lease)
    if sweep_id is None:
        report = SweepReport()
        _sweep_temporary(store, started - grace, report, dry_run=False)
        log.debug("storage sweep skipped: another process sweeps the store", extra={"owner": owner})
        return report
    renewed_at = started

    def renew() -> None:
        nonlocal renewed_at
        now = clock()
        if now - renewed_at < lease / 3:
            return
        if not renew_sweep(database, sweep_id, now, lease):
            raise SweepLeaseLost(sweep_id)
        renewed_at = now

    try:
        report = sweep_storage(database, store, grace=grace, now=started, renew=renew)
    except SweepLeaseLost:
        log.warning("storage sweep stopped: another process took it over", extra={"sweep_id": sweep_id})
        raise
    except Exception as error:
        finish_sweep(database, sweep_id, clock(), None, error=f"{type(error).__name__}: {error}")
        raise
    report.sweep_id = sweep_id
    finish_sweep(database, sweep_id, clock(), report)
    log.info(
        "storage swept",
        extra={
            "sweep_id": sweep_id,
            "owner": owner,
            "removed_orphans": len(report.removed_orphans),
            "removed_temporary": len(report.removed_temporary),
            "missing_files": len(report.missing_files),
        },
    )
    return report


def start_periodic_sweep(
    database: Database,
    store: BlobStore,
    *,
    grace: timedelta,
    interval: timedelta = timedelta(hours=1),
) -> Callable[[], None]:
    """Sweep every ``interval`` in a daemon thread (``sweep_once``: the store once per interval
    across all processes); returns a function that stops it.

    For a long-running process (the app's lifespan or a worker); a failed pass is logged and the
    next one runs on time.
    """
    stop = threading.Event()
    owner = sweeper_name()
    lease = min(LEASE, max(interval, MIN_LEASE))

    def run() -> None:
        while not stop.wait(interval.total_seconds()):
            try:
                sweep_once(database, store, grace=grace, interval=interval, owner=owner, lease=lease)
            except Exception:
                log.exception("storage sweep failed")

    thread = threading.Thread(target=run, name="smps-storage-sweep", daemon=True)
    thread.start()

    def stop_sweep() -> None:
        stop.set()
        thread.join(timeout=5)

    return stop_sweep
