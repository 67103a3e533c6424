"""Endpoints: organizations (admin and office manage; every signed-in user can look them up)."""

from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Query, Response, status
from sqlmodel import col

from app.accounts.models import Role
from app.accounts.principal import CurrentPrincipal, require_role
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
from app.core.pagination import Keyset, Page, PageSize, PageToken, keyset_page, keyset_query
from app.events.outbox import record_event
from app.organizations.credit_code import CreditCodeCheck, check_credit_code
from app.organizations.models import Organization
from app.organizations.schemas import OrganizationCreate, OrganizationPublic, OrganizationUpdate

router = APIRouter(prefix="/api/v1/organizations", tags=["organizations"])
AUTH = problem_responses(NotAuthenticated, ValidationFailed)
BY_ID = Keyset((col(Organization.id),))


def _public(org: Organization) -> OrganizationPublic:
    return OrganizationPublic.model_validate(org, from_attributes=True)


def _credit_code_error(code: str, message: Text) -> ValidationFailed:
    return ValidationFailed(errors=[FieldError("/credit_code", code, message)])


@router.get("", operation_id="list_organizations", response_model=Page[OrganizationPublic], responses=AUTH)
def list_organizations(
    principal: CurrentPrincipal,
    session: DbSession,
    page_size: PageSize = 50,
    page_token: PageToken = None,
    recommender_kind: Annotated[str | None, Query(pattern="^(province|member_unit)$")] = None,
    q: Annotated[str | None, Query(max_length=100, description="Name contains")] = None,
    credit_code: Annotated[str | None, Query(max_length=18)] = None,
) -> Page[OrganizationPublic]:
    """Organizations, to name parties and recommenders on an application."""
    query = sa.select(Organization)
    if recommender_kind:
        query = query.where(Organization.recommender_kind == recommender_kind)
    if q:
        query = query.where(Organization.name.contains(q, autoescape=True))  # type: ignore[attr-defined]
    if credit_code:
        query = query.where(Organization.credit_code == credit_code.upper())
    rows, token = keyset_page(
        session.execute(keyset_query(query, BY_ID, page_token, page_size)).scalars().all(), BY_ID, page_size
    )
    return Page(items=[_public(o) for o in rows], next_page_token=token)


@router.post(
    "",
    operation_id="create_organization",
    status_code=status.HTTP_201_CREATED,
    response_model=OrganizationPublic,
    responses={**AUTH, **problem_responses(Forbidden, Duplicate)},
)
def create_organization(
    body: OrganizationCreate, principal: CurrentPrincipal, session: DbSession, now: Now, response: Response
) -> OrganizationPublic:
    """Register an organization (admin or office). The credit code is checked per GB 32100-2015."""
    require_role(principal, Role.admin, Role.office)
    check = check_credit_code(body.credit_code)
    if check is CreditCodeCheck.malformed:
        raise _credit_code_error(
            "invalid_credit_code",
            Text(
                "统一社会信用代码格式不正确（18 位，不含 I、O、Z、S、V）",
                "Malformed unified social credit code (18 characters, no I, O, Z, S, V)",
            ),
        )
    if check is CreditCodeCheck.bad_check_character and not (body.accept_failed_check_character and principal.is_admin):
        raise _credit_code_error(
            "credit_code_check_failed",
            Text("统一社会信用代码校验位错误", "The check character of the unified social credit code is wrong"),
        )
    if session.execute(sa.select(Organization.id).where(Organization.credit_code == body.credit_code)).first():
        raise Duplicate(
            Text("该统一社会信用代码已登记", "An organization with this credit code exists"),
            errors=[FieldError("/credit_code", "duplicate", Text("已登记", "Already registered"))],
        )
    org = Organization(
        id=new_id("org"),
        name=body.name,
        name_en=body.name_en,
        credit_code=body.credit_code,
        credit_code_check_failed=check is CreditCodeCheck.bad_check_character,
        province_code=body.province_code,
        kind=body.kind.value,
        recommender_kind=body.recommender_kind.value if body.recommender_kind else None,
        created_at=now,
        updated_at=now,
    )
    session.add(org)
    session.flush()
    record_event(
        session,
        "organization.created",
        org,
        actor_id=principal.user_id,
        organization_id=org.id,
        data={"name": org.name},
        now=now,
    )
    response.headers["ETag"] = etag(org.version)
    return _public(org)


@router.get(
    "/{org_id}",
    operation_id="get_organization",
    response_model=OrganizationPublic,
    responses={**AUTH, **problem_responses(NotFound)},
)
def get_organization(
    org_id: str, principal: CurrentPrincipal, session: DbSession, response: Response
) -> OrganizationPublic:
    """One organization, with its `ETag` (the If-Match of `PATCH /organizations/{id}`)."""
    org = session.get(Organization, org_id)
    if org is None:
        raise NotFound()
    response.headers["ETag"] = etag(org.version)
    return _public(org)


@router.patch(
    "/{org_id}",
    operation_id="update_organization",
    response_model=OrganizationPublic,
    responses={**AUTH, **problem_responses(Forbidden, NotFound, PreconditionFailed, PreconditionRequired)},
)
def update_organization(
    org_id: str,
    body: OrganizationUpdate,
    principal: CurrentPrincipal,
    session: DbSession,
    now: Now,
    response: Response,
    if_match: IfMatch = None,
) -> OrganizationPublic:
    """Rename or reclassify an organization (admin, office); a recommender's reviewer sets its internal deadline."""
    org = session.get(Organization, org_id)
    if org is None:
        raise NotFound()
    fields = body.model_dump(exclude_unset=True)
    cleared = [name for name in ("name", "kind") if name in fields and fields[name] is None]
    if cleared:  # these may change but never be emptied (null clears only name_en and internal_deadline)
        raise ValidationFailed(
            errors=[FieldError(f"/{name}", "required", Text("不能为空", "Cannot be null")) for name in cleared]
        )
    own_deadline_only = set(fields) <= {"internal_deadline"} and org.id == principal.organization_id
    if not (own_deadline_only and principal.has(Role.reviewer) and org.recommender_kind):
        require_role(principal, Role.admin, Role.office)
    if "internal_deadline" in fields and not org.recommender_kind:
        raise ValidationFailed(
            errors=[
                FieldError(
                    "/internal_deadline",
                    "not_a_recommender",
                    Text("仅推荐单位可设置内部截止时间", "Only recommenders have an internal deadline"),
                )
            ]
        )
    version = require_version(org.version, if_match)
    fields.update(updated_at=now, version=version + 1)
    done = session.execute(
        sa.update(Organization).where(Organization.id == org_id, Organization.version == version).values(**fields)
    ).rowcount
    if done != 1:
        raise PreconditionFailed()
    session.refresh(org)
    record_event(
        session,
        "organization.updated",
        org,
        actor_id=principal.user_id,
        organization_id=org.id,
        data={"fields": sorted(set(fields) - {"updated_at", "version"})},
        now=now,
    )
    response.headers["ETag"] = etag(org.version)
    return _public(org)
