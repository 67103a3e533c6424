"""API shapes of the application (申请书): what clients send and what they get back. The form's content
shapes live in ``app.applications.form_shapes`` and are named here too."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.applications.form_shapes import (
    NO_CONTROL,
    PHONE_PATTERN,
    SECTION_KEYS,
    STEP_ACTIONS,
    ApplicationAction,
    ApplicationCreate,
    ApplicationFields,
    ApplicationUpdate,
    Attestation,
    AttestationShape,
    Contact,
    ContactShape,
    Domain,
    DomainShape,
    Email,
    EndorsementDecision,
    EndorsementMode,
    Funding,
    FundingShape,
    Id,
    Line,
    LongText,
    Note,
    OutcomeDecision,
    Parties,
    PartiesShape,
    PartyRole,
    Period,
    PeriodShape,
    Phone,
    ReviewDecision,
    SectionKey,
    Sections,
    SectionTexts,
    SignOffStatus,
    StandardLevel,
    StandardRow,
    StandardShape,
    StandardStatus,
    StateName,
    StoredSections,
    Strict,
    Verdict,
    VerificationState,
    untitled_stored_members,
)

# The content shapes are part of this module's names (most callers import them from here).
__all__ = [
    "ApplicationAction",
    "ApplicationCreate",
    "ApplicationFields",
    "ApplicationPublic",
    "ApplicationSummary",
    "ApplicationUpdate",
    "Attestation",
    "AttestationShape",
    "Contact",
    "ContactShape",
    "Domain",
    "DomainShape",
    "Email",
    "EndorsementDecision",
    "EndorsementMode",
    "EndorsementPublic",
    "EndorsementRequest",
    "Funding",
    "FundingShape",
    "Id",
    "Line",
    "LongText",
    "NO_CONTROL",
    "Note",
    "OutcomeDecision",
    "OutcomeRequest",
    "PHONE_PATTERN",
    "Parties",
    "PartiesShape",
    "PartyRole",
    "Period",
    "PeriodShape",
    "Phone",
    "ReviewDecision",
    "ReviewPublic",
    "ReviewRequest",
    "SECTION_KEYS",
    "STEP_ACTIONS",
    "SectionKey",
    "SectionTexts",
    "Sections",
    "SignOff",
    "SignOffStatus",
    "StandardLevel",
    "StandardRow",
    "StandardShape",
    "StandardStatus",
    "StateName",
    "StoredSections",
    "Strict",
    "TransitionAction",
    "TransitionPublic",
    "TransitionRequest",
    "VALIDATION_CODES",
    "ValidationIssue",
    "ValidationReport",
    "Verdict",
    "VerificationRequest",
    "VerificationState",
]


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

    model_config = ConfigDict(json_schema_extra=untitled_stored_members)

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
    # Built from the store without re-validation (service.represent): the content as stored, documented as
    # the request side's shapes it passed.
    domain: DomainShape | None = Field(description="试点领域 the field of the pilot")
    recommender_id: str | None = Field(
        description="推荐单位 id of the recommender: a provincial market-supervision bureau or a member unit"
    )
    parties: PartiesShape = Field(description="参与单位 the units named on the form")
    contact: ContactShape | None = Field(description="联系人 the contact person")
    period: PeriodShape | None = Field(description="试点期 the pilot period")
    sections: StoredSections = Field(description="正文章节 the narrative sections by key")
    standards: list[StandardShape] = Field(description="标准体系表 the standards of the pilot")
    funding: FundingShape | None = Field(description="试点经费 the funding")
    eligibility: list[AttestationShape] = Field(description="申报条件 the applicant's attestations")
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
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000, pattern=NO_CONTROL)
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
