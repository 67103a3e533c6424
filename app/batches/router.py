"""Endpoints of the batches package: recommended lists, their transitions and receipts, the office summary."""

from typing import Annotated, Any, cast

import sqlalchemy as sa
from fastapi import APIRouter, Body, Depends, Path, Query, Request, Response, status
from sqlmodel import col

from app import examples as ex
from app.accounts.models import Role
from app.accounts.principal import CurrentPrincipal, Principal, ReadingPrincipal, require_role
from app.applications.access import visibility_filter
from app.applications.models import Application
from app.batches import receipts_hmac, service
from app.batches.items import QuotaExceeded, set_items
from app.batches.keystore import key_store, signers_for
from app.batches.models import Batch, BatchItem, BatchTransition, Receipt
from app.batches.schemas import (
    VERIFY_BODY,
    BatchCreate,
    BatchPublic,
    BatchSummary,
    BatchTransitionPublic,
    BatchTransitionRequest,
    CallSubmissionSummary,
    ItemsPut,
    ReceiptDocument,
    ReceiptKeys,
    ReceiptPublic,
    VerifyReason,
    VerifyResult,
)
from app.batches.summary import call_summary
from app.batches.verification import bound_signatures, verify_issued
from app.core.deps import AppSettings, DbSession, IfMatch, Now, etag, reads_only, require_version
from app.core.errors import (
    DeadlinePassed,
    Duplicate,
    Forbidden,
    InvalidTransition,
    NotAuthenticated,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    ValidationFailed,
    problem_responses,
)
from app.core.pagination import Keyset, Page, PageSize, PageToken, fetch_rows
from app.core.route_facts import IdFrom, facts
from app.core.settings import legacy_key
from app.fonts.faces import FontUnavailable, form_fonts
from app.reference.models import Call

# Path parameters that take the id create_call answers with (an OpenAPI link from it).
CALL_ID = IdFrom("create_call", "call_id")
# Path parameters that take the id create_batch answers with (an OpenAPI link from it).
BATCH_ID = IdFrom("create_batch", "batch_id")
router = APIRouter(prefix="/api/v1")
TAGS: list[str | Any] = ["batches"]
READ = problem_responses(NotAuthenticated, NotFound, ValidationFailed)
OLDEST_FIRST = Keyset((col(Batch.created_at), col(Batch.id)))
WRITE = problem_responses(
    NotAuthenticated, Forbidden, NotFound, PreconditionFailed, PreconditionRequired, ValidationFailed, InvalidTransition
)
ACT = {
    **WRITE,
    **problem_responses(
        DeadlinePassed,
        service.BatchEmpty,
        service.BatchItemsNotReady,
        service.UnverifiedPaperEndorsement,
        service.ReceiptKeysUnavailable,
    ),
}


def _visible_batch(
    principal: CurrentPrincipal,
    session: DbSession,
    batch_id: Annotated[str, Path(max_length=32, description="Batch id")],
) -> Batch:
    return service.load_visible_batch(session, principal, batch_id)


VisibleBatch = Annotated[Batch, Depends(_visible_batch)]


def _respond(session: DbSession, principal: Principal, batch: Batch, response: Response) -> BatchPublic:
    public = service.to_public(session, principal, batch)
    response.headers["ETag"] = etag(batch.version, tuple(public.allowed_actions))
    return public


@router.post(
    "/batches",
    operation_id="create_batch",
    openapi_extra=facts(examples=ex.CREATE_BATCH, etag=True, location=True),
    status_code=status.HTTP_201_CREATED,
    response_model=BatchPublic,
    tags=TAGS,
    responses={**WRITE, **problem_responses(Duplicate)},
)
def create_batch(
    body: BatchCreate, principal: CurrentPrincipal, session: DbSession, now: Now, response: Response
) -> BatchPublic:
    """Open the caller's recommended list (推荐清单) for a call; one per recommender and call."""
    batch = service.create_batch(session, principal, body.call_id, now)
    response.headers["Location"] = f"/api/v1/batches/{batch.id}"
    return _respond(session, principal, batch, response)


@router.get("/batches", operation_id="list_batches", response_model=Page[BatchSummary], tags=TAGS, responses=READ)
def list_batches(
    principal: CurrentPrincipal,
    session: DbSession,
    call_id: Annotated[str | None, Query(max_length=32, description="Only the lists of this call (征集批次)")] = None,
    page_size: PageSize = 50,
    page_token: PageToken = None,
) -> Page[BatchSummary]:
    """Reviewers see their own lists, the office every list once submitted, admins all."""
    # Only the items the caller may see are counted (as GET /batches/{id} lists them).
    count = (
        sa.select(sa.func.count())
        .select_from(BatchItem)
        .join(Application, col(Application.id) == col(BatchItem.application_id))
        .where(col(BatchItem.batch_id) == col(Batch.id), visibility_filter(principal))
        .scalar_subquery()
    )
    tracking = (
        sa.select(col(Receipt.tracking_number))
        .where(col(Receipt.batch_id) == col(Batch.id))
        .order_by(col(Receipt.seq).desc())
        .limit(1)
        .scalar_subquery()
    )
    query = sa.select(Batch, count, tracking).where(service.batch_visibility(principal))
    if call_id:
        query = query.where(col(Batch.call_id) == call_id)
    rows, token = fetch_rows(session, query, OLDEST_FIRST, page_token, page_size, key_of=lambda row: row[0])
    items = [
        BatchSummary(
            id=b.id,
            call_id=b.call_id,
            recommender_id=b.recommender_id,
            state=b.state,
            version=b.version,
            item_count=n,
            tracking_number=number,
            created_at=b.created_at,
            updated_at=b.updated_at,
            submitted_at=b.submitted_at,
        )
        for b, n, number in rows
    ]
    return Page(items=items, next_page_token=token)


@router.get(
    "/batches/{batch_id}",
    operation_id="get_batch",
    openapi_extra=facts(etag=True, id_from=BATCH_ID),
    response_model=BatchPublic,
    tags=TAGS,
    responses=READ,
)
def get_batch(batch: VisibleBatch, principal: CurrentPrincipal, session: DbSession, response: Response) -> BatchPublic:
    """One list with its ranked items, state, version (ETag) and what the caller may do next."""
    return _respond(session, principal, batch, response)


@router.put(
    "/batches/{batch_id}/items",
    operation_id="set_batch_items",
    openapi_extra=facts(examples=ex.SET_BATCH_ITEMS, etag=True, id_from=BATCH_ID),
    response_model=BatchPublic,
    tags=TAGS,
    responses={**WRITE, **problem_responses(QuotaExceeded)},
)
def set_batch_items(
    body: ItemsPut,
    batch: VisibleBatch,
    principal: CurrentPrincipal,
    session: DbSession,
    now: Now,
    response: Response,
    if_match: IfMatch = None,
) -> BatchPublic:
    """Replace the ranked list (ranks 1..n) of recommended applications, while open or returned (If-Match)."""
    version = require_version(batch.version, if_match)
    set_items(session, principal, batch, body, version, now)
    return _respond(session, principal, batch, response)


@router.get(
    "/batches/{batch_id}/transitions",
    operation_id="list_batch_transitions",
    openapi_extra=facts(id_from=BATCH_ID),
    response_model=Page[BatchTransitionPublic],
    tags=TAGS,
    responses=READ,
)
def list_batch_transitions(batch: VisibleBatch, session: DbSession) -> Page[BatchTransitionPublic]:
    """The history: submissions, acknowledgements and returns, with who, when and why (oldest first, one page)."""
    rows = session.execute(
        sa.select(BatchTransition)
        .where(col(BatchTransition.batch_id) == batch.id)
        .order_by(col(BatchTransition.at), col(BatchTransition.id))
    ).scalars()
    return Page(
        items=[BatchTransitionPublic.model_validate(r, from_attributes=True) for r in rows], next_page_token=None
    )


@router.post(
    "/batches/{batch_id}/transitions",
    operation_id="transition_batch",
    openapi_extra=facts(examples=ex.TRANSITION_BATCH, etag=True, id_from=BATCH_ID),
    response_model=BatchPublic,
    tags=TAGS,
    responses=ACT,
)
def transition_batch(
    body: BatchTransitionRequest,
    batch: VisibleBatch,
    principal: CurrentPrincipal,
    session: DbSession,
    now: Now,
    settings: AppSettings,
    response: Response,
    if_match: IfMatch = None,
) -> BatchPublic:
    """`submit` (recommender, before the call's deadline: issues a receipt), `acknowledge` (受理) or `return` (退回, with a comment) by the office (If-Match)."""
    version = require_version(batch.version, if_match)
    submitting = body.action.value == "submit"
    signers = signers_for(settings.keys_dir, settings.environment == "development") if submitting else []
    if submitting and not signers:
        raise service.ReceiptKeysUnavailable()
    service.transition(session, principal, batch, body.action.value, body.comment, version, now, signers)
    return _respond(session, principal, batch, response)


@router.get(
    "/batches/{batch_id}/receipt",
    operation_id="get_batch_receipt",
    response_model=ReceiptPublic,
    tags=TAGS,
    responses=READ,
    response_model_exclude_unset=True,
)
def get_batch_receipt(batch: VisibleBatch, session: DbSession) -> dict[str, Any]:
    """The latest receipt: what was submitted, when, with a digest and signature to prove it later."""
    receipt = service.latest_receipt(session, batch.id)
    if receipt is None:
        raise NotFound()
    return receipt.document


@router.get(
    "/batches/{batch_id}/receipts",
    operation_id="list_batch_receipts",
    response_model=list[ReceiptPublic],
    tags=TAGS,
    responses=READ,
    response_model_exclude_unset=True,
)
def list_batch_receipts(batch: VisibleBatch, session: DbSession) -> list[dict[str, Any]]:
    """Every receipt of the list, oldest first (a resubmission references the one before)."""
    return [r.document for r in service.all_receipts(session, batch.id)]


@router.post(
    "/receipts/verify",
    operation_id="verify_receipt",
    response_model=VerifyResult,
    tags=TAGS,
    responses=problem_responses(NotAuthenticated, ValidationFailed),
    openapi_extra=facts(examples=ex.VERIFY_RECEIPT, requestBody=VERIFY_BODY),
)
@reads_only  # a POST for its body only: no write gate, no write transaction
def verify_receipt(
    request: Request,
    principal: ReadingPrincipal,
    settings: AppSettings,
    body: Annotated[ReceiptDocument, Body()],
) -> VerifyResult:
    """Whether a receipt is genuine (signed by this service, issued by it as it stands) and unchanged;
    receipts issued before public-key signatures (HMAC) too. At most one signature per published key
    (422 otherwise). Anyone can check a receipt's signatures without the server: see GET /receipt-keys."""
    if receipts_hmac.is_legacy(body):
        key = legacy_key(settings)
        valid, reason = receipts_hmac.verify(body, key) if key else (False, "unknown_key")
    else:
        published = key_store(settings.keys_dir).published()
        bound_signatures(body, published)
        valid, reason = verify_issued(request.app.state.database, body, published)
    return VerifyResult(valid=valid, reason=cast(VerifyReason, reason))


RECEIPT_KEYS_MAX_AGE = 300


@router.get(
    "/receipt-keys",
    operation_id="list_receipt_keys",
    response_model=ReceiptKeys,
    tags=TAGS,
)
def list_receipt_keys(settings: AppSettings, response: Response) -> ReceiptKeys:
    """The public keys receipts are signed with, retired ones included, so that anyone can verify a receipt
    offline (`smps receipt verify --keys`, or plain openssl: docs/receipts.md). No authentication."""
    response.headers["Cache-Control"] = f"public, max-age={RECEIPT_KEYS_MAX_AGE}"
    return ReceiptKeys.model_validate({"keys": [k.public() for k in key_store(settings.keys_dir).published()]})


@router.get(
    "/batches/{batch_id}/receipt.pdf",
    operation_id="get_batch_receipt_pdf",
    openapi_extra=facts(file=True),
    response_class=Response,
    tags=TAGS,
    responses={
        200: {"content": {"application/pdf": {}}, "description": "The printable receipt"},
        **READ,
        **problem_responses(FontUnavailable),
    },
)
def get_batch_receipt_pdf(batch: VisibleBatch, session: DbSession, settings: AppSettings, request: Request) -> Response:
    """The latest receipt as a printable 报送回执 (A4): the ranked list with digests, the signatures' key ids and a
    QR code with the tracking number, the receipt's digest and where to verify it."""
    from app.batches.receipt_pdf import receipt_pdf

    receipt = service.latest_receipt(session, batch.id)
    if receipt is None:
        raise NotFound()
    base = (settings.public_base_url or str(request.base_url)).rstrip("/")
    fonts = form_fonts(settings.cjk_font, settings.cjk_title_font)
    content = receipt_pdf(session, receipt, fonts, f"{base}/api/v1/receipt-keys")
    disposition = f'attachment; filename="{receipt.tracking_number}.pdf"'
    return Response(content, media_type="application/pdf", headers={"Content-Disposition": disposition})


@router.get(
    "/calls/{call_id}/summary",
    operation_id="get_call_summary",
    openapi_extra=facts(id_from=CALL_ID),
    response_model=CallSubmissionSummary,
    tags=["reference"],
    responses=problem_responses(NotAuthenticated, Forbidden, NotFound, ValidationFailed),
)
def get_call_summary(
    principal: CurrentPrincipal,
    session: DbSession,
    call_id: Annotated[str, Path(max_length=32, description="征集批次 id of the call")],
) -> CallSubmissionSummary:
    """Office: every recommender (32 provincial bureaus and the member units), its list's state and contents."""
    if not principal.is_admin:
        require_role(principal, Role.office)
    if session.get(Call, call_id) is None:
        raise NotFound()
    return call_summary(session, call_id)
