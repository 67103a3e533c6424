"""Endpoints: organizations (admin and office manage; every signed-in user can look them up)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response, status

from app import examples as ex
from app.auth.caller import CurrentPrincipal
from app.core.deps import DbSession, IfMatch, Now, etag, require_version
from app.core.errors import (
    Duplicate,
    Forbidden,
    NotAuthenticated,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    ValidationFailed,
    problem_responses,
)
from app.core.pagination import Page, PageSize, PageToken
from app.core.route_facts import IdFrom, facts
from app.organizations import service
from app.organizations.models import Organization
from app.organizations.schemas import OrganizationCreate, OrganizationPublic, OrganizationUpdate

# Path parameters that take the id create_organization answers with (an OpenAPI link from it).
ORG_ID = IdFrom("create_organization", "org_id")
router = APIRouter(prefix="/api/v1/organizations", tags=["organizations"])
OrgId = Annotated[str, Path(description="Organization id")]
AUTH = problem_responses(NotAuthenticated, ValidationFailed)


def _organization(principal: CurrentPrincipal, session: DbSession, org_id: OrgId) -> Organization:
    """Every signed-in user may look an organization up: the row, or 404."""
    return service.load_organization(session, org_id)


VisibleOrganization = Annotated[Organization, Depends(_organization)]


def _public(org: Organization) -> OrganizationPublic:
    return OrganizationPublic.model_validate(org, from_attributes=True)


def _tagged(org: Organization, response: Response) -> OrganizationPublic:
    """One organization answered with its version as the ETag (the If-Match of its PATCH)."""
    response.headers["ETag"] = etag(org.version)
    return _public(org)


@router.get("", operation_id="list_organizations", response_model=Page[OrganizationPublic], responses=AUTH)
def list_organizations(
    principal: CurrentPrincipal,
    session: DbSession,
    page_size: PageSize = 50,
    page_token: PageToken = None,
    recommender_kind: Annotated[
        str | None,
        Query(pattern="^(province|member_unit)$", description="Only recommenders (推荐单位) of this kind"),
    ] = None,
    q: Annotated[str | None, Query(max_length=100, description="Name contains")] = None,
    credit_code: Annotated[
        str | None, Query(max_length=18, description="统一社会信用代码: the organization with this code")
    ] = None,
) -> Page[OrganizationPublic]:
    """Organizations, to name parties and recommenders on an application."""
    rows, token = service.list_organizations(
        session,
        page_size=page_size,
        page_token=page_token,
        recommender_kind=recommender_kind,
        q=q,
        credit_code=credit_code,
    )
    return Page(items=[_public(o) for o in rows], next_page_token=token)


@router.post(
    "",
    operation_id="create_organization",
    openapi_extra=facts(examples=ex.CREATE_ORGANIZATION, etag=True),
    status_code=status.HTTP_201_CREATED,
    response_model=OrganizationPublic,
    responses={**AUTH, **problem_responses(Forbidden, Duplicate)},
)
def create_organization(
    body: OrganizationCreate, principal: CurrentPrincipal, session: DbSession, now: Now, response: Response
) -> OrganizationPublic:
    """Register an organization (admin or office). The credit code is checked per GB 32100-2015."""
    org = service.create_organization(session, principal, body, now)
    return _tagged(org, response)


@router.get(
    "/{org_id}",
    operation_id="get_organization",
    openapi_extra=facts(etag=True, id_from=ORG_ID),
    response_model=OrganizationPublic,
    responses={**AUTH, **problem_responses(NotFound)},
)
def get_organization(org: VisibleOrganization, response: Response) -> OrganizationPublic:
    """One organization, with its `ETag` (the If-Match of `PATCH /organizations/{id}`)."""
    return _tagged(org, response)


@router.patch(
    "/{org_id}",
    operation_id="update_organization",
    openapi_extra=facts(examples=ex.UPDATE_ORGANIZATION, etag=True, id_from=ORG_ID),
    response_model=OrganizationPublic,
    responses={**AUTH, **problem_responses(Forbidden, NotFound, PreconditionFailed, PreconditionRequired)},
)
def update_organization(
    org: VisibleOrganization,
    body: OrganizationUpdate,
    principal: CurrentPrincipal,
    session: DbSession,
    now: Now,
    response: Response,
    if_match: IfMatch = None,
) -> OrganizationPublic:
    """Rename or reclassify an organization (admin, office); a recommender's reviewer sets its internal deadline."""
    fields = service.update_fields(principal, org, body)
    org = service.update_organization(session, principal, org, fields, require_version(org.version, if_match), now)
    return _tagged(org, response)
