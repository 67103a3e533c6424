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
    """试点领域 the field of the pilot: an area of the call's catalogue and, where it has items, one of them."""

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
    """The units named on the form: 试点承担单位 undertaking, 参加单位 participating, 保证单位 guarantor, 业务指导单位 guidance."""

    undertaking: Id | None = Field(default=None, description="试点承担单位; defaults to the caller's organization")
    participating: list[Id] = Field(default_factory=list, max_length=20, description="参加单位")
    guarantor: Id | None = Field(default=None, description="保证单位")
    guidance: Id | None = Field(default=None, description="业务指导单位")


class Contact(Strict):
    """联系人 the person to contact about the application."""

    name: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50, pattern=r"^[^\x00-\x1f\x7f]*$")
    ] = Field(description="Name, e.g. 王芳")
    phone: Phone = Field(description="Mobile (11 digits from 1[3-9]), landline (area code-number) or a 400/800 hotline")
    email: Email = Field(description="Email address")


class Period(Strict):
    """试点期 the pilot period."""

    start: date = Field(description="First day (YYYY-MM-DD)")
    end: date = Field(description="Last day (YYYY-MM-DD), after the first")

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
    """标准级别: national (国家标准), sector (行业标准), local (地方标准), group (团体标准), enterprise (企业标准)."""

    national = "national"
    sector = "sector"
    local = "local"
    group = "group"
    enterprise = "enterprise"


class StandardStatus(StrEnum):
    """标准状态: existing (现行) or to_be_drafted (待制定)."""

    existing = "existing"
    to_be_drafted = "to_be_drafted"


class StandardRow(Strict):
    """A standard of the pilot's standard system (标准体系表)."""

    code: (
        Annotated[
            str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]*$")
        ]
        | None
    ) = Field(default=None, description="标准号, e.g. GB/T 32169.1-2015; null for one still to be drafted")
    title: Line = Field(description="标准名称 its title")
    level: StandardLevel = Field(
        description="级别 national (国家标准), sector (行业标准), local (地方标准), group (团体标准) or enterprise (企业标准)"
    )
    status: StandardStatus = Field(description="existing (现行) or to_be_drafted (待制定)")


class Funding(Strict):
    """试点经费 the pilot's funding."""

    amount_cny: StrictInt = Field(ge=0, le=100_000_000_000, description="Amount in yuan (人民币元), a whole number")
    sources: Note | None = Field(default=None, description="经费来源 where the money comes from")


class Attestation(Strict):
    """The applicant's answer to one eligibility condition (申报条件) of the call."""

    condition: StrictInt = Field(
        ge=1, le=20, description="The condition's number (`GET /calls/{call_id}`: `conditions[].number`)"
    )
    attested: StrictBool = Field(description="Whether the applicant attests that it is met")
    note: Note | None = Field(default=None, description="A note on it")


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

    domain: Domain | None = Field(default=None, description="试点领域 the field of the pilot")
    recommender_id: Id | None = Field(default=None, description="A province bureau or a member unit (推荐单位)")
    parties: Parties | None = Field(default=None, description="参与单位 the units named on the form")
    contact: Contact | None = Field(default=None, description="联系人 the contact person")
    period: Period | None = Field(default=None, description="试点期 the pilot period")
    sections: SectionTexts | None = Field(
        default=None, max_length=30, description="Narrative sections by key (see the call's `sections`)"
    )
    standards: list[StandardRow] | None = Field(
        default=None, max_length=1000, description="标准体系表 the standards of the pilot"
    )
    funding: Funding | None = Field(default=None, description="试点经费 the funding")
    eligibility: list[Attestation] | None = Field(
        default=None, max_length=20, description="申报条件 the applicant's attestations, one per condition of the call"
    )


class ApplicationCreate(ApplicationFields):
    """A new application (申请书) in a call, saved as a draft: every member but `call_id` and `title` may come later."""

    call_id: Id = Field(description="征集批次 id of the call (`GET /calls/{call_id}`)")
    title: Line = Field(description="试点项目名称, e.g. 〈地区〉〈领域〉标准化试点")


class ApplicationUpdate(ApplicationFields):
    """The form after a merge patch (RFC 7396): members sent replace, objects merge into the stored ones,
    `null` removes a member (the title cannot be removed)."""

    title: Line | None = Field(
        default=None, json_schema_extra=NOT_NULL, description="试点项目名称 the pilot's name (cannot be removed)"
    )  # null refused: "cannot be removed"


class SignOff(BaseModel):
    """One required party's sign-off (签章意见) on the frozen content."""

    role: PartyRole = Field(
        description="The party: undertaking (承担单位), participating (参加单位), guarantor (保证单位) or guidance (业务指导单位)"
    )
    organization_id: str = Field(description="The party's organization")
    status: SignOffStatus = Field(description="pending (待签), agreed (同意) or disagreed (不同意)")
    endorsement_id: str | None = Field(default=None, description="The sign-off recorded, once there is one")
    mode: EndorsementMode | None = Field(default=None, description="online (在线签署) or paper (纸质盖章页)")
    verification: VerificationState | None = Field(
        default=None, description="Paper sign-offs: the reviewer's verification"
    )
    recorded_at: datetime | None = Field(default=None, description="When it was recorded")


class ApplicationPublic(BaseModel):
    """An application (申请书) with its state, sign-offs and what the caller may do next."""

    id: str = Field(description="申请书 id of the application")
    call_id: str = Field(description="征集批次 id of the call (`GET /calls/{call_id}`)")
    title: str = Field(description="试点项目名称 the pilot's name")
    state: StateName = Field(
        description="申请书状态 state: draft (草稿), endorsing (签章中), provincial_review (推荐单位审核), recommended (已推荐), submitted (已报送), approved (已批准), not_approved (未批准), returned (退回修改), rejected (不予推荐), withdrawn (已撤回)"
    )
    version: int = Field(description="Increases with every change (a change sends the `ETag` last read as `If-Match`)")
    content_digest: str | None = Field(description="SHA-256 of the frozen content and attachments (set while frozen)")
    undertaking_org_id: str = Field(description="试点承担单位 the undertaking unit, which applies")
    province_code: str = Field(description="The undertaking unit's province (GB/T 2260 code)")
    entered_by_org_id: str | None = Field(
        description="A recommender that entered the application for a unit; null when the unit did"
    )
    # Built from the store without re-validation (service.represent); the document names the request side's
    # shapes for these, which the stored content passed (STORED_SHAPES, applied by app.openapi.stored_shapes).
    domain: dict[str, Any] | None = Field(description="试点领域 the field of the pilot")
    recommender_id: str | None = Field(
        description="推荐单位 id of the recommender: a provincial market-supervision bureau or a member unit"
    )
    parties: dict[str, Any] = Field(description="参与单位 the units named on the form")
    contact: dict[str, Any] | None = Field(description="联系人 the contact person")
    period: dict[str, Any] | None = Field(description="试点期 the pilot period")
    sections: StoredSections = Field(description="正文章节 the narrative sections by key")
    standards: list[dict[str, Any]] = Field(description="标准体系表 the standards of the pilot")
    funding: dict[str, Any] | None = Field(description="试点经费 the funding")
    eligibility: list[dict[str, Any]] = Field(description="申报条件 the applicant's attestations")
    sign_offs: list[SignOff] = Field(description="Sign-off status of every required party")
    allowed_actions: list[ApplicationAction] = Field(
        description="What the caller may do now, judged by the application's state, the caller's roles, the "
        "call's deadline and the sign-offs (`endorse` while one is pending, `verify_paper_endorsement` while a "
        "paper sign-off is there to verify or to correct, `recommend` only while no paper sign-off is rejected); "
        "not by the form's content. So `submit` is offered for an incomplete form too, and taking it is then "
        "refused with 422 `application_invalid` (`GET /applications/{application_id}/validation` lists what is "
        "missing), as are the checks made on the request itself (an opinion to return or reject)."
    )
    outcome_document_number: str | None = Field(description="下达文号 of the approving document, once approved")
    created_at: datetime = Field(description="When it was created (RFC 3339, UTC)")
    updated_at: datetime = Field(description="When it last changed (RFC 3339, UTC)")
    submitted_at: datetime | None = Field(description="When it was first submitted for sign-off; null for a draft")


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
    """An application (申请书) as listed."""

    id: str = Field(description="申请书 id of the application")
    call_id: str = Field(description="征集批次 id of the call (`GET /calls/{call_id}`)")
    title: str = Field(description="试点项目名称 the pilot's name")
    state: StateName = Field(description="申请书状态 state")
    version: int = Field(description="Increases with every change (a change sends the `ETag` last read as `If-Match`)")
    undertaking_org_id: str = Field(description="试点承担单位 the undertaking unit")
    recommender_id: str | None = Field(
        description="推荐单位 id of the recommender: a provincial market-supervision bureau or a member unit"
    )
    province_code: str = Field(description="The undertaking unit's province (GB/T 2260 code)")
    domain_area: str | None = Field(description="试点领域 area code, e.g. `1.1`")
    content_digest: str | None = Field(
        description="SHA-256 (lowercase hex) of the frozen content and attachments' digests; null while the content is editable"
    )
    created_at: datetime = Field(description="When it was created (RFC 3339, UTC)")
    updated_at: datetime = Field(description="When it last changed (RFC 3339, UTC)")


class TransitionAction(StrEnum):
    """The applicant's steps: submit (提交签章), recall (撤回修改), withdraw (撤回申报), reopen (重新审核, the recommender)."""

    submit = "submit"
    recall = "recall"
    withdraw = "withdraw"
    reopen = "reopen"


class TransitionRequest(Strict):
    """A step of the applicant through the state machine."""

    action: TransitionAction = Field(
        description="submit (提交签章), recall (撤回修改, back to draft), withdraw (撤回申报) or reopen (推荐单位重新审核)"
    )
    comment: Note | None = Field(default=None, description="Why, for the record (e.g. the reason to withdraw)")


class TransitionPublic(BaseModel):
    """One step an application took (流转记录), oldest first."""

    id: str = Field(description="Transition id")
    action: str = Field(
        description="The step: a caller's action or the system's (`all_agreed`, `batch_submitted`…)",
        json_schema_extra={"enum": [*STEP_ACTIONS]},
    )
    from_state: StateName = Field(description="The state before")
    to_state: StateName = Field(description="The state after")
    actor_id: str | None = Field(description="The user who took it; null for the system's steps")
    comment: str | None = Field(description="The comment given with it")
    at: datetime = Field(description="When (RFC 3339, UTC)")


class EndorsementRequest(Strict):
    """A party's sign-off (签章意见): online by its signatory, or the applicant recording a stamped paper page."""

    role: PartyRole = Field(description="The party signing: undertaking, participating, guarantor or guidance")
    organization_id: Id = Field(description="The party's organization, as named on the form")
    decision: EndorsementDecision = Field(
        description="agree (同意) or disagree (不同意: the application returns to the applicant)"
    )
    opinion: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000, pattern=_NO_CONTROL)
    ] = Field(description="意见 the party's opinion, e.g. 同意申报")
    signatory_name: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]*$")
    ] = Field(description="签字人 the name of the person signing")
    signatory_title: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=100, pattern=r"^[^\x00-\x1f\x7f]*$")] | None
    ) = Field(default=None, description="签字人职务 their title, e.g. 副区长")
    mode: EndorsementMode = Field(
        default="online", description="online (在线签署) or paper (纸质盖章页, with `attachment_id`)"
    )
    attachment_id: Id | None = Field(
        default=None, description="Paper sign-off: the scanned stamped page (kind paper_endorsement)"
    )


class EndorsementPublic(BaseModel):
    """A recorded sign-off (签章意见) of one party."""

    id: str = Field(description="Endorsement id")
    party_role: PartyRole = Field(description="The party: undertaking, participating, guarantor or guidance")
    organization_id: str = Field(description="The party's organization")
    decision: EndorsementDecision = Field(description="agree (同意) or disagree (不同意)")
    opinion: str = Field(description="意见 the party's opinion")
    signatory_name: str = Field(description="签字人 who signed")
    signatory_title: str | None = Field(description="签字人职务 their title")
    mode: EndorsementMode = Field(description="online (在线签署) or paper (纸质盖章页)")
    attachment_id: str | None = Field(description="Paper sign-off: the scanned stamped page")
    verification: VerificationState | None = Field(
        description="Paper sign-off: pending, confirmed or rejected by the reviewer; null online"
    )
    verification_comment: str | None = Field(description="The reviewer's comment on the paper page")
    content_digest: str = Field(description="The content digest the party signed")
    recorded_by: str = Field(description="The user who recorded it")
    recorded_at: datetime = Field(description="When it was recorded")
    voided: bool = Field(description="True once the content changed after it (returned to draft): it no longer counts")


class VerificationRequest(Strict):
    """The reviewer's check of a paper sign-off page (纸质盖章页核验)."""

    verdict: Verdict = Field(description="confirmed (与原件一致) or rejected (不符: the sign-off must be redone)")
    comment: Note | None = Field(default=None, description="The reviewer's comment")


class ReviewRequest(Strict):
    """The recommender's decision (推荐单位审核意见) on an application in provincial_review."""

    decision: ReviewDecision = Field(description="recommend (推荐), return (退回修改) or reject (不予推荐)")
    opinion: Note | None = Field(default=None, description="Required to return or reject")


class ReviewPublic(BaseModel):
    """A recorded review (审核意见) by the recommender."""

    id: str = Field(description="Review id")
    decision: ReviewDecision = Field(description="recommend (推荐), return (退回修改) or reject (不予推荐)")
    opinion: str | None = Field(description="意见 the reviewer's opinion")
    reviewer_id: str = Field(description="The reviewing user")
    recommender_id: str = Field(
        description="推荐单位 id of the recommender: a provincial market-supervision bureau or a member unit"
    )
    content_digest: str | None = Field(description="The content digest reviewed")
    recorded_at: datetime = Field(description="When it was recorded")


class OutcomeRequest(Strict):
    """The office's outcome (批复结果) for a submitted application."""

    decision: OutcomeDecision = Field(description="`approve` (with the 下达 document number) or `not_approve`")
    document_number: Line | None = Field(default=None, description="The approving document, e.g. 国标委发〔2023〕5号")


# The rules of the form's check (app/applications/validation.py, and the deadline the router adds): a test
# reads their codes from the source and holds this list to them.
VALIDATION_CODES = [
    "attachment_required",
    "condition_not_attested",
    "credit_code_check_failed",
    "deadline_passed",
    "domain_item_required",
    "domain_not_open_ended",
    "duplicate_party",
    "duplicate_standard",
    "funding_missing",
    "not_a_recommender",
    "party_credit_code_missing",
    "period_span_unusual",
    "recommender_province_mismatch",
    "required",
    "standard_code_required",
    "standards_missing",
    "too_long",
    "unknown_condition",
    "unknown_domain",
    "unknown_organization",
    "unknown_section",
]


class ValidationIssue(BaseModel):
    """One finding of the form's check: where, which rule, and why."""

    code: str = Field(
        description="Stable code of the rule, e.g. `required`, `too_long`, `attachment_required`",
        json_schema_extra={"enum": [*VALIDATION_CODES]},
    )
    pointer: str = Field(description="JSON Pointer into the application, e.g. `/sections/objectives`")
    message: str = Field(description="Human-readable message in the negotiated language")


class ValidationReport(BaseModel):
    """The form's check (形式审查): errors block submission, warnings do not."""

    valid: bool = Field(description="True when there is no error: the application can be submitted")
    errors: list[ValidationIssue] = Field(description="What must be fixed before submitting")
    warnings: list[ValidationIssue] = Field(description="What deserves a look but does not block")
