"""Loading a subscription the caller may see, and the public shapes of subscriptions and deliveries."""

from typing import Annotated, Literal, cast

import sqlalchemy as sa
from fastapi import Depends, Path
from sqlmodel import col

from app.accounts.principal import CurrentPrincipal, Principal
from app.core.deps import DbSession
from app.core.errors import NotFound
from app.events.models import Webhook, WebhookAttempt, WebhookDelivery
from app.events.schemas import DeliveryState, WebhookAttemptPublic, WebhookDeliveryPublic, WebhookPublic
from app.events.webhooks import public_error


def webhook_public(row: Webhook) -> WebhookPublic:
    return WebhookPublic.model_validate(row, from_attributes=True)


def load_webhook(session: sa.orm.Session, principal: Principal, webhook_id: str) -> Webhook:
    """The subscription if the caller may see it (its organization's, or any for an admin), else 404."""
    query = sa.select(Webhook).where(col(Webhook.id) == webhook_id, col(Webhook.deleted_at).is_(None))
    if not principal.is_admin:
        query = query.where(col(Webhook.organization_id) == principal.organization_id)
    row = session.execute(query).scalar_one_or_none()
    if row is None:
        raise NotFound()
    return row


WebhookId = Annotated[str, Path(max_length=32, description="Webhook id")]


def _visible_webhook(principal: CurrentPrincipal, session: DbSession, webhook_id: WebhookId) -> Webhook:
    return load_webhook(session, principal, webhook_id)


VisibleWebhook = Annotated[Webhook, Depends(_visible_webhook)]


def attempts_of(session: sa.orm.Session, delivery_ids: list[str]) -> dict[str, list[WebhookAttemptPublic]]:
    attempts: dict[str, list[WebhookAttemptPublic]] = {i: [] for i in delivery_ids}
    if not delivery_ids:
        return attempts
    for attempt in session.execute(
        sa.select(WebhookAttempt)
        .where(col(WebhookAttempt.delivery_id).in_(delivery_ids))
        .order_by(col(WebhookAttempt.delivery_id), col(WebhookAttempt.number))
    ).scalars():
        outcome: Literal["succeeded", "failed"] | None = (
            None
            if attempt.finished_at is None
            else ("succeeded" if attempt.status_code is not None and 200 <= attempt.status_code < 300 else "failed")
        )
        attempts[attempt.delivery_id].append(
            WebhookAttemptPublic(
                number=attempt.number,
                started_at=attempt.started_at,
                finished_at=attempt.finished_at,
                outcome=outcome,
                error=public_error(attempt.status_code, attempt.error),
            )
        )
    return attempts


def delivery_public(row: WebhookDelivery, attempts: list[WebhookAttemptPublic]) -> WebhookDeliveryPublic:
    return WebhookDeliveryPublic(
        id=row.id,
        event_id=row.event_id,
        event_type=row.event_type,
        # The worker writes only these four states (WebhookDeliveryPublic validates them again).
        state=cast(DeliveryState, row.state),
        attempt_count=row.attempts,
        next_attempt_at=row.next_attempt_at if row.state == "pending" else None,
        last_error=public_error(row.last_status_code, row.last_error),
        created_at=row.created_at,
        last_attempt_at=row.last_attempt_at,
        completed_at=row.completed_at,
        attempts=attempts,
    )
