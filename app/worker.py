"""The background worker: webhooks, notices by e-mail, housekeeping, bulk uploads and the storage sweep; ``smps worker``.

Each pass (``run_once``):

1. **Webhooks** (``app.events.delivery``): new events are fanned out to the subscriptions, then every
   due delivery is attempted. **Mail** (``app.mail.delivery``, when ``SMPS_SMTP_URL`` is set): the
   same for notices by e-mail (while it is off, its cursor follows the newest event).
2. **Housekeeping** (every few minutes): prune old events and finished deliveries and mails, purge expired
   idempotency keys.
3. **Bulk uploads** (every minute, and on the first pass — at service start): uploads whose runner
   is gone (its lease ran out: the process died) run again (``app.bulk.runner``). Any number of
   workers may look: a runner claims the upload's lease first, and only one claim succeeds. While
   the loop runs they run in a thread of their own, so deliveries go on meanwhile.

``run_forever`` also keeps the attachments' storage sweep running (``app.attachments.sweep``), every
``SMPS_STORAGE_SWEEP_INTERVAL_SECONDS`` (an hour): every worker looks, one sweeps the store per
interval (a lease row), and each sweep is recorded in ``storage_sweeps``.

``run_once(now)`` takes the time from the caller, so tests drive retries without sleeping.
"""

import logging
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import click
import httpx
import sqlalchemy as sa
from sqlmodel import SQLModel, col

from app.core.clock import Clock, system_clock
from app.core.db import Database, make_database
from app.core.idempotency_models import IdempotencyKey
from app.core.outbox_models import Event, EventCounter
from app.core.settings import Settings
from app.events.delivery import Webhooks
from app.events.models import EventEntry, WebhookAttempt, WebhookDelivery, WebhookFanout
from app.mail.delivery import Mailer, skip_fan_out
from app.mail.models import MailDelivery, MailFanout

log = logging.getLogger("smps.worker")

HOUSEKEEPING_EVERY = timedelta(minutes=5)
PRUNE_BATCH = 5000
BULK_RESUME_EVERY = timedelta(minutes=1)


@dataclass
class PassResult:
    fanned_out: int = 0
    attempted: int = 0
    succeeded: int = 0
    mails_made: int = 0
    mails_attempted: int = 0
    mails_sent: int = 0
    pruned: dict[str, int] = field(default_factory=dict)
    resumed: list[str] = field(default_factory=list)

    @property
    def busy(self) -> bool:
        return bool(self.fanned_out or self.attempted or self.mails_made or self.mails_attempted)


def prune(database: Database, settings: Settings, now: datetime) -> dict[str, int]:
    """Delete events past retention (only those already fanned out), old finished deliveries and
    expired idempotency keys, in short batches."""
    counts = {"events": 0, "deliveries": 0, "mails": 0, "idempotency_keys": 0}
    if settings.event_retention_days is not None:
        counts["events"] = _prune_log(database, now - timedelta(days=settings.event_retention_days))
    cutoff = now - timedelta(days=settings.webhook_delivery_retention_days)
    finished = sa.select(col(WebhookDelivery.id)).where(col(WebhookDelivery.completed_at) < cutoff).limit(PRUNE_BATCH)
    counts["deliveries"] = _delete_batches(
        database, finished, _column(WebhookDelivery, "id"), _column(WebhookAttempt, "delivery_id")
    )
    counts["mails"] = _delete_batches(
        database,
        sa.select(col(MailDelivery.id)).where(col(MailDelivery.completed_at) < cutoff).limit(PRUNE_BATCH),
        _column(MailDelivery, "id"),
    )
    counts["idempotency_keys"] = _delete_batches(
        database,
        sa.select(col(IdempotencyKey.id)).where(col(IdempotencyKey.expires_at) <= now).limit(PRUNE_BATCH),
        _column(IdempotencyKey, "id"),
    )
    return counts


def _prune_log(database: Database, cutoff: datetime) -> int:
    """Prune the log up to the last event older than ``cutoff`` that webhooks and mail have fanned out.

    The feed's entries up to that position go, then the events no remaining entry shows (an event
    revealed to an audience later stays while that entry does); the counter keeps the pruned
    position, so a cursor before it answers 410 ``cursor_expired``.
    """
    with database.reader() as session:
        webhooks = session.execute(sa.select(col(WebhookFanout.last_seq)).where(col(WebhookFanout.id) == 1)).scalar()
        mails = session.execute(sa.select(col(MailFanout.last_seq)).where(col(MailFanout.id) == 1)).scalar()
        if webhooks is None or mails is None:
            return 0
        fanned_out = min(webhooks, mails)
        old = col(Event.occurred_at) < cutoff
        through = max(
            session.execute(sa.select(sa.func.max(col(Event.seq))).where(old, col(Event.seq) <= fanned_out)).scalar()
            or 0,
            session.execute(
                sa.select(sa.func.max(col(EventEntry.position)))
                .join(Event, col(Event.seq) == col(EventEntry.event_seq))
                .where(old, col(EventEntry.position) <= fanned_out)
            ).scalar()
            or 0,
        )
    if not through:
        return 0
    _delete_batches(
        database,
        sa.select(col(EventEntry.position)).where(col(EventEntry.position) <= through).limit(PRUNE_BATCH),
        _column(EventEntry, "position"),
    )
    shown = sa.exists().where(col(EventEntry.event_seq) == col(Event.seq))
    pruned = _delete_batches(
        database,
        sa.select(col(Event.seq)).where(col(Event.seq) <= through, ~shown).order_by(col(Event.seq)).limit(PRUNE_BATCH),
        _column(Event, "seq"),
    )
    with database.transaction() as session:
        session.execute(
            sa.update(EventCounter)
            .where(col(EventCounter.id) == 1, col(EventCounter.pruned_through) < through)
            .values(pruned_through=through)
        )
    return pruned


def _column(model: type[SQLModel], name: str) -> sa.Column[Any]:
    column: sa.Column[Any] = sa.inspect(model).columns[name]
    return column


def _delete_batches(
    database: Database, select_keys: sa.Select[Any], column: sa.Column[Any], child_column: sa.Column[Any] | None = None
) -> int:
    total = 0
    while True:
        with database.transaction() as session:
            keys = list(session.execute(select_keys).scalars())
            if not keys:
                return total
            if child_column is not None:
                session.execute(sa.delete(child_column.table).where(child_column.in_(keys)))
            session.execute(sa.delete(column.table).where(column.in_(keys)))
        total += len(keys)


class Worker:
    """Runs the passes of one worker; one instance per thread or process."""

    def __init__(
        self, database: Database, settings: Settings, *, clock: Clock = system_clock, client: httpx.Client | None = None
    ) -> None:
        self.database = database
        self.settings = settings
        self.clock = clock
        self.webhooks = Webhooks(database, settings, client=client)
        self.mailer = Mailer(database, settings) if settings.mail_enabled else None
        self._last_housekeeping: datetime | None = None
        self._last_resume: datetime | None = None
        # run_forever resumes bulk uploads in a thread of its own; a single pass (run_once) waits for them.
        self.background = False
        self._resumer: threading.Thread | None = None

    def close(self) -> None:
        self.webhooks.close()

    # -- the loop ------------------------------------------------------------------------------

    def run_once(self, now: datetime | None = None) -> PassResult:
        """One pass: fan out every new event, attempt every due delivery, and housekeeping if due."""
        clock: Clock = (lambda: now) if now is not None else self.clock
        result = PassResult()
        result.fanned_out = self.webhooks.fan_out(clock())
        result.attempted, result.succeeded = self.webhooks.deliver_due(clock)
        if self.mailer is not None:
            result.mails_made = self.mailer.fan_out(clock())
            result.mails_attempted, result.mails_sent = self.mailer.send_due(clock)
        else:
            skip_fan_out(self.database)
        started = clock()
        if self._last_housekeeping is None or started - self._last_housekeeping >= HOUSEKEEPING_EVERY:
            result.pruned = prune(self.database, self.settings, started)
            self._last_housekeeping = started
        if self._last_resume is None or started - self._last_resume >= BULK_RESUME_EVERY:
            self._last_resume = started
            result.resumed = self.resume_bulk_uploads(clock)
        return result

    def run_forever(self, stop: threading.Event) -> None:
        """Passes until ``stop`` is set; pauses when there was nothing to do, and after an error."""
        self.background = True
        stop_sweep = self._start_sweep()
        try:
            while not stop.is_set():
                try:
                    busy = self.run_once().busy
                except Exception:
                    log.exception("worker pass failed")
                    busy = False
                if not busy:
                    stop.wait(self.settings.worker_poll_seconds)
        finally:
            stop_sweep()

    # -- bulk uploads and the storage sweep ------------------------------------------------------

    def resume_bulk_uploads(self, clock: Clock) -> list[str]:
        """Run again the bulk uploads whose runner is gone; returns their ids (none while the previous
        ones still run)."""
        from app.bulk.runner import run_upload, unfinished_uploads

        if self._resumer is not None and self._resumer.is_alive():
            return []
        ids = unfinished_uploads(self.database, clock())
        if not ids:
            return []
        log.info("resuming bulk uploads", extra={"count": len(ids)})

        def resume() -> None:
            for upload_id in ids:
                run_upload(self.database, self.settings, upload_id, clock)  # records its own failures

        if self.background:
            self._resumer = threading.Thread(target=resume, name="smps-bulk-resume", daemon=True)
            self._resumer.start()
        else:
            resume()
        return ids

    def _start_sweep(self) -> Callable[[], None]:
        from app.attachments.blobstore import make_blob_store
        from app.attachments.sweep import start_periodic_sweep

        try:
            store = make_blob_store(self.settings)
        except Exception:  # deliveries go on without it; the sweep command still works
            log.exception("storage sweep not started: the blob store is unavailable")
            return lambda: None
        return start_periodic_sweep(
            self.database,
            store,
            interval=timedelta(seconds=self.settings.storage_sweep_interval_seconds),
            grace=timedelta(seconds=self.settings.storage_sweep_grace_seconds),
        )


# -- the command ----------------------------------------------------------------------------------


def run_worker(settings: Settings, stop: threading.Event) -> None:
    """Run worker passes until ``stop`` is set."""
    database = make_database(settings)
    worker = Worker(database, settings)
    try:
        worker.run_forever(stop)
    finally:
        worker.close()
        database.dispose()


def start_worker_thread(settings: Settings) -> threading.Event:
    """Start the worker in a daemon thread (the embedded default of ``smps serve``); set the event to stop it."""
    stop = threading.Event()
    threading.Thread(target=run_worker, args=(settings, stop), name="smps-worker", daemon=True).start()
    return stop


@click.command(
    help="Deliver webhooks and e-mail notices and prune old events, deliveries and idempotency keys. "
    "Run several on PostgreSQL if one is not enough; they share the work."
)
@click.option("--once", is_flag=True, help="Do one pass and exit (for a scheduler).")
def worker(once: bool) -> None:
    from app.core.migrate import require_migrated
    from app.main import preflight
    from app.web.logging import configure_logging

    settings = Settings()
    preflight(settings, "worker", before_writing=lambda: require_migrated(settings))
    configure_logging(settings.log_level)
    if once:
        database = make_database(settings)
        pass_worker = Worker(database, settings)
        try:
            result = pass_worker.run_once()
        finally:
            pass_worker.close()
            database.dispose()
        click.echo(
            f"fanned out {result.fanned_out}, attempted {result.attempted}, succeeded {result.succeeded}; "
            f"mails made {result.mails_made}, attempted {result.mails_attempted}, sent {result.mails_sent}",
            err=True,
        )
        return
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    run_worker(settings, stop)
