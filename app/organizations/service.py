"""Organizations: looking them up, registering them (credit code per GB 32100-2015), changing them."""

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlmodel import col

from app.auth.caller import Principal, Role, require_role
from app.core.concurrency import compare_and_set
from app.core.errors import AppError, Duplicate, FieldError, NotFound, ValidationFailed
from app.core.i18n import Text
from app.core.ids import new_id
from app.core.invalid import invalid
from app.core.outbox import record_event
from app.core.pagination import Keyset, fetch_page
from app.organizations.credit_code import CreditCodeCheck, check_credit_code
from app.organizations.models import Organization
from app.organizations.schemas import OrganizationCreate, OrganizationUpdate

BY_ID = Keyset((col(Organization.id),))


def _credit_code_error(code: str, message: Text) -> AppError:
    return ValidationFailed(errors=[FieldError("/credit_code", code, message)])


def list_organizations(
    session: Session,
    *,
    page_size: int,
    page_token: str | None,
    recommender_kind: str | None = None,
    q: str | None = None,
    credit_code: str | None = None,
) -> tuple[list[Organization], str | None]:
    """One page of organizations by id, and the next page's token."""
    query = sa.select(Organization)
    if recommender_kind:
        query = query.where(col(Organization.recommender_kind) == recommender_kind)
    if q:
        query = query.where(col(Organization.name).contains(q, autoescape=True))
    if credit_code:
        query = query.where(col(Organization.credit_code) == credit_code.upper())
    return fetch_page(session, query, BY_ID, page_token, page_size)


def load_organization(session: Session, org_id: str) -> Organization:
    org = session.get(Organization, org_id)
    if org is None:
        raise NotFound()
    return org


def create_organization(
    session: Session, principal: Principal, body: OrganizationCreate, now: datetime
) -> Organization:
    """Register an organization (admin or office)."""
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
    if session.execute(
        sa.select(col(Organization.id)).where(col(Organization.credit_code) == body.credit_code)
    ).first():
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
    return org


def update_fields(principal: Principal, org: Organization, body: OrganizationUpdate) -> dict[str, Any]:
    """The members a PATCH changes, once the caller may change them: admin and office rename or reclassify;
    a recommender's reviewer sets its own internal deadline."""
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
        raise invalid(
            "/internal_deadline",
            "not_a_recommender",
            Text("仅推荐单位可设置内部截止时间", "Only recommenders have an internal deadline"),
        )
    return fields


def update_organization(
    session: Session, principal: Principal, org: Organization, fields: dict[str, Any], version: int, now: datetime
) -> Organization:
    """Store ``update_fields``' changes if the organization is still at ``version`` (412 otherwise)."""
    compare_and_set(session, org, version, updated_at=now, **fields)
    session.refresh(org)  # as stored: enumerations and timestamps in their column types
    record_event(
        session,
        "organization.updated",
        org,
        actor_id=principal.user_id,
        organization_id=org.id,
        data={"fields": sorted(fields)},
        now=now,
    )
    return org
