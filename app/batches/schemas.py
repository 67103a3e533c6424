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
    call_id: Id


class ItemIn(Strict):
    application_id: Id
    rank: StrictInt = Field(ge=1, le=100_000, description="1..n, no gaps, no duplicates")


class ItemsPut(Strict):
    items: list[ItemIn] = Field(max_length=5000, description="The whole ranked list; replaces the previous one")


# The steps of the batch workflow a representation may offer: `set_items` (PUT …/items) and the actions.
BatchStepName = Literal["set_items", "submit", "acknowledge", "return"]


class BatchAction(StrEnum):
    submit = "submit"
    acknowledge = "acknowledge"
    return_ = "return"


class BatchTransitionRequest(Strict):
    action: BatchAction = Field(description="submit (recommender) | acknowledge, return (office)")
    comment: Note | None = Field(default=None, description="Required to return (退回)")


class BatchItemPublic(BaseModel):
    rank: int
    application_id: str
    title: str
    state: StateName
    domain_area: str | None
    content_digest: str | None


class BatchPublic(BaseModel):
    id: str
    call_id: str
    recommender_id: str
    state: BatchState = Field(
        description="open (being composed) | submitted (to the office) | acknowledged (受理) | returned"
    )
    version: int
    items: list[BatchItemPublic]
    return_comment: str | None
    tracking_number: str | None = Field(description="Of the latest receipt, once submitted")
    allowed_actions: list[BatchStepName]
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    acknowledged_at: datetime | None


class BatchSummary(BaseModel):
    id: str
    call_id: str
    recommender_id: str
    state: BatchState
    version: int
    item_count: int
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None


class BatchTransitionPublic(BaseModel):
    id: str
    action: BatchAction
    from_state: BatchState
    to_state: BatchState
    actor_id: str | None
    comment: str | None
    at: datetime


class ReceiptAttachment(BaseModel):
    id: str
    sha256: str


class ReceiptItem(BaseModel):
    rank: int
    application_id: str
    title: str
    content_digest: str | None
    attachments: list[ReceiptAttachment]


class ReceiptSignature(BaseModel):
    kid: str = Field(description="The key's id, as listed by GET /api/v1/receipt-keys")
    alg: Literal["Ed25519", "SM2-SM3"]
    value: str = Field(description="Standard base64: Ed25519's 64 bytes; SM2's DER SEQUENCE {r, s}")


class ReceiptPublic(BaseModel):
    """Signed over its RFC 8785 canonical JSON without `signatures` (docs/receipts.md). Receipts issued
    before public-key signatures have `key_id`, `digest` and `signature` (HMAC) instead of `signatures`."""

    tracking_number: str
    submitted_at: str
    call_id: str
    recommender_id: str
    batch_id: str
    items: list[ReceiptItem]
    previous_tracking_number: str | None
    signatures: list[ReceiptSignature] | None = None
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
    kid: str
    alg: Literal["Ed25519", "SM2-SM3"]
    public_key_pem: str = Field(description="SubjectPublicKeyInfo, PEM, as `openssl pkey -pubin` reads it")
    created_at: str
    retired_at: str | None = Field(
        description="Since when receipts are no longer signed with it; still valid for those signed before"
    )


class ReceiptKeys(BaseModel):
    keys: list[ReceiptKey]


VerifyReason = Literal["valid", "malformed", "unsigned", "unknown_key", "digest_mismatch", "signature_mismatch"]


class VerifyResult(BaseModel):
    valid: bool
    reason: VerifyReason = Field(
        description="valid | malformed | unsigned | unknown_key | digest_mismatch | signature_mismatch"
    )


class RecommenderRow(BaseModel):
    recommender_id: str
    name: str
    key: str | None
    recommender_kind: str = Field(
        description="推荐单位类别 recommender kind: `province` (a provincial bureau) or `member_unit`",
        json_schema_extra={"enum": [kind.value for kind in RecommenderKind]},
    )
    batch_id: str | None
    state: BatchState | Literal["not_submitted"] = Field(description="The batch's state, or not_submitted")
    item_count: int
    acknowledged: bool
    by_field: dict[str, int] = Field(description="Items per domain field (level-1 code)")
    outcomes: dict[str, int] = Field(description="Items per outcome: approved, not_approved, pending")


class SubmissionTotals(BaseModel):
    recommenders: int = Field(description="Recommenders of the call")
    by_state: dict[str, int] = Field(description="Recommenders per batch state (or not_submitted)")
    items: int = Field(description="Applications on the lists")
    by_field: dict[str, int] = Field(description="Items per domain field (level-1 code)")


class CallSubmissionSummary(BaseModel):
    call_id: str
    recommenders: list[RecommenderRow]
    totals: SubmissionTotals
