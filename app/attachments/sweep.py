"""The storage sweep: remove what crashed or abandoned uploads left, report rows whose file is gone.

Safe to run at any time, from any number of processes: it removes only temporary files and blobs
older than the grace period (an upload in flight keeps its temporary file fresh; a blob is moved
into place just before its row commits) that no row names, and it never deletes a row.
Run it with ``smps storage sweep`` (cron, a systemd timer) or keep ``start_periodic_sweep`` running.
"""

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import col

from app.attachments.blobstore import BlobStore
from app.attachments.models import Attachment
from app.core.db import Database

log = logging.getLogger("smps.storage")

_BATCH = 500


@dataclass
class SweepReport:
    removed_temporary: list[str] = field(default_factory=list)
    removed_orphans: list[str] = field(default_factory=list)
    # Rows whose file is missing: an integrity problem to look into, never repaired silently.
    missing_files: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "removed_temporary": self.removed_temporary,
            "removed_orphans": self.removed_orphans,
            "missing_files": self.missing_files,
        }


def sweep_storage(
    database: Database,
    store: BlobStore,
    *,
    grace: timedelta,
    now: datetime | None = None,
    dry_run: bool = False,
) -> SweepReport:
    """One pass of the sweep. ``dry_run`` reports what would be removed without removing it."""
    now = now or datetime.now(UTC)
    cutoff = now - grace
    report = SweepReport()

    for path in sorted(store.temp_dir.glob("*.part")):
        try:
            modified = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        except FileNotFoundError:
            continue
        if modified < cutoff:
            report.removed_temporary.append(path.name)
            if not dry_run:
                path.unlink(missing_ok=True)

    # The store is listed before the rows are read: a blob listed here whose row commits later was
    # moved into place moments ago, so the grace period keeps it.
    blobs = {b.key: b for b in store.list()}
    known: set[str] = set()
    with database.reader() as session:
        rows = session.execute(
            sa.select(
                col(Attachment.id), col(Attachment.application_id), col(Attachment.storage_key)
            ).execution_options(yield_per=2000)
        )
        for row in rows:
            known.add(row.storage_key)
            if row.storage_key not in blobs and not store.exists(row.storage_key):
                report.missing_files.append({"attachment_id": row.id, "application_id": row.application_id})

    candidates = [key for key, blob in blobs.items() if key not in known and blob.modified_at < cutoff]
    for start in range(0, len(candidates), _BATCH):
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

    if report.missing_files:
        log.error("attachment rows without a file", extra={"count": len(report.missing_files)})
    return report


def start_periodic_sweep(
    database: Database,
    store: BlobStore,
    *,
    grace: timedelta,
    interval: timedelta = timedelta(hours=1),
) -> Callable[[], None]:
    """Sweep every ``interval`` in a daemon thread; returns a function that stops it.

    For a long-running process (the app's lifespan or a worker); a failed pass is logged and the
    next one runs on time.
    """
    stop = threading.Event()

    def run() -> None:
        while not stop.wait(interval.total_seconds()):
            try:
                sweep_storage(database, store, grace=grace)
            except Exception:
                log.exception("storage sweep failed")

    thread = threading.Thread(target=run, name="smps-storage-sweep", daemon=True)
    thread.start()

    def stop_sweep() -> None:
        stop.set()
        thread.join(timeout=5)

    return stop_sweep
