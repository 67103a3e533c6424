"""Actions on a subscription: send it a test event, redeliver one of its deliveries.

Both queue a delivery for the worker (``app.events.delivery``), which sends it signed like any other:
the answer is 202 with the delivery, to follow in ``GET /webhooks/{id}/deliveries``.
"""

from datetime import datetime
from typing import Annotated

import orjson
import sqlalchemy as sa
from fastapi import APIRouter, Path, Response, status
from sqlmodel import col

from app.accounts.principal import CurrentPrincipal, Principal
from app.core.deps import DbSession, Now
from app.core.errors import Forbidden, InvalidState, NotAuthenticated, NotFound, ValidationFailed, problem_responses
from app.core.i18n import Text
from app.core.ids import new_id
from app.events.models import Webhook, WebhookDelivery
from app.events.schemas import WebhookDeliveryPublic
from app.events.webhook_views import VisibleWebhook, WebhookId, attempts_of, delivery_public, load_webhook

router = APIRouter()  # included by app.events.router, under its /api/v1
DeliveryId = Annotated[str, Path(max_length=32, description="Delivery id (the `webhook-id` header it is sent with)")]
TEST_TYPE = "webhook.test"
RESPONSES = problem_responses(NotAuthenticated, ValidationFailed, Forbidden, NotFound)


def _may_act(principal: Principal, hook: Webhook) -> None:
    if hook.owner_id != principal.user_id and not principal.is_admin:
        raise Forbidden(
            Text("只有订阅的创建者或管理员可以操作它", "Only the subscription's owner or an admin may do this")
        )


def test_payload(hook: Webhook, event_id: str, actor_id: str, now: datetime) -> str:
    """The body of a test delivery: not an event of the log (it is in no feed), but shaped like one."""
    timestamp = now.isoformat()
    data = {"webhook_id": hook.id, "requested_by": actor_id}
    event = {"id": event_id, "type": TEST_TYPE, "occurred_at": timestamp, "data": data}
    return orjson.dumps({"type": TEST_TYPE, "timestamp": timestamp, "data": event}).decode()


@router.post(
    "/webhooks/{webhook_id}/test",
    tags=["webhooks"],
    operation_id="send_webhook_test",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=WebhookDeliveryPublic,
    responses=RESPONSES,
)
def send_webhook_test(
    hook: VisibleWebhook, principal: CurrentPrincipal, session: DbSession, now: Now, response: Response
) -> WebhookDeliveryPublic:
    """Send a `webhook.test` delivery to the subscription's address now (its owner or an admin).

    It is signed and retried like any delivery, whatever event types the subscription chose, and is
    in no feed. Follow it in the subscription's deliveries (`Location`).
    """
    _may_act(principal, hook)
    event_id = new_id("evt")
    row = WebhookDelivery(
        id=new_id("msg"),
        webhook_id=hook.id,
        event_id=event_id,
        event_type=TEST_TYPE,
        payload=test_payload(hook, event_id, principal.user_id, now),
        state="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(row)
    session.flush()
    response.headers["Location"] = f"/api/v1/webhooks/{hook.id}/deliveries?state=pending"
    return delivery_public(row, [])


@router.post(
    "/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver",
    tags=["webhooks"],
    operation_id="redeliver_webhook_delivery",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=WebhookDeliveryPublic,
    responses={**RESPONSES, **problem_responses(InvalidState)},
)
def redeliver_webhook_delivery(
    webhook_id: WebhookId, delivery_id: DeliveryId, principal: CurrentPrincipal, session: DbSession, now: Now
) -> WebhookDeliveryPublic:
    """Send a finished delivery again (its subscription's owner or an admin): after a receiver's outage
    outlasted the retries, or to replay what a receiver lost.

    The same body and `webhook-id` as before (receivers dedupe by event id or `webhook-id`); it is
    attempted now, then retried on the usual schedule for three days from now. A delivery still
    pending is refused (409 `invalid_state`): it will be attempted anyway.
    """
    # Loaded here, not by VisibleWebhook: the document lists a route's own path parameters before its
    # dependencies', and this route's are webhook_id, then delivery_id.
    hook = load_webhook(session, principal, webhook_id)
    _may_act(principal, hook)
    row = session.execute(
        sa.select(WebhookDelivery).where(
            col(WebhookDelivery.id) == delivery_id, col(WebhookDelivery.webhook_id) == hook.id
        )
    ).scalar_one_or_none()
    if row is None:
        raise NotFound()
    if row.state == "pending":
        raise InvalidState(Text("该投递尚在进行，无需重新投递", "The delivery is still pending: it will be attempted"))
    row.state = "pending"
    row.next_attempt_at = now
    row.retry_from = now
    row.completed_at = None
    row.lease_token = None
    session.flush()
    return delivery_public(row, attempts_of(session, [row.id])[row.id])
