"""Endpoints: provinces and calls (public reference lists; the office manages calls)."""

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from app import examples as ex
from app.auth.caller import CurrentPrincipal
from app.core.clock import BEIJING
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
from app.core.route_facts import IdFrom, facts
from app.reference import service
from app.reference.models import Call
from app.reference.schemas import CallCreate, CallPublic, CallSummary, CallUpdate, ProvincePublic

# Path parameters that take the id create_call answers with (an OpenAPI link from it).
CALL_ID = IdFrom("create_call", "call_id")
router = APIRouter(prefix="/api/v1", tags=["reference"])
CallId = Annotated[str, Path(description="征集批次 id of the call (`GET /calls` lists them)")]


def _call_public(call: Call) -> CallPublic:
    public = CallPublic.model_validate(call, from_attributes=True)
    public.deadline = public.deadline.astimezone(BEIJING)
    return public


def _tagged(call: Call, response: Response) -> CallPublic:
    """One call answered with its version as the ETag (the If-Match of its PATCH)."""
    response.headers["ETag"] = etag(call.version)
    return _call_public(call)


@router.get("/provinces", operation_id="list_provinces", response_model=list[ProvincePublic])
def list_provinces(session: DbSession) -> list[ProvincePublic]:
    """The 32 recommenders by region: 31 provinces (GB/T 2260) and XPCC (pseudo-code 660000)."""
    return service.provinces(session)


@router.get("/calls", operation_id="list_calls", response_model=list[CallSummary])
def list_calls(session: DbSession) -> list[CallSummary]:
    """Every call for applications, newest first."""
    return [CallSummary.model_validate(_call_public(c).model_dump()) for c in service.calls(session)]


@router.get(
    "/calls/{call_id}",
    operation_id="get_call",
    openapi_extra=facts(etag=True, id_from=CALL_ID),
    response_model=CallPublic,
    responses=problem_responses(NotFound, ValidationFailed),
)
def get_call(call_id: CallId, session: DbSession, response: Response) -> CallPublic:
    """A call with its domain catalogue, eligibility conditions, form sections and deadline."""
    call = service.load_call(session, call_id)
    return _tagged(call, response)


@router.post(
    "/calls",
    operation_id="create_call",
    openapi_extra=facts(examples=ex.CREATE_CALL, etag=True),
    status_code=status.HTTP_201_CREATED,
    response_model=CallPublic,
    responses=problem_responses(NotAuthenticated, Forbidden, Duplicate, ValidationFailed),
)
def create_call(
    body: CallCreate, principal: CurrentPrincipal, session: DbSession, now: Now, response: Response
) -> CallPublic:
    """Open a new call (office). Catalogue, conditions and sections are copied from an earlier call."""
    call = service.create_call(session, principal, body, now)
    return _tagged(call, response)


@router.patch(
    "/calls/{call_id}",
    operation_id="update_call",
    openapi_extra=facts(examples=ex.UPDATE_CALL, etag=True, id_from=CALL_ID),
    response_model=CallPublic,
    responses=problem_responses(
        NotAuthenticated, Forbidden, NotFound, PreconditionFailed, PreconditionRequired, ValidationFailed
    ),
)
def update_call(
    call_id: CallId,
    body: CallUpdate,
    principal: CurrentPrincipal,
    session: DbSession,
    now: Now,
    response: Response,
    if_match: IfMatch = None,
) -> CallPublic:
    """Extend or change a call's deadline or quota (office; If-Match). The change and its reason are audited."""
    call = service.call_to_update(session, principal, call_id)
    call = service.update_call(session, principal, call, body, require_version(call.version, if_match), now)
    return _tagged(call, response)
