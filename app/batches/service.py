"""Recommended lists: who sees them, building the ranked list, submission, office actions, receipts."""

from datetime import datetime
from typing import cast

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlmodel import col

from app.accounts.models import Role
from app.accounts.principal import Principal, require_role
from app.applications.actions import take_step
from app.applications.models import Endorsement
from app.applications.schemas import StateName
from app.applications.states import State
from app.batches.events import record_batch_event
from app.batches.issuing import all_receipts as all_receipts
from app.batches.issuing import issue_receipt
from app.batches.issuing import latest_receipt as latest_receipt
from app.batches.items import items_of as items_of  # read from here by the documents package
from app.batches.keystore import Signer
from app.batches.models import (
    OFFICE_VISIBLE_BATCH_STATES,
    Batch,
    BatchState,
    Receipt,
)
from app.batches.schemas import BatchItemPublic, BatchPublic, BatchStepName
from app.batches.transitions import apply_batch_step, check_batch_guards
from app.batches.workflow import (
    INITIAL_BATCH_STATE,
    BatchActor,
    available_batch_actions,
)
from app.core.errors import (
    AppError,
    Duplicate,
    FieldError,
    Forbidden,
    NotFound,
)
from app.core.i18n import Text
from app.core.ids import new_id
from app.core.invalid import invalid
from app.reference.models import Call


class BatchEmpty(AppError):
    status = 422
    code = "batch_empty"
    title = Text("推荐清单为空", "The recommended list is empty")


class BatchItemsNotReady(AppError):
    status = 422
    code = "batch_items_not_ready"
    title = Text("清单中有申请不是“已推荐”状态", "An application on the list is not in state recommended")


class UnverifiedPaperEndorsement(AppError):
    status = 422
    code = "unverified_paper_endorsement"
    title = Text("存在未核验的纸质签署", "A paper sign-off has not been verified")


class ReceiptKeysUnavailable(AppError):
    status = 503
    code = "receipt_keys_unavailable"
    title = Text(
        "没有可用的回执签名密钥，暂不能报送", "No receipt signing key is available; submission is not possible now"
    )


def batch_visibility(principal: Principal) -> sa.ColumnElement[bool]:
    """A WHERE clause selecting the batches ``principal`` may see."""
    if principal.is_admin:
        return sa.true()
    clauses: list[sa.ColumnElement[bool]] = []
    if principal.is_recommender_reviewer:
        clauses.append(col(Batch.recommender_id) == principal.organization_id)
    if principal.has(Role.office):
        clauses.append(col(Batch.state).in_(OFFICE_VISIBLE_BATCH_STATES))
    return sa.or_(*clauses) if clauses else sa.false()


def load_visible_batch(session: Session, principal: Principal, batch_id: str) -> Batch:
    batch = session.execute(
        sa.select(Batch).where(col(Batch.id) == batch_id, batch_visibility(principal))
    ).scalar_one_or_none()
    if batch is None:
        raise NotFound()
    return batch


def create_batch(session: Session, principal: Principal, call_id: str, now: datetime) -> Batch:
    if not principal.is_recommender_reviewer:
        require_role(principal, Role.reviewer)
        raise Forbidden(
            Text("只有推荐单位的审核人可创建推荐清单", "Only a reviewer of a recommender creates a list"),
            extra={"required_roles": [Role.reviewer.value]},
        )
    if session.get(Call, call_id) is None:
        raise invalid("/call_id", "unknown_call", Text("征集批次不存在", "No such call"))
    exists = session.execute(
        sa.select(col(Batch.id)).where(
            col(Batch.call_id) == call_id, col(Batch.recommender_id) == principal.organization_id
        )
    ).first()
    if exists is not None:
        raise Duplicate(
            Text("本单位在该征集批次已有推荐清单", "Your organization already has a list for this call"),
            extra={"batch_id": exists[0]},
        )
    batch = Batch(
        id=new_id("bat"),
        call_id=call_id,
        recommender_id=principal.organization_id,
        state=INITIAL_BATCH_STATE,
        created_by=principal.user_id,
        created_at=now,
        updated_at=now,
    )
    session.add(batch)
    session.flush()
    record_batch_event(session, "batch.created", batch, now, principal.user_id)
    return batch


def transition(
    session: Session,
    principal: Principal,
    batch: Batch,
    action: str,
    comment: str | None,
    version: int,
    now: datetime,
    signers: list[Signer],
) -> None:
    if action == "submit":
        submit(session, principal, batch, version, now, signers)
    elif action == "acknowledge":
        step = check_batch_guards(session, principal, batch, action, now=now, comment=comment)
        apply_batch_step(
            session, principal, batch, step, version=version, now=now, comment=comment, acknowledged_at=now
        )
        record_batch_event(session, "batch.acknowledged", batch, now, principal.user_id)
    else:
        return_batch(session, principal, batch, comment, version, now)


def submit(
    session: Session, principal: Principal, batch: Batch, version: int, now: datetime, signers: list[Signer]
) -> Receipt:
    """Submit the list: lock it and its applications, and issue a signed receipt — all or nothing."""
    step = check_batch_guards(session, principal, batch, "submit", now=now)
    call = session.get(Call, batch.call_id)
    assert call is not None
    # The batch first, before its items are read: a concurrent submission loses here (412) rather than
    # finding the applications the winner has just submitted; a refusal below rolls this back.
    apply_batch_step(session, principal, batch, step, version=version, now=now, submitted_at=now, return_comment=None)
    rows = items_of(session, batch.id)
    if not rows:
        raise BatchEmpty(
            Text("请先列入至少一个已推荐的申请", "Put at least one recommended application on the list first")
        )
    not_ready = [
        FieldError(
            f"/items/{i}/application_id",
            "not_recommended",
            Text("该申请不是“已推荐”状态", "The application is not in state recommended"),
        )
        for i, (_, a) in enumerate(rows)
        if a.state != State.recommended
    ]
    if not_ready:
        raise BatchItemsNotReady(errors=not_ready)
    position = {a.id: i for i, (_, a) in enumerate(rows)}
    unverified = (
        session.execute(
            sa.select(col(Endorsement.application_id))
            .where(
                col(Endorsement.application_id).in_(position),
                col(Endorsement.mode) == "paper",
                col(Endorsement.voided_at).is_(None),
                sa.or_(col(Endorsement.verification).is_(None), col(Endorsement.verification) != "confirmed"),
            )
            .distinct()
        )
        .scalars()
        .all()
    )
    if unverified:
        raise UnverifiedPaperEndorsement(
            Text(
                "纸质签署须经推荐单位核验确认后方可报送",
                "Paper sign-offs must be confirmed by the recommender before submission",
            ),
            errors=[
                FieldError(
                    f"/items/{position[a]}/application_id",
                    "unverified_paper_endorsement",
                    Text("该申请有未确认的纸质签署", "The application has an unconfirmed paper sign-off"),
                )
                for a in sorted(unverified, key=position.__getitem__)
            ],
        )
    for _, application in rows:
        take_step(session, principal, application, "batch_submitted", version=application.version, now=now)
    receipt = issue_receipt(session, batch, call, rows, now, signers)
    record_batch_event(
        session,
        "batch.submitted",
        batch,
        now,
        principal.user_id,
        tracking_number=receipt.tracking_number,
        item_count=len(rows),
    )
    return receipt


def return_batch(
    session: Session, principal: Principal, batch: Batch, comment: str | None, version: int, now: datetime
) -> None:
    """The office returns a submitted list (退回) before the deadline; its applications go back to recommended."""
    step = check_batch_guards(session, principal, batch, "return", now=now, comment=comment)
    apply_batch_step(session, principal, batch, step, version=version, now=now, comment=comment, return_comment=comment)
    for _, application in items_of(session, batch.id):
        if application.state == State.submitted:
            take_step(
                session,
                principal,
                application,
                "batch_returned",
                version=application.version,
                now=now,
                comment=comment,
            )
    record_batch_event(session, "batch.returned", batch, now, principal.user_id)


def allowed_actions(principal: Principal, batch: Batch) -> list[str]:
    """The workflow table's steps open to the caller (app.batches.workflow)."""
    actors: set[BatchActor] = set()
    if principal.is_recommender_reviewer and principal.organization_id == batch.recommender_id:
        actors.add(BatchActor.owner)
    if principal.has(Role.office):
        actors.add(BatchActor.office)
    return available_batch_actions(batch.state, actors)


def to_public(session: Session, principal: Principal, batch: Batch) -> BatchPublic:
    latest = latest_receipt(session, batch.id)
    return BatchPublic(
        id=batch.id,
        call_id=batch.call_id,
        recommender_id=batch.recommender_id,
        state=BatchState(batch.state),
        version=batch.version,
        return_comment=batch.return_comment,
        items=[
            BatchItemPublic(
                rank=item.rank,
                application_id=a.id,
                title=a.title,
                state=cast(StateName, a.state),
                domain_area=a.domain_area,
                content_digest=a.content_digest,
            )
            for item, a in items_of(session, batch.id, principal)
        ],
        tracking_number=latest.tracking_number if latest else None,
        allowed_actions=cast(list[BatchStepName], allowed_actions(principal, batch)),
        created_at=batch.created_at,
        updated_at=batch.updated_at,
        submitted_at=batch.submitted_at,
        acknowledged_at=batch.acknowledged_at,
    )
