"""Endpoints: provinces and calls (public reference lists; the office manages calls)."""

from datetime import UTC

import sqlalchemy as sa
from fastapi import APIRouter, Response, status

from app.accounts.models import Role
from app.accounts.principal import CurrentPrincipal, require_role
from app.core.clock import BEIJING
from app.core.deps import DbSession, IfMatch, Now, etag, require_version
from app.core.errors import (
    Duplicate,
    FieldError,
    Forbidden,
    NotAuthenticated,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    ValidationFailed,
    problem_responses,
)
from app.core.i18n import Text
from app.core.ids import new_id
from app.core.outbox import record_event
from app.organizations.models import Organization
from app.reference import data
from app.reference.models import Call
from app.reference.schemas import CallCreate, CallPublic, CallSummary, CallUpdate, ProvincePublic
from app.reference.seed import DEFAULT_ATTACHMENT_RULES

router = APIRouter(prefix="/api/v1", tags=["reference"])
_NAMES = {code: (name, name_en) for code, name, name_en in [*data.PROVINCES, data.XPCC]}


def _call_public(call: Call) -> CallPublic:
    public = CallPublic.model_validate(call, from_attributes=True)
    public.deadline = public.deadline.astimezone(BEIJING)
    return public


@router.get("/provinces", operation_id="list_provinces", response_model=list[ProvincePublic])
def list_provinces(session: DbSession) -> list[ProvincePublic]:
    """The 32 recommenders by region: 31 provinces (GB/T 2260) and XPCC (pseudo-code 660000)."""
    bureaus = session.execute(
        sa.select(Organization).where(Organization.recommender_kind == "province").order_by(Organization.key)
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


@router.get("/calls", operation_id="list_calls", response_model=list[CallSummary])
def list_calls(session: DbSession) -> list[CallSummary]:
    """Every call for applications, newest first."""
    calls = session.execute(sa.select(Call).order_by(Call.issue_date.desc(), Call.id)).scalars()  # type: ignore[attr-defined]
    return [CallSummary.model_validate(_call_public(c).model_dump()) for c in calls]


@router.get(
    "/calls/{call_id}",
    operation_id="get_call",
    response_model=CallPublic,
    responses=problem_responses(NotFound, ValidationFailed),
)
def get_call(call_id: str, session: DbSession, response: Response) -> CallPublic:
    """A call with its domain catalogue, eligibility conditions, form sections and deadline."""
    call = session.get(Call, call_id)
    if call is None:
        raise NotFound()
    response.headers["ETag"] = etag(call.version)
    return _call_public(call)


@router.post(
    "/calls",
    operation_id="create_call",
    status_code=status.HTTP_201_CREATED,
    response_model=CallPublic,
    responses=problem_responses(NotAuthenticated, Forbidden, Duplicate, ValidationFailed),
)
def create_call(
    body: CallCreate, principal: CurrentPrincipal, session: DbSession, now: Now, response: Response
) -> CallPublic:
    """Open a new call (office). Catalogue, conditions and sections are copied from an earlier call."""
    require_role(principal, Role.office)
    if session.execute(sa.select(Call.id).where(Call.key == body.key)).first():
        raise Duplicate(errors=[FieldError("/key", "duplicate", Text("已存在", "Already exists"))])
    source = (
        session.get(Call, body.copy_from_call_id)
        if body.copy_from_call_id
        else (session.execute(sa.select(Call).where(Call.key == data.NINTH_CALL_KEY)).scalar_one_or_none())
    )
    if body.copy_from_call_id and source is None:
        raise ValidationFailed(
            errors=[FieldError("/copy_from_call_id", "unknown_call", Text("征集批次不存在", "No such call"))]
        )
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
    response.headers["ETag"] = etag(call.version)
    return _call_public(call)


@router.patch(
    "/calls/{call_id}",
    operation_id="update_call",
    response_model=CallPublic,
    responses=problem_responses(
        NotAuthenticated, Forbidden, NotFound, PreconditionFailed, PreconditionRequired, ValidationFailed
    ),
)
def update_call(
    call_id: str,
    body: CallUpdate,
    principal: CurrentPrincipal,
    session: DbSession,
    now: Now,
    response: Response,
    if_match: IfMatch = None,
) -> CallPublic:
    """Extend or change a call's deadline or quota (office; If-Match). The change and its reason are audited."""
    require_role(principal, Role.office)
    call = session.get(Call, call_id)
    if call is None:
        raise NotFound()
    version = require_version(call.version, if_match)
    values: dict = {"updated_at": now, "version": version + 1}
    audit: dict = {"reason": body.reason}
    if body.deadline is not None:
        values["deadline"] = body.deadline.astimezone(UTC)
        audit.update(previous_deadline=call.deadline.isoformat(), deadline=values["deadline"].isoformat())
    if "quota_per_recommender" in body.model_fields_set:
        values["quota_per_recommender"] = body.quota_per_recommender
        audit.update(previous_quota=call.quota_per_recommender, quota=body.quota_per_recommender)
    if (
        session.execute(sa.update(Call).where(Call.id == call_id, Call.version == version).values(**values)).rowcount
        != 1
    ):
        raise PreconditionFailed()
    session.refresh(call)
    record_event(session, "call.updated", call, actor_id=principal.user_id, now=now, data=audit)
    response.headers["ETag"] = etag(call.version)
    return _call_public(call)
