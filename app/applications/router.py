"""Endpoints of the application aggregate."""

from datetime import datetime
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from pydantic import AwareDatetime, BeforeValidator
from sqlmodel import col

from app import examples as ex
from app.accounts.principal import CurrentPrincipal, oauth2_scheme
from app.applications import actions, guards, service
from app.applications.access import VisibleApplication
from app.applications.content import run_validation
from app.applications.deadlines import report_late
from app.applications.listing import rfc3339, summaries_page, summary_query
from app.applications.models import Application, Endorsement, Review, Transition
from app.applications.reading import answer_read, lean_get_application
from app.applications.schemas import (
    ApplicationCreate,
    ApplicationPublic,
    ApplicationSummary,
    ApplicationUpdate,
    EndorsementPublic,
    EndorsementRequest,
    OutcomeRequest,
    ReviewPublic,
    ReviewRequest,
    TransitionPublic,
    TransitionRequest,
    ValidationIssue,
    ValidationReport,
    VerificationRequest,
)
from app.applications.states import State
from app.core import merge_patch
from app.core.deps import DbSession, IfMatch, Now, etag, if_none_match_parameter, require_version
from app.core.errors import (
    DeadlinePassed,
    Forbidden,
    InvalidTransition,
    MalformedJson,
    NotAuthenticated,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    UnsupportedMediaType,
    ValidationFailed,
    problem_responses,
)
from app.core.fast.routes import lean_route
from app.core.i18n import localized, negotiate
from app.core.pagination import Page, PageSize, PageToken
from app.core.route_facts import IdFrom, facts
from app.reference.models import Call

# Path parameters that take the id create_application answers with (an OpenAPI link from it).
APPLICATION_ID = IdFrom("create_application", "application_id")
router = APIRouter(prefix="/api/v1/applications", tags=["applications"])
READ = problem_responses(NotAuthenticated, NotFound, ValidationFailed)
WRITE = problem_responses(
    NotAuthenticated, Forbidden, NotFound, PreconditionFailed, PreconditionRequired, ValidationFailed
)
ACT = {
    **WRITE,
    **problem_responses(InvalidTransition, DeadlinePassed, guards.ApplicationInvalid, actions.AlreadyEndorsed),
}


def _respond(
    session: DbSession, principal: CurrentPrincipal, application: Application, response: Response, now: datetime
) -> ApplicationPublic:
    public = service.to_public(session, principal, application, now)
    response.headers["ETag"] = etag(application.version, tuple(public.allowed_actions))
    return public


@router.get("", operation_id="list_applications", response_model=Page[ApplicationSummary], responses=READ)
def list_applications(
    principal: CurrentPrincipal,
    session: DbSession,
    page_size: PageSize = 50,
    page_token: PageToken = None,
    call_id: Annotated[
        str | None, Query(max_length=32, description="Only the applications of this call (征集批次)")
    ] = None,
    state: Annotated[list[State] | None, Query(description="One or more states")] = None,
    province: Annotated[
        str | None, Query(pattern=r"^\d{6}$", description="Province code of the undertaking unit")
    ] = None,
    recommender_id: Annotated[
        str | None, Query(max_length=32, description="Only the applications to this recommender (推荐单位)")
    ] = None,
    domain: Annotated[
        str | None, Query(pattern=r"^\d{1,2}(\.\d{1,2})?$", description="A field (`3`) or an area (`3.4`)")
    ] = None,
    q: Annotated[str | None, Query(max_length=100, description="Project name contains")] = None,
    updated_after: Annotated[
        AwareDatetime | None, BeforeValidator(rfc3339), Query(description="RFC 3339 timestamp with offset")
    ] = None,
) -> Page[ApplicationSummary]:
    """Applications the caller may see, newest first, with filters and keyset pagination."""
    query = summary_query(
        principal,
        call_id=call_id,
        states=[s.value for s in state or []],
        province=province,
        recommender_id=recommender_id,
        domain=domain,
        q=q,
        updated_after=updated_after,
    )
    return summaries_page(session, query, page_token, page_size)


@router.post(
    "",
    operation_id="create_application",
    openapi_extra=facts(examples=ex.CREATE_APPLICATION, etag=True, location=True),
    status_code=status.HTTP_201_CREATED,
    response_model=ApplicationPublic,
    responses=WRITE,
)
def create_application(
    body: ApplicationCreate, principal: CurrentPrincipal, session: DbSession, now: Now, response: Response
) -> ApplicationPublic:
    """Draft an application. Applicants draft for their own unit; a recommender's reviewer may enter a paper application for a unit."""
    application = service.create_application(session, principal, body, now)
    response.headers["Location"] = f"/api/v1/applications/{application.id}"
    return _respond(session, principal, application, response, now)


async def get_application(
    request: Request,
    application_id: Annotated[str, Path(max_length=32, description="申请书 id of the application")],
    credential: Annotated[str | None, Depends(oauth2_scheme)],
) -> Response:
    """One application with its sign-off status and what the caller may do next (304 on a matching `If-None-Match`)."""
    return await answer_read(request, credential, application_id)


router.add_api_route(
    "/{application_id}",
    get_application,
    methods=["GET"],
    operation_id="get_application",
    response_model=ApplicationPublic,
    responses={**READ, 304: {"description": "Not modified: `If-None-Match` names the current ETag"}},
    openapi_extra=facts(
        etag=True, id_from=APPLICATION_ID, parameters=[if_none_match_parameter("the application as the caller sees it")]
    ),
    route_class_override=lean_route(lean_get_application),
)


@router.patch(
    "/{application_id}",
    operation_id="update_application",
    response_model=ApplicationPublic,
    responses={**WRITE, **problem_responses(InvalidTransition, MalformedJson, UnsupportedMediaType)},
    openapi_extra=facts(
        examples=ex.UPDATE_APPLICATION, etag=True, id_from=APPLICATION_ID, **merge_patch.request_body(ApplicationUpdate)
    ),
)
def update_application(
    patch: merge_patch.MergePatch,
    application: VisibleApplication,
    principal: CurrentPrincipal,
    session: DbSession,
    now: Now,
    response: Response,
    if_match: IfMatch = None,
) -> ApplicationPublic:
    """Change fields of a draft or returned application: an RFC 7396 merge patch (nested objects merge,
    `null` removes a member), the merged form validated as a whole (If-Match)."""
    members = merge_patch.whole_members(application.content, patch.object())
    body = merge_patch.validated(ApplicationUpdate, members)
    version = require_version(application.version, if_match)
    service.update_application(session, principal, application, body, version, now)
    return _respond(session, principal, application, response, now)


@router.delete(
    "/{application_id}",
    operation_id="delete_application",
    openapi_extra=facts(id_from=APPLICATION_ID),
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**WRITE, **problem_responses(InvalidTransition)},
)
def delete_application(
    application: VisibleApplication, principal: CurrentPrincipal, session: DbSession, now: Now, if_match: IfMatch = None
) -> Response:
    """Delete a draft (If-Match)."""
    version = require_version(application.version, if_match)
    service.delete_application(session, principal, application, version, now)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/{application_id}/validation",
    operation_id="validate_application",
    openapi_extra=facts(id_from=APPLICATION_ID),
    response_model=ValidationReport,
    responses=READ,
)
def validate_application(
    application: VisibleApplication, session: DbSession, request: Request, response: Response, now: Now
) -> ValidationReport:
    """Errors (block submit) and warnings (don't), each with a stable code and a JSON Pointer; a passed
    deadline is an error (`deadline_passed`) while the application could still be submitted."""
    call = session.get(Call, application.call_id)
    assert call is not None
    report = run_validation(session, application, call)
    if application.state in (State.draft, State.returned):
        report_late(report, session, application, now)
    lang = negotiate(request.headers.get("accept-language"))
    response.headers.update(localized(lang))
    return ValidationReport(
        valid=not report.errors,
        errors=[ValidationIssue(**e.render(lang)) for e in report.errors],
        warnings=[ValidationIssue(**w.render(lang)) for w in report.warnings],
    )


@router.get(
    "/{application_id}/transitions",
    operation_id="list_application_transitions",
    openapi_extra=facts(id_from=APPLICATION_ID),
    response_model=Page[TransitionPublic],
    responses=READ,
)
def list_transitions(application: VisibleApplication, session: DbSession) -> Page[TransitionPublic]:
    """The history: who moved the application, when, from which state to which, and why (oldest first, one page)."""
    rows = session.execute(
        sa.select(Transition)
        .where(col(Transition.application_id) == application.id)
        .order_by(col(Transition.at), col(Transition.id))
    ).scalars()
    return Page(items=[TransitionPublic.model_validate(r, from_attributes=True) for r in rows], next_page_token=None)


@router.post(
    "/{application_id}/transitions",
    operation_id="transition_application",
    openapi_extra=facts(examples=ex.TRANSITION_APPLICATION, etag=True, id_from=APPLICATION_ID),
    response_model=ApplicationPublic,
    responses=ACT,
)
def transition_application(
    body: TransitionRequest,
    application: VisibleApplication,
    principal: CurrentPrincipal,
    session: DbSession,
    now: Now,
    response: Response,
    if_match: IfMatch = None,
) -> ApplicationPublic:
    """`submit` for sign-off (runs validation), `recall` to draft, `withdraw`, or `reopen` a recommendation (If-Match)."""
    version = require_version(application.version, if_match)
    actions.transition(session, principal, application, body.action.value, body.comment, version, now)
    return _respond(session, principal, application, response, now)


def _endorsement_public(e: Endorsement) -> EndorsementPublic:
    return EndorsementPublic.model_validate({**e.model_dump(), "voided": e.voided_at is not None})


@router.get(
    "/{application_id}/endorsements",
    operation_id="list_endorsements",
    openapi_extra=facts(id_from=APPLICATION_ID),
    response_model=list[EndorsementPublic],
    responses=READ,
)
def list_endorsements(application: VisibleApplication, session: DbSession) -> list[EndorsementPublic]:
    """Every sign-off, including those voided when the content changed."""
    rows = session.execute(
        sa.select(Endorsement)
        .where(col(Endorsement.application_id) == application.id)
        .order_by(col(Endorsement.recorded_at), col(Endorsement.id))
    ).scalars()
    return [_endorsement_public(e) for e in rows]


@router.post(
    "/{application_id}/endorsements",
    operation_id="create_endorsement",
    openapi_extra=facts(examples=ex.CREATE_ENDORSEMENT, etag=True),
    status_code=status.HTTP_201_CREATED,
    response_model=EndorsementPublic,
    responses=ACT,
)
def create_endorsement(
    body: EndorsementRequest,
    application: VisibleApplication,
    principal: CurrentPrincipal,
    session: DbSession,
    now: Now,
    response: Response,
    if_match: IfMatch = None,
) -> EndorsementPublic:
    """A party's sign-off (`agree | disagree`): online by a signatory of that party, or recorded on paper by the applicant (If-Match)."""
    version = require_version(application.version, if_match)
    endorsement = actions.endorse(session, principal, application, body, version, now)
    response.headers["ETag"] = etag(application.version)
    return _endorsement_public(endorsement)


@router.post(
    "/{application_id}/endorsements/{endorsement_id}/verification",
    operation_id="verify_paper_endorsement",
    openapi_extra=facts(examples=ex.VERIFY_PAPER_ENDORSEMENT, etag=True),
    response_model=EndorsementPublic,
    responses=ACT,
)
def verify_paper_endorsement(
    body: VerificationRequest,
    application: VisibleApplication,
    principal: CurrentPrincipal,
    session: DbSession,
    now: Now,
    response: Response,
    endorsement_id: Annotated[str, Path(max_length=32, description="The paper sign-off's endorsement id")],
    if_match: IfMatch = None,
) -> EndorsementPublic:
    """The recommender's reviewer confirms or rejects a paper sign-off (If-Match of the application)."""
    version = require_version(application.version, if_match)
    endorsement = actions.verify_paper_endorsement(session, principal, application, endorsement_id, body, version, now)
    response.headers["ETag"] = etag(application.version)
    return _endorsement_public(endorsement)


@router.get("/{application_id}/reviews", operation_id="list_reviews", response_model=Page[ReviewPublic], responses=READ)
def list_reviews(application: VisibleApplication, session: DbSession) -> Page[ReviewPublic]:
    """The recommender's review decisions on the application, oldest first, one page (who may see it: as the application)."""
    rows = session.execute(
        sa.select(Review)
        .where(col(Review.application_id) == application.id)
        .order_by(col(Review.recorded_at), col(Review.id))
    ).scalars()
    return Page(items=[ReviewPublic.model_validate(r, from_attributes=True) for r in rows], next_page_token=None)


@router.post(
    "/{application_id}/reviews",
    operation_id="create_review",
    openapi_extra=facts(examples=ex.CREATE_REVIEW, etag=True),
    status_code=status.HTTP_201_CREATED,
    response_model=ReviewPublic,
    responses={**ACT, **problem_responses(guards.PaperEndorsementRejected)},
)
def create_review(
    body: ReviewRequest,
    application: VisibleApplication,
    principal: CurrentPrincipal,
    session: DbSession,
    now: Now,
    response: Response,
    if_match: IfMatch = None,
) -> ReviewPublic:
    """The recommender's decision: `recommend`, `return` (退回修改) or `reject` (不予推荐); opinion required for the last two (If-Match)."""
    version = require_version(application.version, if_match)
    row = actions.review(session, principal, application, body, version, now)
    response.headers["ETag"] = etag(application.version)
    return ReviewPublic.model_validate(row, from_attributes=True)


@router.post(
    "/{application_id}/outcome",
    operation_id="record_outcome",
    openapi_extra=facts(examples=ex.RECORD_OUTCOME, etag=True),
    response_model=ApplicationPublic,
    responses=ACT,
)
def record_outcome(
    body: OutcomeRequest,
    application: VisibleApplication,
    principal: CurrentPrincipal,
    session: DbSession,
    now: Now,
    response: Response,
    if_match: IfMatch = None,
) -> ApplicationPublic:
    """The office records the outcome: `approve` (with the 下达 document number) or `not_approve` (If-Match)."""
    version = require_version(application.version, if_match)
    actions.record_outcome(session, principal, application, body, version, now)
    return _respond(session, principal, application, response, now)
