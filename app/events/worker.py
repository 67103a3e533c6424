"""The background worker: webhook fan-out and delivery, and housekeeping.

Each pass (``run_once``):

1. **Fan-out.** Events after the worker's cursor (table ``webhook_fanout``) become one delivery row
   per matching subscription whose owner may see the event now; the cursor moves in the same
   transaction, so a restart neither loses nor repeats an event.
2. **Delivery.** Due deliveries are claimed (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite's write
   lock serialises) by pushing their due time one lease ahead and stamping a lease token, then sent
   outside any transaction. Only the holder of the token records the outcome. A worker that dies
   mid-attempt leaves the delivery due again when the lease expires: at least once, never two
   workers on one attempt.
3. **Housekeeping** (every few minutes): prune old events and finished deliveries, purge expired
   idempotency keys.
4. **Bulk uploads** (every minute, and on the first pass — at service start): uploads whose runner
   is gone (its lease ran out: the process died) run again (``app.bulk.service``). Any number of
   workers may look: a runner claims the upload's lease first, and only one claim succeeds. While
   the loop runs they run in a thread of their own, so deliveries go on meanwhile.

``run_forever`` also keeps the attachments' storage sweep running (``app.attachments.sweep``; safe
from any number of processes), once an hour.

``run_once(now)`` takes the time from the caller, so tests drive retries without sleeping.
"""

import logging
import secrets
import threading
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
import orjson
import sqlalchemy as sa

from app.accounts.principal import load_principal
from app.core.clock import Clock, system_clock
from app.core.db import Database, commit
from app.core.idempotency_models import IdempotencyKey
from app.core.ids import new_id
from app.core.settings import Settings
from app.events.access import event_visibility
from app.events.addresses import AddressRefused, PinnedBackend, PinnedTransport
from app.events.feed import event_public
from app.events.models import Event, Webhook, WebhookAttempt, WebhookDelivery, WebhookFanout
from app.events.webhooks import matches, sign

log = logging.getLogger("smps.worker")

# Delay after the n-th failed attempt (Standard Webhooks' schedule), then every 10 hours.
BACKOFF = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
)
RETRY_WINDOW = timedelta(days=3)
# A claimed attempt not recorded within this time is due again (its worker is presumed dead).
LEASE = timedelta(minutes=2)
FANOUT_BATCH = 500
CLAIM_BATCH = 8
HOUSEKEEPING_EVERY = timedelta(minutes=5)
PRUNE_BATCH = 5000
BULK_RESUME_EVERY = timedelta(minutes=1)
SWEEP_EVERY = timedelta(hours=1)


def backoff(failed_attempts: int) -> timedelta:
    return BACKOFF[min(failed_attempts, len(BACKOFF)) - 1]


@dataclass
class Claimed:
    delivery_id: str
    number: int
    lease_token: str
    url: str
    secret: str
    payload: str
    created_at: datetime


@dataclass
class PassResult:
    fanned_out: int = 0
    attempted: int = 0
    succeeded: int = 0
    pruned: dict[str, int] = field(default_factory=dict)
    resumed: list[str] = field(default_factory=list)

    @property
    def busy(self) -> bool:
        return bool(self.fanned_out or self.attempted)


def prune(database: Database, settings: Settings, now: datetime) -> dict[str, int]:
    """Delete events past retention (only those already fanned out), old finished deliveries and
    expired idempotency keys, in short batches."""
    counts = {"events": 0, "deliveries": 0, "idempotency_keys": 0}
    if settings.event_retention_days is not None:
        cutoff = now - timedelta(days=settings.event_retention_days)
        fanned_out = sa.select(WebhookFanout.last_seq).where(WebhookFanout.id == 1).scalar_subquery()
        counts["events"] = _delete_batches(
            database,
            sa.select(Event.seq)
            .where(Event.occurred_at < cutoff, Event.seq <= fanned_out)
            .order_by(Event.seq)
            .limit(PRUNE_BATCH),
            Event.seq,
        )
    cutoff = now - timedelta(days=settings.webhook_delivery_retention_days)
    finished = (
        sa.select(WebhookDelivery.id)
        .where(
            WebhookDelivery.completed_at < cutoff  # type: ignore[operator]
        )
        .limit(PRUNE_BATCH)
    )
    counts["deliveries"] = _delete_batches(database, finished, WebhookDelivery.id, WebhookAttempt.delivery_id)
    counts["idempotency_keys"] = _delete_batches(
        database,
        sa.select(IdempotencyKey.id).where(IdempotencyKey.expires_at <= now).limit(PRUNE_BATCH),
        IdempotencyKey.id,
    )
    return counts


def _delete_batches(
    database: Database, select_keys: sa.Select, column: sa.ColumnElement, child_column: sa.ColumnElement | None = None
) -> int:
    total = 0
    while True:
        with database.writer() as session:
            keys = list(session.execute(select_keys).scalars())
            if not keys:
                return total
            if child_column is not None:
                session.execute(sa.delete(child_column.table).where(child_column.in_(keys)))
            session.execute(sa.delete(column.table).where(column.in_(keys)))
            commit(session)
        total += len(keys)


class Worker:
    """Fans events out to subscriptions and delivers them; one instance per thread or process."""

    def __init__(
        self, database: Database, settings: Settings, *, clock: Clock = system_clock, client: httpx.Client | None = None
    ) -> None:
        self.database = database
        self.settings = settings
        self.clock = clock
        # Every connection resolves its host once and goes to a checked address (no DNS rebinding).
        self.client = client or httpx.Client(
            timeout=settings.webhook_timeout_seconds,
            follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": "smps-webhooks/1"},
            transport=PinnedTransport(PinnedBackend(lambda: settings.webhook_allowed_hosts)),
        )
        self._last_housekeeping: datetime | None = None
        self._last_resume: datetime | None = None
        # run_forever resumes bulk uploads in a thread of its own; a single pass (run_once) waits for them.
        self.background = False
        self._resumer: threading.Thread | None = None

    def close(self) -> None:
        self.client.close()

    # -- the loop ------------------------------------------------------------------------------

    def run_once(self, now: datetime | None = None) -> PassResult:
        """One pass: fan out every new event, attempt every due delivery, and housekeeping if due."""
        clock: Clock = (lambda: now) if now is not None else self.clock
        result = PassResult()
        result.fanned_out = self.fan_out(clock())
        while True:
            claimed = self.claim(clock())
            if not claimed:
                break
            with ThreadPoolExecutor(max_workers=len(claimed)) as pool:
                outcomes = list(pool.map(lambda c: self.attempt(c, clock), claimed))
            result.attempted += len(claimed)
            result.succeeded += sum(outcomes)
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
        from app.bulk.service import run_upload, unfinished_uploads

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
            interval=SWEEP_EVERY,
            grace=timedelta(seconds=self.settings.storage_sweep_grace_seconds),
        )

    # -- fan-out -------------------------------------------------------------------------------

    def fan_out(self, now: datetime) -> int:
        """Turn the events after the cursor into deliveries; returns how many deliveries were made."""
        made = 0
        while True:
            # Look before taking the write lock: most passes find nothing new.
            with self.database.reader() as session:
                last = session.execute(sa.select(WebhookFanout.last_seq).where(WebhookFanout.id == 1)).scalar()
                head = session.execute(sa.select(sa.func.max(Event.seq))).scalar() or 0
            if last is None or head <= last:
                return made
            with self.database.writer() as session:
                cursor = session.execute(
                    sa.select(WebhookFanout).where(WebhookFanout.id == 1).with_for_update(skip_locked=True)
                ).scalar_one_or_none()
                if cursor is None:  # another worker holds it
                    return made
                head = session.execute(sa.select(sa.func.max(Event.seq))).scalar() or 0
                if head <= cursor.last_seq:
                    return made
                end = min(head, cursor.last_seq + FANOUT_BATCH)
                hooks = list(
                    session.execute(
                        sa.select(Webhook).where(Webhook.deleted_at.is_(None), Webhook.start_seq < end)  # type: ignore[union-attr]
                    ).scalars()
                )
                if not hooks:
                    end = head
                else:
                    made += self._fan_out_range(session, hooks, cursor.last_seq, end, now)
                cursor.last_seq = end
                commit(session)

    def _fan_out_range(self, session: sa.orm.Session, hooks: list[Webhook], after: int, end: int, now: datetime) -> int:
        in_range = sa.and_(Event.seq > after, Event.seq <= end)
        events = {e.seq: e for e in session.execute(sa.select(Event).where(in_range).order_by(Event.seq)).scalars()}
        by_owner: dict[str, list[Webhook]] = defaultdict(list)
        for hook in hooks:
            by_owner[hook.owner_id].append(hook)
        payloads: dict[int, str] = {}
        rows = []
        for owner_id, owner_hooks in by_owner.items():
            principal = load_principal(session, owner_id)
            if principal is None:
                continue
            visible = set(session.execute(sa.select(Event.seq).where(in_range, event_visibility(principal))).scalars())
            for hook in owner_hooks:
                for seq in sorted(visible):
                    event = events.get(seq)
                    if event is None or seq <= hook.start_seq or not matches(hook.event_types, event.type):
                        continue
                    if seq not in payloads:
                        item = event_public(event).model_dump(mode="json")
                        payloads[seq] = orjson.dumps(
                            {"type": event.type, "timestamp": item["occurred_at"], "data": item}
                        ).decode()
                    rows.append(
                        dict(
                            id=new_id("msg"),
                            webhook_id=hook.id,
                            event_id=event.id,
                            event_type=event.type,
                            payload=payloads[seq],
                            state="pending",
                            attempts=0,
                            next_attempt_at=now,
                            created_at=now,
                        )
                    )
        if rows:
            session.execute(sa.insert(WebhookDelivery), rows)
        return len(rows)

    # -- delivery ------------------------------------------------------------------------------

    def claim(self, now: datetime, limit: int = CLAIM_BATCH) -> list[Claimed]:
        """Take up to ``limit`` due deliveries for one attempt each, under a lease."""
        due = (WebhookDelivery.state == "pending", WebhookDelivery.next_attempt_at <= now)  # type: ignore[operator]
        with self.database.reader() as session:
            if session.execute(sa.select(WebhookDelivery.id).where(*due).limit(1)).first() is None:
                return []
        with self.database.writer() as session:
            ids = list(
                session.execute(
                    sa.select(WebhookDelivery.id)
                    .where(*due)
                    .order_by(WebhookDelivery.next_attempt_at)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                ).scalars()
            )
            if not ids:
                return []
            token = secrets.token_hex(8)
            # Attempts a dead worker never finished.
            session.execute(
                sa.update(WebhookAttempt)
                .where(WebhookAttempt.delivery_id.in_(ids), WebhookAttempt.finished_at.is_(None))  # type: ignore[attr-defined,union-attr]
                .values(finished_at=now, error="abandoned: no outcome recorded before the lease expired")
            )
            session.execute(
                sa.update(WebhookDelivery)
                .where(WebhookDelivery.id.in_(ids))  # type: ignore[attr-defined]
                .values(
                    attempts=WebhookDelivery.attempts + 1,
                    lease_token=token,
                    next_attempt_at=now + LEASE,
                    last_attempt_at=now,
                )
            )
            rows = session.execute(
                sa.select(
                    WebhookDelivery.id,
                    WebhookDelivery.attempts,
                    WebhookDelivery.payload,
                    WebhookDelivery.created_at,
                    Webhook.url,
                    Webhook.secret,
                )
                .join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
                .where(WebhookDelivery.id.in_(ids))  # type: ignore[attr-defined]
            ).all()
            session.execute(
                sa.insert(WebhookAttempt), [dict(delivery_id=r.id, number=r.attempts, started_at=now) for r in rows]
            )
            commit(session)
        return [Claimed(r.id, r.attempts, token, r.url, r.secret, r.payload, r.created_at) for r in rows]

    def attempt(self, claimed: Claimed, clock: Clock) -> bool:
        """Send one claimed delivery and record the outcome; True when the receiver took it."""
        status, error = self.send(claimed, clock())
        self.record(claimed, clock(), status, error)
        return status is not None and 200 <= status < 300

    def send(self, claimed: Claimed, now: datetime) -> tuple[int | None, str | None]:
        """POST one delivery; (the receiver's status, None) or (None, why it did not arrive).

        Both are kept for the operator; the subscriber sees only whether it arrived (``deliveries``).
        """
        body = claimed.payload.encode()
        timestamp = int(now.timestamp())
        headers = {
            "content-type": "application/json",
            "webhook-id": claimed.delivery_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(claimed.secret, claimed.delivery_id, timestamp, body),
        }
        try:
            # The body of the answer is not needed: only its status is read.
            with self.client.stream("POST", claimed.url, content=body, headers=headers) as response:
                status, error = response.status_code, None
        except httpx.TimeoutException:
            status, error = None, "timeout"
        except httpx.HTTPError as exc:
            # The pinned backend refuses before connecting; httpx wraps its error (the cause).
            refused = exc.__cause__ if isinstance(exc.__cause__, AddressRefused) else None
            status, error = None, refused.code if refused else f"connection failed ({type(exc).__name__})"
        if not (status is not None and 200 <= status < 300):
            log.info(
                "webhook delivery failed",
                extra={
                    "delivery_id": claimed.delivery_id,
                    "attempt": claimed.number,
                    "status_code": status,
                    "error": error,
                },
            )
        return status, error

    def record(self, claimed: Claimed, now: datetime, status: int | None, error: str | None) -> None:
        ok = status is not None and 200 <= status < 300
        if status is not None and not ok:
            error = f"HTTP {status}"
        values: dict = dict(last_status_code=status, last_error=error, lease_token=None)
        if ok:
            values.update(state="succeeded", next_attempt_at=None, completed_at=now)
        else:
            due = now + backoff(claimed.number)
            if due - claimed.created_at > RETRY_WINDOW:
                values.update(state="failed", next_attempt_at=None, completed_at=now)
            else:
                values.update(next_attempt_at=due)
        with self.database.writer() as session:
            session.execute(
                sa.update(WebhookAttempt)
                .where(
                    WebhookAttempt.delivery_id == claimed.delivery_id,
                    WebhookAttempt.number == claimed.number,
                    WebhookAttempt.finished_at.is_(None),
                )  # type: ignore[union-attr]
                .values(finished_at=now, status_code=status, error=error)
            )
            # Only while this worker still holds the lease (not reclaimed, not cancelled).
            session.execute(
                sa.update(WebhookDelivery)
                .where(
                    WebhookDelivery.id == claimed.delivery_id,
                    WebhookDelivery.lease_token == claimed.lease_token,
                    WebhookDelivery.state == "pending",
                )
                .values(**values)
            )
            commit(session)
