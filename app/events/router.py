"""Endpoints of the events package: the change feed and webhook subscriptions."""

import re
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Query, Response, status
from sqlmodel import col

from app import examples as ex
from app.accounts.models import User
from app.accounts.principal import CurrentPrincipal
from app.core.deps import AppSettings, DbSession, Now
from app.core.errors import (
    AppError,
    FieldError,
    Forbidden,
    NotAuthenticated,
    NotFound,
    ValidationFailed,
    problem_responses,
)
from app.core.i18n import Text
from app.core.ids import new_id
from app.core.pagination import Keyset, Page, PageSize, PageToken, fetch_page
from app.core.route_facts import IdFrom, facts
from app.events.access import unknown_type_errors
from app.events.feed import CursorAhead, CursorExpired, decode_cursor, log_bounds, read_feed
from app.events.models import Webhook, WebhookDelivery
from app.events.schemas import (
    APPLICATION_ID_PATTERN,
    BATCH_ID_PATTERN,
    EVENT_TYPE_PATTERN,
    EVENT_TYPES_FILTER_PATTERN,
    FEED_PAGE_SIZE,
    EventPage,
    WebhookCreate,
    WebhookCreated,
    WebhookDeliveryPublic,
    WebhookPublic,
)
from app.events.webhook_actions import router as actions
from app.events.webhook_views import VisibleWebhook, attempts_of, delivery_public, webhook_public
from app.events.webhooks import check_url, new_secret

# Path parameters that take the id create_webhook answers with (an OpenAPI link from it).
WEBHOOK_ID = IdFrom("create_webhook", "webhook_id")
router = APIRouter(prefix="/api/v1")
AUTH = problem_responses(NotAuthenticated, ValidationFailed)
WEBHOOKS = Keyset((col(Webhook.id),))
DELIVERIES = Keyset((col(WebhookDelivery.created_at), col(WebhookDelivery.id)), descending=True)  # newest first


class TooManyWebhooks(AppError):
    status = 409
    code = "too_many_webhooks"
    title = Text("订阅数量已达上限", "Too many webhooks")


def _types(types: str | None) -> list[str]:
    names = [t.strip() for t in (types or "").split(",") if t.strip()]
    if len(names) > 50 or any(not re.fullmatch(EVENT_TYPE_PATTERN, t) or len(t) > 64 for t in names):
        raise ValidationFailed(
            errors=[
                FieldError(
                    "query:/types",
                    "invalid_event_types",
                    Text(
                        "事件类型应为逗号分隔的类型名（如 application.state_changed 或 application.*），至多 50 个",
                        "Event types must be comma-separated type names (e.g. application.state_changed or application.*), at most 50",
                    ),
                )
            ]
        )
    unknown = unknown_type_errors(names, "query:/types", indexed=False)
    if unknown:
        raise ValidationFailed(errors=unknown[:1])
    return names


@router.get(
    "/events",
    tags=["events"],
    operation_id="list_events",
    response_model=EventPage,
    responses={**AUTH, **problem_responses(CursorAhead, CursorExpired)},
)
def list_events(
    principal: CurrentPrincipal,
    session: DbSession,
    after: Annotated[
        str | None,
        Query(
            max_length=64,
            description=(
                "`next_cursor` of the previous page (or an event's `cursor`, or the id of the last event processed); "
                "omit to start at the oldest event kept"
            ),
        ),
    ] = None,
    # The pattern is the document's; the router's own check answers with invalid_event_types.
    types: Annotated[
        str | None,
        Query(
            max_length=2000,
            json_schema_extra={"pattern": EVENT_TYPES_FILTER_PATTERN},
            description=(
                "Comma-separated event types; `application.*` selects a family, `*` all. A name that is no "
                "event type, or a family that matches none, is refused (422 `unknown_event_type`)"
            ),
        ),
    ] = None,
    page_size: Annotated[
        int, Query(ge=1, le=FEED_PAGE_SIZE, description=(f"Events per page (default and max {FEED_PAGE_SIZE})"))
    ] = FEED_PAGE_SIZE,
    application_id: Annotated[
        str | None,
        Query(
            max_length=32,
            pattern=APPLICATION_ID_PATTERN,
            description=(
                "Only the history of this application (申报) as the caller received it: its creation, edits, "
                "sign-offs, reviews, attachments and state changes, read from the start (or from `after`). An "
                "application the caller never saw gives an empty page, as an unknown id does"
            ),
        ),
    ] = None,
    batch_id: Annotated[
        str | None,
        Query(
            max_length=32,
            pattern=BATCH_ID_PATTERN,
            description=(
                "Only the events of this list (推荐清单) and of the applications now in it, read from the start "
                "(or from `after`); with `application_id`, the events matching both. A list the caller cannot "
                "see (the office before it is submitted, an applicant always) gives an empty page, as an "
                "unknown id does"
            ),
        ),
    ] = None,
) -> EventPage:
    """The change feed: every event the caller may read, in commit order, after a cursor.

    Store `next_cursor` once the page is processed and pass it back as `after`: no event is ever
    skipped, even when the transactions that wrote them committed in another order than they began.

    A caller receives every event it may read, when it may first read it: when an application (or
    a list) becomes visible to it (a province at the applicant's submission, the office when the list
    is submitted), its earlier events join the caller's feed at that moment, in order, ahead of its
    cursor. What it received stays in its feed. Webhooks deliver exactly this feed.

    Delivery is **at least once** (a page read again from an older cursor): dedupe by event `id`.
    Event types are an open set across versions (a newer type parses as `UnknownEvent`); `types`
    naming no known type is refused (422 `unknown_event_type`). A cursor ahead of the log (a database
    restored from a backup) answers 409 `cursor_ahead`; one into events pruned by retention, 410
    `cursor_expired`: rebuild the mirror (docs/change-feed.md).
    """
    return read_feed(
        session,
        principal,
        decode_cursor(session, after, principal),
        _types(types),
        page_size,
        application_id=application_id,
        batch_id=batch_id,
    )


@router.post(
    "/webhooks",
    tags=["webhooks"],
    operation_id="create_webhook",
    openapi_extra=facts(examples=ex.CREATE_WEBHOOK, location=True),
    status_code=status.HTTP_201_CREATED,
    response_model=WebhookCreated,
    responses={**AUTH, **problem_responses(TooManyWebhooks)},
)
def create_webhook(
    body: WebhookCreate,
    principal: CurrentPrincipal,
    session: DbSession,
    settings: AppSettings,
    now: Now,
    response: Response,
) -> WebhookCreated:
    """Subscribe an address to events (any signed-in user). It receives only events its owner may see.

    It delivers exactly its owner's change feed from now on, at the same moment (the payload of each
    type: the document's `webhooks`). Deliveries are signed per Standard Webhooks (`webhook-id`,
    `webhook-timestamp`, `webhook-signature`) with the `secret` returned here, once. Delivery is **at
    least once**: dedupe by the event id (`data.id`) or `webhook-id`. Failed deliveries are retried with
    growing delays for up to three days. `event_types` naming no event type are refused (422
    `unknown_event_type` at `/event_types/<i>`). A user has at most `SMPS_MAX_WEBHOOKS_PER_USER`
    subscriptions (10 by default).
    """
    unknown = unknown_type_errors(body.event_types, "/event_types", indexed=True)
    if unknown:
        raise ValidationFailed(errors=unknown)
    check_url(body.url, settings.webhook_allowed_hosts)
    _check_webhook_quota(session, principal.user_id, settings.max_webhooks_per_user)
    row = Webhook(
        id=new_id("whk"),
        owner_id=principal.user_id,
        organization_id=principal.organization_id,
        url=body.url,
        event_types=sorted(set(body.event_types)),
        description=body.description,
        secret=new_secret(),
        start_seq=log_bounds(session)[0],
        created_at=now,
    )
    session.add(row)
    session.flush()
    response.headers["Location"] = f"/api/v1/webhooks/{row.id}"
    return WebhookCreated(**webhook_public(row).model_dump(), secret=row.secret)


def _check_webhook_quota(session: sa.orm.Session, user_id: str, limit: int) -> None:
    # The user's row is locked first (PostgreSQL; SQLite writers are serialized anyway), so two concurrent
    # subscriptions cannot both take the last place.
    session.execute(sa.select(col(User.id)).where(col(User.id) == user_id).with_for_update())
    count = session.execute(
        sa.select(sa.func.count())
        .select_from(Webhook)
        .where(col(Webhook.owner_id) == user_id, col(Webhook.deleted_at).is_(None))
    ).scalar_one()
    if count >= limit:
        raise TooManyWebhooks(
            Text(
                "每个用户至多 {limit} 个订阅，请先删除不用的订阅",
                "At most {limit} webhooks per user: delete one you no longer use first",
            ),
            limit=limit,
            extra={"max_webhooks": limit},
        )


@router.get(
    "/webhooks", tags=["webhooks"], operation_id="list_webhooks", response_model=Page[WebhookPublic], responses=AUTH
)
def list_webhooks(
    principal: CurrentPrincipal,
    session: DbSession,
    page_size: PageSize = 50,
    page_token: PageToken = None,
) -> Page[WebhookPublic]:
    """The subscriptions of the caller's organization (an admin sees all)."""
    query = sa.select(Webhook).where(col(Webhook.deleted_at).is_(None))
    if not principal.is_admin:
        query = query.where(col(Webhook.organization_id) == principal.organization_id)
    rows, token = fetch_page(session, query, WEBHOOKS, page_token, page_size)
    return Page(items=[webhook_public(r) for r in rows], next_page_token=token)


@router.get(
    "/webhooks/{webhook_id}",
    tags=["webhooks"],
    operation_id="get_webhook",
    openapi_extra=facts(id_from=WEBHOOK_ID),
    response_model=WebhookPublic,
    responses={**AUTH, **problem_responses(NotFound)},
)
def get_webhook(hook: VisibleWebhook) -> WebhookPublic:
    """One webhook subscription of the caller's organization (its secret is shown only when created)."""
    return webhook_public(hook)


@router.delete(
    "/webhooks/{webhook_id}",
    tags=["webhooks"],
    operation_id="delete_webhook",
    openapi_extra=facts(id_from=WEBHOOK_ID),
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**AUTH, **problem_responses(Forbidden, NotFound)},
)
def delete_webhook(row: VisibleWebhook, principal: CurrentPrincipal, session: DbSession, now: Now) -> Response:
    """Unsubscribe (its owner or an admin); deliveries not yet made are cancelled."""
    if row.owner_id != principal.user_id and not principal.is_admin:
        raise Forbidden(
            Text("只有订阅的创建者或管理员可以删除它", "Only the subscription's owner or an admin may delete it")
        )
    row.deleted_at = now
    session.execute(
        sa.update(WebhookDelivery)
        .where(col(WebhookDelivery.webhook_id) == row.id, col(WebhookDelivery.state) == "pending")
        .values(state="cancelled", next_attempt_at=None, lease_token=None, completed_at=now)
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/webhooks/{webhook_id}/deliveries",
    tags=["webhooks"],
    operation_id="list_webhook_deliveries",
    openapi_extra=facts(id_from=WEBHOOK_ID),
    response_model=Page[WebhookDeliveryPublic],
    responses={**AUTH, **problem_responses(NotFound)},
)
def list_webhook_deliveries(
    hook: VisibleWebhook,
    session: DbSession,
    page_size: PageSize = 50,
    page_token: PageToken = None,
    state: Annotated[
        str | None,
        Query(pattern="^(pending|succeeded|failed|cancelled)$", description="Only the deliveries in this state"),
    ] = None,
) -> Page[WebhookDeliveryPublic]:
    """The deliveries of one subscription, newest first, each with its attempts and the next one due."""
    query = sa.select(WebhookDelivery).where(col(WebhookDelivery.webhook_id) == hook.id)
    if state:
        query = query.where(col(WebhookDelivery.state) == state)
    rows, token = fetch_page(session, query, DELIVERIES, page_token, page_size)
    attempts = attempts_of(session, [r.id for r in rows])
    items = [delivery_public(r, attempts[r.id]) for r in rows]
    return Page(items=items, next_page_token=token)


router.include_router(actions)
