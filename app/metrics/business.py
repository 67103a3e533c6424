"""Gauges about the work itself, read from the database when Prometheus scrapes (so every worker reports
the same numbers and nothing is counted twice). A handful of grouped counts on indexed columns."""

from collections.abc import Callable, Iterator
from datetime import datetime

import sqlalchemy as sa
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.orm import Session
from sqlmodel import col

from app.applications.models import Application
from app.batches.models import Batch
from app.bulk.models import BulkUpload
from app.core.clock import as_utc
from app.core.db import Database
from app.core.outbox_models import EventCounter
from app.events.models import WebhookDelivery, WebhookFanout
from app.mail.models import MailDelivery

_BULK_IN_PROGRESS = ("queued", "running")


class BusinessCollector(Collector):
    def __init__(self, database: Database, clock: Callable[[], datetime]) -> None:
        self.database, self.clock = database, clock

    def describe(self) -> list[Metric]:
        return []  # nothing is read at registration; the families appear at the first scrape

    def collect(self) -> Iterator[Metric]:
        with self.database.reader() as session:
            yield from self._applications(session)
            yield from self._batches(session)
            yield from self._bulk(session)
            yield from self._webhooks(session)
            yield from self._mails(session)
            yield from self._outbox(session)

    def _applications(self, session: Session) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "smps_applications", "Applications by call (its id) and state (申报书状态).", labels=("call", "state")
        )
        rows = session.execute(
            sa.select(col(Application.call_id), col(Application.state), sa.func.count()).group_by(
                col(Application.call_id), col(Application.state)
            )
        )
        for call_id, state, count in rows:
            family.add_metric((call_id, state), count)
        yield family

    def _batches(self, session: Session) -> Iterator[Metric]:
        family = GaugeMetricFamily("smps_batches", "Recommended lists (推荐清单) by state.", labels=("state",))
        rows = session.execute(sa.select(col(Batch.state), sa.func.count()).group_by(col(Batch.state)))
        for state, count in rows:
            family.add_metric((state,), count)
        yield family

    def _bulk(self, session: Session) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "smps_bulk_uploads_in_progress", "Bulk uploads queued or being applied now.", labels=("state",)
        )
        rows = session.execute(
            sa.select(col(BulkUpload.state), sa.func.count())
            .where(col(BulkUpload.state).in_(_BULK_IN_PROGRESS))
            .group_by(col(BulkUpload.state))
        )
        counts: dict[str, int] = {state: count for state, count in rows}
        for state in _BULK_IN_PROGRESS:
            family.add_metric((state,), counts.get(state, 0))
        yield family

    def _webhooks(self, session: Session) -> Iterator[Metric]:
        count, oldest = session.execute(
            sa.select(sa.func.count(), sa.func.min(col(WebhookDelivery.created_at))).where(
                col(WebhookDelivery.state) == "pending"
            )
        ).one()
        yield GaugeMetricFamily(
            "smps_webhook_deliveries_undelivered",
            "Webhook deliveries not yet delivered (pending: waiting for an attempt or its retry).",
            value=count,
        )
        age = 0.0 if oldest is None else max((self.clock() - as_utc(oldest)).total_seconds(), 0.0)
        yield GaugeMetricFamily(
            "smps_webhook_oldest_undelivered_age_seconds",
            "Age of the oldest undelivered webhook delivery (0 when there is none).",
            value=age,
        )

    def _mails(self, session: Session) -> Iterator[Metric]:
        count, oldest = session.execute(
            sa.select(sa.func.count(), sa.func.min(col(MailDelivery.created_at))).where(
                col(MailDelivery.state) == "pending"
            )
        ).one()
        yield GaugeMetricFamily(
            "smps_mails_undelivered",
            "Notices by e-mail not yet sent (pending: waiting for an attempt or its retry).",
            value=count,
        )
        age = 0.0 if oldest is None else max((self.clock() - as_utc(oldest)).total_seconds(), 0.0)
        yield GaugeMetricFamily(
            "smps_mail_oldest_undelivered_age_seconds",
            "Age of the oldest notice by e-mail not yet sent (0 when there is none).",
            value=age,
        )

    def _outbox(self, session: Session) -> Iterator[Metric]:
        # The log's head: events and the feed's entries share its positions (the fan-out cursor is one).
        newest = session.execute(sa.select(col(EventCounter.value)).where(col(EventCounter.id) == 1)).scalar() or 0
        fanned_out = session.execute(sa.select(col(WebhookFanout.last_seq))).scalar() or 0
        yield GaugeMetricFamily(
            "smps_events_newest_seq", "Position of the newest event or feed entry in the change feed.", value=newest
        )
        yield GaugeMetricFamily(
            "smps_outbox_lag_events",
            "Events committed but not yet turned into webhook deliveries by a worker (newest position − fanned-out position).",
            value=max(newest - fanned_out, 0),
        )
