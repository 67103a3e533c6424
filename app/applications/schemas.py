"""API shapes of the application (申请书): what clients send and what they get back."""

import re
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    StrictBool,
    StrictInt,
    StringConstraints,
    TypeAdapter,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema
from typing_extensions import TypedDict

from app.applications.workflow import STEPS
from app.core.errors import DomainValueError
from app.core.i18n import Text
from app.core.schema_extra import NOT_NULL
from app.reference import labels as _labels  # noqa: F401  (registers the choices' Chinese labels)

_NO_CONTROL = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"  # newlines and tabs allowed in long text
Line = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")
]
LongText = Annotated[str, StringConstraints(max_length=20000, pattern=_NO_CONTROL)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000, pattern=_NO_CONTROL)]
Id = Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")]

# Closed vocabularies, the same on both directions of the wire.
StateName = Literal[
    "draft",
    "endorsing",
    "provincial_review",
    "recommended",
    "submitted",
    "approved",
    "not_approved",
    "returned",
    "rejected",
    "withdrawn",
]
PartyRole = Literal["undertaking", "participating", "guarantor", "guidance"]
EndorsementDecision = Literal["agree", "disagree"]
EndorsementMode = Literal["online", "paper"]
Verdict = Literal["confirmed", "rejected"]
ReviewDecision = Literal["recommend", "return", "reject"]
# The outcome decisions are the actions the office takes (as `allowed_actions` names them).
OutcomeDecision = Literal["approve", "not_approve"]
# What `allowed_actions` may offer: transitions, the review decisions, outcomes, and the other operations.
ApplicationAction = Literal[
    "submit",
    "recall",
    "withdraw",
    "reopen",
    "recommend",
    "return",
    "reject",
    "approve",
    "not_approve",
    "edit",
    "attach",
    "delete",
    "endorse",
    "verify_paper_endorsement",
]
# Every step of the workflow table: the callers' actions and the system's (`all_agreed`, `batch_submitted`…).
STEP_ACTIONS = sorted({step.action for step in STEPS})
SignOffStatus = Literal["pending", "agreed", "disagreed"]
VerificationState = Literal["pending", "confirmed", "rejected"]

_MOBILE = re.compile(r"^(\+?86[- ]?)?1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}(-\d{1,6})?$")
_HOTLINE = re.compile(r"^[48]00-?\d{3}-?\d{4}$")
_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")


def _phone(value: str) -> str:
    if not (_MOBILE.match(value) or _LANDLINE.match(value) or _HOTLINE.match(value)):
        raise DomainValueError(
            "invalid_phone",
            Text(
                "电话号码格式不正确（手机 1[3-9] 开头 11 位，座机区号-号码，或 400/800 热线）",
                "Invalid phone number (mobile 1[3-9]xxxxxxxxx, landline 0xx-xxxxxxxx, or a 400/800 hotline)",
            ),
        )
    return value


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise DomainValueError("invalid_email", Text("电子邮箱格式不正确", "Invalid email address"))
    return value


# The document states the checks as patterns; the validators keep answering invalid_phone / invalid_email.
PHONE_PATTERN = "^(?:" + "|".join(p.pattern[1:-1] for p in (_MOBILE, _LANDLINE, _HOTLINE)) + ")$"
Phone = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=32),
    AfterValidator(_phone),
    Field(json_schema_extra={"pattern": PHONE_PATTERN}),
]
Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=254),
    AfterValidator(_email),
    Field(json_schema_extra={"format": "email", "pattern": _EMAIL.pattern}),
]


class Strict(BaseModel):
    """Unknown fields refused; numbers and booleans are Strict* fields (no `true` → 1, no "1200" → 1200), while
    dates, ids and enums still parse from JSON strings."""

    model_config = ConfigDict(extra="forbid")


class Domain(Strict):
    area: Annotated[str, StringConstraints(pattern=r"^\d{1,2}\.\d{1,2}$")] = Field(
        description="Level-2 code, e.g. `1.1`"
    )
    item: Annotated[str, StringConstraints(pattern=r"^\d{1,2}\.\d{1,2}\.\d{1,2}$")] | None = Field(
        default=None, description="Level-3 code where the area has sub-items, e.g. `1.1.3`"
    )
    other: Line | None = Field(
        default=None, description="A sub-item not in the list (only where the list is open-ended, 等)"
    )

    @model_validator(mode="after")
    def _item_or_other(self) -> "Domain":
        if self.item and self.other:
            raise DomainValueError(
                "item_and_other", Text("item 与 other 只能二选一", "Give either item or other, not both")
            )
        return self


class Parties(Strict):
    undertaking: Id | None = Field(default=None, description="试点承担单位; defaults to the caller's organization")
    participating: list[Id] = Field(default_factory=list, max_length=20, description="参加单位")
    guarantor: Id | None = Field(default=None, description="保证单位")
    guidance: Id | None = Field(default=None, description="业务指导单位")


class Contact(Strict):
    name: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50, pattern=r"^[^\x00-\x1f\x7f]*$")
    ]
    phone: Phone
    email: Email


class Period(Strict):
    start: date
    end: date

    @model_validator(mode="after")
    def _ordered(self) -> "Period":
        if self.end <= self.start:
            raise DomainValueError(
                "period_not_ordered",
                Text("试点期结束日期须晚于开始日期", "The pilot period must end after it starts"),
                at="end",
            )
        return self


class StandardLevel(StrEnum):
    national = "national"
    sector = "sector"
    local = "local"
    group = "group"
    enterprise = "enterprise"


class StandardStatus(StrEnum):
    existing = "existing"
    to_be_drafted = "to_be_drafted"


class StandardRow(Strict):
    code: (
        Annotated[
            str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]*$")
        ]
        | None
    ) = None
    title: Line
    level: StandardLevel
    status: StandardStatus


class Funding(Strict):
    amount_cny: StrictInt = Field(ge=0, le=100_000_000_000)
    sources: Note | None = None


class Attestation(Strict):
    condition: StrictInt = Field(ge=1, le=20)
    attested: StrictBool
    note: Note | None = None


class Sections(TypedDict, total=False):
    """The form's narrative sections (正文章节) by key: every call has these seven (`GET /calls/{call_id}`
    lists them with their titles, which are required for submission and their lengths). Another key is
    refused (422 `unknown_section`)."""

    # How pydantic configures a TypedDict; mypy reads every class statement as a key.
    __pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[misc]  # pydantic reads it from a TypedDict; mypy sees a plain key

    basic_situation: Annotated[LongText, Field(description="基本情况 (Basic situation)")]
    groundwork: Annotated[LongText, Field(description="工作基础 (Standardization groundwork)")]
    objectives: Annotated[LongText, Field(description="试点目标 (Objectives)")]
    main_tasks: Annotated[LongText, Field(description="主要任务 (Main tasks, incl. the standard-system framework)")]
    schedule: Annotated[LongText, Field(description="进度安排 (Schedule)")]
    expected_results: Annotated[LongText, Field(description="预期效果 (Expected results)")]
    safeguards: Annotated[LongText, Field(description="保障措施 (Safeguards: organisation, staffing, funding)")]


SECTION_KEYS = tuple(Sections.__annotations__)


class _DocumentedAs:
    """Document a value as another type while validating it as its own: the sections stay a plain mapping
    checked against the call (an unknown key is `unknown_section`, not a schema error), and the document
    names the keys so that a typed client sees them."""

    def __init__(self, shape: Any) -> None:
        self.shape = shape

    def __get_pydantic_json_schema__(self, core_schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        return handler(TypeAdapter(self.shape).core_schema)


SectionKey = Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,40}$")]
SectionTexts = Annotated[dict[SectionKey, LongText], _DocumentedAs(Sections)]
StoredSections = Annotated[dict[str, str], _DocumentedAs(Sections)]


class ApplicationFields(Strict):
    """The form's fields; all optional while drafting — the validation endpoint says what is missing."""

    domain: Domain | None = None
    recommender_id: Id | None = Field(default=None, description="A province bureau or a member unit (推荐单位)")
    parties: Parties | None = None
    contact: Contact | None = None
    period: Period | None = None
    sections: SectionTexts | None = Field(
        default=None, max_length=30, description="Narrative sections by key (see the call's `sections`)"
    )
    standards: list[StandardRow] | None = Field(default=None, max_length=1000)
    funding: Funding | None = None
    eligibility: list[Attestation] | None = Field(default=None, max_length=20)


class ApplicationCreate(ApplicationFields):
    call_id: Id
    title: Line = Field(description="试点项目名称, e.g. 〈地区〉〈领域〉标准化试点")


class ApplicationUpdate(ApplicationFields):
    """Partial update (JSON merge): only the fields sent change; `null` clears a field."""

    title: Line | None = Field(default=None, json_schema_extra=NOT_NULL)  # null refused: "cannot be removed"


class SignOff(BaseModel):
    role: PartyRole
    organization_id: str
    status: SignOffStatus
    endorsement_id: str | None = None
    mode: EndorsementMode | None = None
    verification: VerificationState | None = Field(
        default=None, description="Paper sign-offs: the reviewer's verification"
    )
    recorded_at: datetime | None = None


class ApplicationPublic(BaseModel):
    id: str
    call_id: str
    title: str
    state: StateName
    version: int
    content_digest: str | None = Field(description="SHA-256 of the frozen content and attachments (set while frozen)")
    undertaking_org_id: str
    province_code: str
    entered_by_org_id: str | None
    # Built from the store without re-validation (service.represent); the document names the request side's
    # shapes for these, which the stored content passed (STORED_SHAPES, applied by app.openapi_doc).
    domain: dict[str, Any] | None
    recommender_id: str | None
    parties: dict[str, Any]
    contact: dict[str, Any] | None
    period: dict[str, Any] | None
    sections: StoredSections
    standards: list[dict[str, Any]]
    funding: dict[str, Any] | None
    eligibility: list[dict[str, Any]]
    sign_offs: list[SignOff] = Field(description="Sign-off status of every required party")
    allowed_actions: list[ApplicationAction] = Field(
        description="What the caller may do now, judged by the application's state, the caller's roles, the "
        "call's deadline and (for `endorse`, `verify_paper_endorsement`) the pending sign-offs; not by the form's "
        "content. So `submit` is offered for an incomplete form too, and taking it is then refused with 422 "
        "`application_invalid` (`GET /applications/{application_id}/validation` lists what is missing), as are "
        "the checks made on the request itself (an opinion to return or reject, a rejected paper sign-off on "
        "`recommend`)."
    )
    outcome_document_number: str | None
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None


# ApplicationPublic member → (component of the request side, nullable, array).
STORED_SHAPES: dict[str, tuple[str, bool, bool]] = {
    "domain": ("Domain", True, False),
    "parties": ("Parties", False, False),
    "contact": ("Contact", True, False),
    "period": ("Period", True, False),
    "standards": ("StandardRow", False, True),
    "funding": ("Funding", True, False),
    "eligibility": ("Attestation", False, True),
}


class ApplicationSummary(BaseModel):
    id: str
    call_id: str
    title: str
    state: StateName
    version: int
    undertaking_org_id: str
    recommender_id: str | None
    province_code: str
    domain_area: str | None
    content_digest: str | None
    created_at: datetime
    updated_at: datetime


class TransitionAction(StrEnum):
    submit = "submit"
    recall = "recall"
    withdraw = "withdraw"
    reopen = "reopen"


class TransitionRequest(Strict):
    action: TransitionAction
    comment: Note | None = None


class TransitionPublic(BaseModel):
    id: str
    action: str = Field(
        description="The step: a caller's action or the system's (`all_agreed`, `batch_submitted`…)",
        json_schema_extra={"enum": [*STEP_ACTIONS]},
    )
    from_state: StateName
    to_state: StateName
    actor_id: str | None
    comment: str | None
    at: datetime


class EndorsementRequest(Strict):
    role: PartyRole
    organization_id: Id
    decision: EndorsementDecision
    opinion: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000, pattern=_NO_CONTROL)
    ]
    signatory_name: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]*$")
    ]
    signatory_title: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=100, pattern=r"^[^\x00-\x1f\x7f]*$")] | None
    ) = None
    mode: EndorsementMode = "online"
    attachment_id: Id | None = Field(
        default=None, description="Paper sign-off: the scanned stamped page (kind paper_endorsement)"
    )


class EndorsementPublic(BaseModel):
    id: str
    party_role: PartyRole
    organization_id: str
    decision: EndorsementDecision
    opinion: str
    signatory_name: str
    signatory_title: str | None
    mode: EndorsementMode
    attachment_id: str | None
    verification: VerificationState | None
    verification_comment: str | None
    content_digest: str
    recorded_by: str
    recorded_at: datetime
    voided: bool


class VerificationRequest(Strict):
    verdict: Verdict
    comment: Note | None = None


class ReviewRequest(Strict):
    decision: ReviewDecision
    opinion: Note | None = Field(default=None, description="Required to return or reject")


class ReviewPublic(BaseModel):
    id: str
    decision: ReviewDecision
    opinion: str | None
    reviewer_id: str
    recommender_id: str
    content_digest: str | None
    recorded_at: datetime


class OutcomeRequest(Strict):
    decision: OutcomeDecision = Field(description="`approve` (with the 下达 document number) or `not_approve`")
    document_number: Line | None = Field(default=None, description="The approving document, e.g. 国标委发〔2023〕5号")


class ValidationIssue(BaseModel):
    code: str
    pointer: str
    message: str


class ValidationReport(BaseModel):
    valid: bool
    errors: list[ValidationIssue]
    warnings: list[ValidationIssue]
