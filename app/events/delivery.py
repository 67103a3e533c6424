"""Webhook delivery: fan-out of new events to subscriptions, and the attempts to deliver them.

1. **Fan-out.** The feed's entries after the cursor (table ``webhook_fanout``, a position of the log)
   become one delivery row per matching subscription whose owner's feed holds them: the same query
   as ``GET /events`` (``app.events.feed.feed_query``), so a subscription receives exactly what its
   owner's feed shows, when the feed shows it. The cursor moves in the same transaction, so a restart
   neither loses nor repeats an event.
2. **Delivery.** Due deliveries are claimed (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite's write
   lock serialises) by pushing their due time one lease ahead and stamping a lease token, then sent
   outside any transaction. Only the holder of the token records the outcome. A worker that dies
   mid-attempt leaves the delivery due again when the lease (``SMPS_WEBHOOK_LEASE_SECONDS``)
   expires: at least once (the dead worker's attempt may have arrived), never two workers on one
   attempt.

The worker (``app.worker``) runs these passes; times come from the caller, so tests drive retries
without sleeping.
"""

import logging
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import orjson
import sqlalchemy as sa
from sqlmodel import col

from app.accounts.principal import load_principal
from app.core.clock import Clock
from app.core.db import Database
from app.core.ids import new_id
from app.core.outbox_models import Event
from app.core.settings import Settings
from app.events.addresses import AddressRefused, PinnedBackend, PinnedTransport
from app.events.feed import event_public, feed_rows, log_bounds
from app.events.leases import any_due, settle, take_due
from app.events.models import Webhook, WebhookAttempt, WebhookDelivery, WebhookFanout
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
FANOUT_BATCH = 500
CLAIM_BATCH = 8


def payload(event: Event, position: int | None = None) -> str:
    """The body of a delivery (Standard Webhooks: ``type``, ``timestamp``, ``data``): the feed's item whole."""
    item = event_public(event, position).model_dump(mode="json")
    return orjson.dumps({"type": event.type, "timestamp": item["occurred_at"], "data": item}).decode()


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
    window_from: datetime  # when its retry window opened: created, or redelivered


class Webhooks:
    """Fans events out to subscriptions and delivers them; one instance per thread or process."""

    def __init__(self, database: Database, settings: Settings, *, client: httpx.Client | None = None) -> None:
        self.database = database
        self.settings = settings
        # Every connection resolves its host once and goes to a checked address (no DNS rebinding).
        self.client = client or httpx.Client(
            timeout=settings.webhook_timeout_seconds,
            follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": "smps-webhooks/1"},
            transport=PinnedTransport(PinnedBackend(lambda: settings.webhook_allowed_hosts)),
        )

    def close(self) -> None:
        self.client.close()

    def deliver_due(self, clock: Clock) -> tuple[int, int]:
        """Attempt every due delivery (a batch at a time, in parallel); returns (attempted, succeeded)."""
        attempted = succeeded = 0
        while True:
            claimed = self.claim(clock())
            if not claimed:
                return attempted, succeeded
            with ThreadPoolExecutor(max_workers=len(claimed)) as pool:
                outcomes = list(pool.map(lambda c: self.attempt(c, clock), claimed))
            attempted += len(claimed)
            succeeded += sum(outcomes)

    # -- fan-out -------------------------------------------------------------------------------

    def fan_out(self, now: datetime) -> int:
        """Turn the events after the cursor into deliveries; returns how many deliveries were made."""
        made = 0
        while True:
            # Look before taking the write lock: most passes find nothing new.
            with self.database.reader() as session:
                last = session.execute(
                    sa.select(col(WebhookFanout.last_seq)).where(col(WebhookFanout.id) == 1)
                ).scalar()
                head = log_bounds(session)[0]
            if last is None or head <= last:
                return made
            with self.database.transaction() as session:
                cursor = session.execute(
                    sa.select(WebhookFanout).where(col(WebhookFanout.id) == 1).with_for_update(skip_locked=True)
                ).scalar_one_or_none()
                if cursor is None:  # another worker holds it
                    return made
                head = log_bounds(session)[0]
                if head <= cursor.last_seq:
                    return made
                end = min(head, cursor.last_seq + FANOUT_BATCH)
                hooks = list(
                    session.execute(
                        sa.select(Webhook).where(col(Webhook.deleted_at).is_(None), col(Webhook.start_seq) < end)
                    ).scalars()
                )
                if not hooks:
                    end = head
                else:
                    made += self._fan_out_range(session, hooks, cursor.last_seq, end, now)
                cursor.last_seq = end

    def _fan_out_range(self, session: sa.orm.Session, hooks: list[Webhook], after: int, end: int, now: datetime) -> int:
        by_owner: dict[str, list[Webhook]] = defaultdict(list)
        for hook in hooks:
            by_owner[hook.owner_id].append(hook)
        rows = []
        for owner_id, owner_hooks in by_owner.items():
            principal = load_principal(session, owner_id)
            if principal is None:
                continue
            # The owner's feed between the two positions (a range of at most FANOUT_BATCH positions).
            visible = feed_rows(session, principal, after, end, [], FANOUT_BATCH)
            if not visible:
                continue
            already = set(
                session.execute(
                    sa.select(col(WebhookDelivery.webhook_id), col(WebhookDelivery.event_id)).where(
                        col(WebhookDelivery.webhook_id).in_([h.id for h in owner_hooks]),
                        col(WebhookDelivery.event_id).in_([e.id for _, e in visible]),
                    )
                ).all()
            )
            for hook in owner_hooks:
                for position, event in visible:
                    if position <= hook.start_seq or not matches(hook.event_types, event.type):
                        continue
                    if (hook.id, event.id) in already:  # received through another audience already
                        continue
                    rows.append(
                        dict(
                            id=new_id("msg"),
                            webhook_id=hook.id,
                            event_id=event.id,
                            event_type=event.type,
                            payload=payload(event, position),
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
        if not any_due(self.database, WebhookDelivery, now):
            return []
        with self.database.transaction() as session:
            lease = timedelta(seconds=self.settings.webhook_lease_seconds)
            token, ids = take_due(session, WebhookDelivery, now, limit, lease)
            if not ids:
                return []
            # Attempts a dead worker never finished.
            session.execute(
                sa.update(WebhookAttempt)
                .where(col(WebhookAttempt.delivery_id).in_(ids), col(WebhookAttempt.finished_at).is_(None))
                .values(finished_at=now, error="abandoned: no outcome recorded before the lease expired")
            )
            rows = session.execute(
                sa.select(
                    col(WebhookDelivery.id),
                    col(WebhookDelivery.attempts),
                    col(WebhookDelivery.payload),
                    sa.func.coalesce(col(WebhookDelivery.retry_from), col(WebhookDelivery.created_at)),
                    col(Webhook.url),
                    col(Webhook.secret),
                )
                .join(Webhook, col(Webhook.id) == col(WebhookDelivery.webhook_id))
                .where(col(WebhookDelivery.id).in_(ids))
            ).all()
            session.execute(
                sa.insert(WebhookAttempt), [dict(delivery_id=r.id, number=r.attempts, started_at=now) for r in rows]
            )
        return [Claimed(r[0], r[1], token, r[4], r[5], r[2], r[3]) for r in rows]

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
        values: dict[str, Any] = dict(last_status_code=status, last_error=error, lease_token=None)
        if ok:
            values.update(state="succeeded", next_attempt_at=None, completed_at=now)
        else:
            due = now + backoff(claimed.number)
            if due - claimed.window_from > RETRY_WINDOW:
                values.update(state="failed", next_attempt_at=None, completed_at=now)
            else:
                values.update(next_attempt_at=due)
        with self.database.transaction() as session:
            session.execute(
                sa.update(WebhookAttempt)
                .where(
                    col(WebhookAttempt.delivery_id) == claimed.delivery_id,
                    col(WebhookAttempt.number) == claimed.number,
                    col(WebhookAttempt.finished_at).is_(None),
                )
                .values(finished_at=now, status_code=status, error=error)
            )
            settle(session, WebhookDelivery, claimed.delivery_id, claimed.lease_token, **values)
