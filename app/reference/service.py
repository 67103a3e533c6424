"""Reference lists: the provinces (recommenders by region) and the calls for applications."""

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlmodel import col

from app.auth.caller import Principal, Role, require_role
from app.core.concurrency import compare_and_set
from app.core.errors import Duplicate, FieldError, NotFound
from app.core.i18n import Text
from app.core.ids import new_id
from app.core.invalid import invalid
from app.core.merge_patch import refuse_nulls
from app.core.outbox import record_event
from app.organizations.models import Organization
from app.reference import data
from app.reference.models import Call
from app.reference.schemas import CallCreate, CallUpdate, ProvincePublic
from app.reference.seed import DEFAULT_ATTACHMENT_RULES

_NAMES = {code: (name, name_en) for code, name, name_en in [*data.PROVINCES, data.XPCC]}


def provinces(session: Session) -> list[ProvincePublic]:
    """The 32 recommenders by region: 31 provinces (GB/T 2260) and XPCC (pseudo-code 660000)."""
    bureaus = session.execute(
        sa.select(Organization).where(col(Organization.recommender_kind) == "province").order_by(col(Organization.key))
    ).scalars()
    return [
        ProvincePublic(
            code=o.key or o.province_code,
            name=_NAMES[o.province_code][0],
            name_en=_NAMES[o.province_code][1],
            recommender_id=o.id,
            recommender_name=o.name,
        )
        for o in bureaus
        if o.province_code in _NAMES
    ]


def calls(session: Session) -> list[Call]:
    """Every call, newest first."""
    return list(session.execute(sa.select(Call).order_by(col(Call.issue_date).desc(), col(Call.id))).scalars())


def load_call(session: Session, call_id: str) -> Call:
    call = session.get(Call, call_id)
    if call is None:
        raise NotFound()
    return call


def create_call(session: Session, principal: Principal, body: CallCreate, now: datetime) -> Call:
    """Open a new call (office); catalogue, conditions and sections are copied from an earlier call."""
    require_role(principal, Role.office)
    if session.execute(sa.select(col(Call.id)).where(col(Call.key) == body.key)).first():
        raise Duplicate(errors=[FieldError("/key", "duplicate", Text("已存在", "Already exists"))])
    source = (
        session.get(Call, body.copy_from_call_id)
        if body.copy_from_call_id
        else (session.execute(sa.select(Call).where(col(Call.key) == data.NINTH_CALL_KEY)).scalar_one_or_none())
    )
    if body.copy_from_call_id and source is None:
        raise invalid("/copy_from_call_id", "unknown_call", Text("征集批次不存在", "No such call"))
    call = Call(
        id=new_id("call"),
        key=body.key,
        name=body.name,
        name_en=body.name_en,
        notice_number=body.notice_number,
        issue_date=body.issue_date,
        deadline=body.deadline.astimezone(UTC),
        catalogue=source.catalogue if source else data.CATALOGUE_9TH,
        conditions=source.conditions if source else data.CONDITIONS_9TH,
        sections=source.sections if source else data.SECTIONS_9TH,
        attachment_rules=source.attachment_rules if source else DEFAULT_ATTACHMENT_RULES,
        quota_per_recommender=body.quota_per_recommender,
        # A round copied from a practice call is practice too (its lists get practice tracking numbers).
        is_practice=source.is_practice if source else False,
        created_at=now,
        updated_at=now,
    )
    session.add(call)
    session.flush()
    record_event(
        session,
        "call.created",
        call,
        actor_id=principal.user_id,
        now=now,
        data={"key": call.key, "deadline": call.deadline.isoformat()},
    )
    return call


def call_to_update(session: Session, principal: Principal, call_id: str) -> Call:
    """The call an update names, for the office (403 for anyone else, 404 for an unknown call)."""
    require_role(principal, Role.office)
    return load_call(session, call_id)


def update_call(
    session: Session, principal: Principal, call: Call, body: CallUpdate, version: int, now: datetime
) -> Call:
    """Extend or change a call's deadline or quota if the call is still at ``version`` (412 otherwise); the
    change and its reason are audited."""
    refuse_nulls(body, "deadline")
    values: dict[str, Any] = {}
    audit: dict[str, Any] = {"reason": body.reason}
    if body.deadline is not None:
        values["deadline"] = body.deadline.astimezone(UTC)
        audit.update(previous_deadline=call.deadline.isoformat(), deadline=values["deadline"].isoformat())
    if "quota_per_recommender" in body.model_fields_set:
        values["quota_per_recommender"] = body.quota_per_recommender
        audit.update(previous_quota=call.quota_per_recommender, quota=body.quota_per_recommender)
    compare_and_set(session, call, version, updated_at=now, **values)
    session.refresh(call)
    record_event(session, "call.updated", call, actor_id=principal.user_id, now=now, data=audit)
    return call
