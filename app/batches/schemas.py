"""API shapes of recommended lists, their receipts and the office's summary."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StringConstraints, WithJsonSchema

from app.applications.schemas import StateName
from app.batches.models import BatchState
from app.organizations.models import RecommenderKind

Id = Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")]
Note = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=2000, pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$")
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BatchCreate(Strict):
    """A new recommended list (推荐名单) of the caller's recommender for a call."""

    call_id: Id = Field(description="征集批次 id of the call (`GET /calls/{call_id}`)")


class ItemIn(Strict):
    """One application on the list, with its rank."""

    application_id: Id = Field(description="申请书 id of the application (state recommended)")
    rank: StrictInt = Field(ge=1, le=100_000, description="1..n, no gaps, no duplicates")


class ItemsPut(Strict):
    """The whole ranked list (推荐排序), replacing the previous one."""

    items: list[ItemIn] = Field(max_length=5000, description="The whole ranked list; replaces the previous one")


# The steps of the batch workflow a representation may offer: `set_items` (PUT …/items) and the actions.
BatchStepName = Literal["set_items", "submit", "acknowledge", "return"]


class BatchAction(StrEnum):
    """A step of a recommended list: submit (报送, the recommender), acknowledge (受理) or return (退回, the office)."""

    submit = "submit"
    acknowledge = "acknowledge"
    return_ = "return"


class BatchTransitionRequest(Strict):
    """A step of the list: submit (报送), acknowledge (受理) or return (退回)."""

    action: BatchAction = Field(description="submit (recommender) | acknowledge, return (office)")
    comment: Note | None = Field(default=None, description="Required to return (退回)")


class BatchItemPublic(BaseModel):
    """One application on a recommended list."""

    rank: int = Field(description="推荐排序 its rank, 1 first")
    application_id: str = Field(description="申请书 id of the application")
    title: str = Field(description="试点项目名称 the pilot's name")
    state: StateName = Field(description="The application's state")
    domain_area: str | None = Field(description="试点领域 area code, e.g. `1.1`")
    content_digest: str | None = Field(description="The application's frozen content digest")


class BatchPublic(BaseModel):
    """A recommender's ranked list for a call (推荐名单), with what the caller may do next."""

    id: str = Field(description="Batch id")
    call_id: str = Field(description="征集批次 id of the call (`GET /calls/{call_id}`)")
    recommender_id: str = Field(
        description="推荐单位 id of the recommender: a provincial market-supervision bureau or a member unit"
    )
    state: BatchState = Field(
        description="open (being composed) | submitted (to the office) | acknowledged (受理) | returned"
    )
    version: int = Field(description="Increases with every change (a change sends the `ETag` last read as `If-Match`)")
    items: list[BatchItemPublic] = Field(description="The ranked applications")
    return_comment: str | None = Field(description="The office's comment when it returned the list (退回意见)")
    tracking_number: str | None = Field(description="Of the latest receipt, once submitted")
    allowed_actions: list[BatchStepName] = Field(
        description="What the caller may do now: set_items (PUT …/items), submit, acknowledge, return"
    )
    created_at: datetime = Field(description="When it was created (RFC 3339, UTC)")
    updated_at: datetime = Field(description="When it last changed (RFC 3339, UTC)")
    submitted_at: datetime | None = Field(description="When it was last submitted (报送)")
    acknowledged_at: datetime | None = Field(description="When the office acknowledged it (受理)")


class BatchSummary(BaseModel):
    """A recommended list (推荐名单) as listed."""

    id: str = Field(description="Batch id")
    call_id: str = Field(description="征集批次 id of the call (`GET /calls/{call_id}`)")
    recommender_id: str = Field(
        description="推荐单位 id of the recommender: a provincial market-supervision bureau or a member unit"
    )
    state: BatchState = Field(
        description="open (编制中), submitted (已报送), acknowledged (已受理) or returned (已退回)"
    )
    version: int = Field(description="Increases with every change (a change sends the `ETag` last read as `If-Match`)")
    item_count: int = Field(description="How many applications it lists")
    tracking_number: str | None = Field(description="报送回执编号 of the latest receipt, once submitted")
    created_at: datetime = Field(description="When it was created (RFC 3339, UTC)")
    updated_at: datetime = Field(description="When it last changed (RFC 3339, UTC)")
    submitted_at: datetime | None = Field(description="When it was last submitted (报送)")


class BatchTransitionPublic(BaseModel):
    """One step a recommended list took, oldest first."""

    id: str = Field(description="Transition id")
    action: BatchAction = Field(description="submit (报送), acknowledge (受理) or return (退回)")
    from_state: BatchState = Field(description="The state before")
    to_state: BatchState = Field(description="The state after")
    actor_id: str | None = Field(description="The user who took it")
    comment: str | None = Field(description="The comment given with it")
    at: datetime = Field(description="When (RFC 3339, UTC)")


class ReceiptAttachment(BaseModel):
    """An attachment as the receipt records it."""

    id: str = Field(description="Attachment id")
    sha256: str = Field(description="SHA-256 of its content (lowercase hex)")


class ReceiptItem(BaseModel):
    """One application as the receipt records it."""

    rank: int = Field(description="推荐排序 its rank")
    application_id: str = Field(description="申请书 id of the application")
    title: str = Field(description="试点项目名称 the pilot's name")
    content_digest: str | None = Field(description="The frozen content digest submitted")
    attachments: list[ReceiptAttachment] = Field(description="Its attachments with their digests")


class ReceiptSignature(BaseModel):
    """One signature over the receipt."""

    kid: str = Field(description="The key's id, as listed by GET /api/v1/receipt-keys")
    alg: Literal["Ed25519", "SM2-SM3"] = Field(description="Ed25519 or SM2-SM3 (国密)")
    value: str = Field(description="Standard base64: Ed25519's 64 bytes; SM2's DER SEQUENCE {r, s}")


class ReceiptPublic(BaseModel):
    """Signed over its RFC 8785 canonical JSON without `signatures` (docs/receipts.md). Receipts issued
    before public-key signatures have `key_id`, `digest` and `signature` (HMAC) instead of `signatures`."""

    tracking_number: str = Field(description="报送回执编号 tracking number, e.g. SMPS-9THBATCH-370000-001")
    submitted_at: str = Field(description="Server time of the submission (RFC 3339, UTC)")
    call_id: str = Field(description="征集批次 id of the call (`GET /calls/{call_id}`)")
    recommender_id: str = Field(
        description="推荐单位 id of the recommender: a provincial market-supervision bureau or a member unit"
    )
    batch_id: str = Field(description="The recommended list submitted")
    items: list[ReceiptItem] = Field(description="The ranked applications as submitted")
    previous_tracking_number: str | None = Field(
        description="The receipt this one follows, after a return and resubmission"
    )
    signatures: list[ReceiptSignature] | None = Field(
        default=None, description="Signatures over the canonical JSON without `signatures`: Ed25519 and SM2-SM3"
    )
    key_id: str | None = Field(default=None, description="Legacy (HMAC) receipts only")
    digest: str | None = Field(default=None, description="Legacy (HMAC) receipts only")
    signature: str | None = Field(default=None, description="Legacy (HMAC) receipts only")


# The body of `POST /receipts/verify`: read as the JSON object that arrived, never through the model (which
# would drop unknown members and so could call a changed receipt unchanged); documented as a receipt.
ReceiptDocument = Annotated[dict[str, Any], WithJsonSchema({"$ref": "#/components/schemas/ReceiptPublic"})]
VERIFY_BODY = {
    "description": "A receipt as issued (`GET /batches/{batch_id}/receipt`), members unchanged. An object "
    "that is not a receipt is answered 200 with `valid: false` and `reason: malformed`, not refused: a verifier "
    "reports on any document it is given. A body that is not a JSON object is refused (422 `validation_failed`)."
}


class ReceiptKey(BaseModel):
    """A public key that signs receipts; retired keys stay listed to verify old receipts."""

    kid: str = Field(description="Key id, as receipts' `signatures[].kid` name it")
    alg: Literal["Ed25519", "SM2-SM3"] = Field(description="Ed25519 or SM2-SM3 (国密)")
    public_key_pem: str = Field(description="SubjectPublicKeyInfo, PEM, as `openssl pkey -pubin` reads it")
    created_at: str = Field(description="When the key was made (RFC 3339)")
    retired_at: str | None = Field(
        description="Since when receipts are no longer signed with it; still valid for those signed before"
    )


class ReceiptKeys(BaseModel):
    """Every receipt-signing key, retired ones too."""

    keys: list[ReceiptKey] = Field(description="The keys")


VerifyReason = Literal[
    "valid",
    "malformed",
    "unsigned",
    "unknown_key",
    "key_retired",
    "signature_mismatch",
    "not_issued",
    "digest_mismatch",
]


class VerifyResult(BaseModel):
    """Whether a receipt is genuine and unchanged, and if not, why."""

    valid: bool = Field(description="True when a published key's signature over the receipt checks")
    reason: VerifyReason = Field(
        description="valid | malformed | unsigned | unknown_key | key_retired (signed after its key was "
        "retired) | signature_mismatch | not_issued (no receipt of this tracking number was issued here) | "
        "digest_mismatch (it differs from the receipt issued under this tracking number)"
    )


class RecommenderRow(BaseModel):
    """One recommender's list in a call's submission summary (报送情况)."""

    recommender_id: str = Field(
        description="推荐单位 id of the recommender: a provincial market-supervision bureau or a member unit"
    )
    name: str = Field(description="The recommender's name")
    key: str | None = Field(description="A seeded recommender's key (its province code); null for a member unit")
    recommender_kind: str = Field(
        description="推荐单位类别 recommender kind: `province` (a provincial bureau) or `member_unit`",
        json_schema_extra={"enum": [kind.value for kind in RecommenderKind]},
    )
    batch_id: str | None = Field(description="Its list for the call; null if none yet")
    state: BatchState | Literal["not_submitted"] = Field(description="The batch's state, or not_submitted")
    item_count: int = Field(description="Applications on the list (as submitted)")
    acknowledged: bool = Field(description="Whether the office acknowledged the list (受理)")
    by_field: dict[str, int] = Field(description="Items per domain field (level-1 code)")
    by_area: dict[str, int] = Field(description="Items per domain area (level-2 code)")
    outcomes: dict[str, int] = Field(description="Items per outcome: approved, not_approved, pending")
    tracking_number: str | None = Field(description="Of the latest receipt (报送回执编号), once submitted")
    submitted_at: datetime | None = Field(description="When the list was last submitted")


class SubmissionTotals(BaseModel):
    """A call's totals over every recommender."""

    recommenders: int = Field(description="Recommenders of the call")
    by_state: dict[str, int] = Field(description="Recommenders per batch state (or not_submitted)")
    items: int = Field(description="Applications on the lists")
    by_field: dict[str, int] = Field(description="Items per domain field (level-1 code)")
    by_area: dict[str, int] = Field(description="Items per domain area (level-2 code)")


class CallSubmissionSummary(BaseModel):
    """A call's submission summary (报送情况): each recommender's list and the totals."""

    call_id: str = Field(description="征集批次 id of the call (`GET /calls/{call_id}`)")
    names: dict[str, str] = Field(
        description="The call's name of each field and area code the summary counts (1 → 行政管理和服务)"
    )
    recommenders: list[RecommenderRow] = Field(description="One row per recommender of the call")
    totals: SubmissionTotals = Field(description="The totals")
