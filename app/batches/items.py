"""The ranked items of a recommended list: reading them, and replacing them (ranks 1..n, each a
recommended application of the list's recommender and call, within the call's quota)."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlmodel import col

from app.accounts.principal import Principal
from app.applications.access import visibility_filter
from app.applications.models import Application
from app.applications.states import State
from app.batches.events import record_batch_event
from app.batches.models import Batch, BatchItem
from app.batches.schemas import ItemsPut
from app.batches.transitions import apply_batch_step, check_batch_guards
from app.core.errors import AppError, FieldError, NotFound, ValidationFailed
from app.core.i18n import Text
from app.reference.models import Call


class QuotaExceeded(AppError):
    status = 422
    code = "quota_exceeded"
    title = Text("超出推荐名额", "Over the recommender's quota")


def items_of(
    session: Session, batch_id: str, principal: Principal | None = None
) -> list[tuple[BatchItem, Application]]:
    """The ranked items; with ``principal``, only those it may see (the office does not see, on a
    list it returned, the applications the recommender put on it since)."""
    query = (
        sa.select(BatchItem, Application)
        .join(Application, col(Application.id) == col(BatchItem.application_id))
        .where(col(BatchItem.batch_id) == batch_id)
        .order_by(col(BatchItem.rank))
    )
    if principal is not None:
        query = query.where(visibility_filter(principal))
    rows = session.execute(query).all()
    return [(r[0], r[1]) for r in rows]


def set_items(
    session: Session, principal: Principal, batch: Batch, body: ItemsPut, version: int, now: datetime
) -> None:
    """Replace the ranked list: ranks 1..n, each a recommended application of this recommender and call."""
    step = check_batch_guards(session, principal, batch, "set_items", now=now)
    errors: list[FieldError] = []
    seen_ranks: set[int] = set()
    seen_apps: set[str] = set()
    n = len(body.items)
    for i, item in enumerate(body.items):
        if item.rank in seen_ranks:
            errors.append(FieldError(f"/items/{i}/rank", "duplicate_rank", Text("排名重复", "Duplicate rank")))
        elif item.rank > n:
            errors.append(
                FieldError(
                    f"/items/{i}/rank",
                    "rank_gap",
                    Text("排名须为 1 至 {n} 连续编号", "Ranks must run 1 to {n} without gaps"),
                    (("n", n),),
                )
            )
        seen_ranks.add(item.rank)
        if item.application_id in seen_apps:
            errors.append(
                FieldError(
                    f"/items/{i}/application_id",
                    "duplicate_application",
                    Text("同一申请重复列入", "The application is listed twice"),
                )
            )
        seen_apps.add(item.application_id)
    if errors:
        raise ValidationFailed(errors=errors)
    call = session.get(Call, batch.call_id)
    assert call is not None
    if call.quota_per_recommender is not None and n > call.quota_per_recommender:
        raise QuotaExceeded(
            Text("推荐数量 {n} 超出名额 {quota}", "{n} applications exceed the quota of {quota}"),
            n=n,
            quota=call.quota_per_recommender,
            extra={"quota": call.quota_per_recommender},
            errors=[FieldError("/items", "quota_exceeded", Text("超出推荐名额", "Over the quota"))],
        )
    ids = [item.application_id for item in body.items]
    visible = (
        {
            a.id: a
            for a in session.execute(
                sa.select(Application).where(col(Application.id).in_(ids), visibility_filter(principal))
            ).scalars()
        }
        if ids
        else {}
    )
    for item in body.items:
        application = visible.get(item.application_id)
        if application is None or application.recommender_id != batch.recommender_id:
            raise NotFound()
    for i, item in enumerate(body.items):
        application = visible[item.application_id]
        if application.call_id != batch.call_id:
            errors.append(
                FieldError(
                    f"/items/{i}/application_id",
                    "other_call",
                    Text("该申请属于另一征集批次", "The application belongs to another call"),
                )
            )
        elif application.state != State.recommended:
            errors.append(
                FieldError(
                    f"/items/{i}/application_id",
                    "not_recommended",
                    Text("仅可列入“已推荐”状态的申请", "Only recommended applications can be listed"),
                )
            )
    if errors:
        raise ValidationFailed(errors=errors)
    apply_batch_step(session, principal, batch, step, version=version, now=now)
    session.execute(sa.delete(BatchItem).where(col(BatchItem.batch_id) == batch.id))
    if body.items:
        session.execute(
            sa.insert(BatchItem),
            [{"batch_id": batch.id, "application_id": item.application_id, "rank": item.rank} for item in body.items],
        )
    record_batch_event(session, "batch.items_set", batch, now, principal.user_id, item_count=n)
