"""The application's form content (申请书的内容): the shapes clients send, the closed vocabularies, and the
shapes the store keeps once they passed (``Stored*``, documented as the request side's)."""

import re
from datetime import date
from enum import StrEnum
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    StrictBool,
    StrictInt,
    StringConstraints,
    TypeAdapter,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema
from typing_extensions import TypedDict

from app.applications.workflow import STEPS
from app.core.errors import DomainValueError
from app.core.i18n import Text
from app.core.schema_extra import NOT_NULL
from app.reference import labels as _labels  # noqa: F401  (registers the choices' Chinese labels)

NO_CONTROL = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"  # newlines and tabs allowed in long text
Line = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")
]
LongText = Annotated[str, StringConstraints(max_length=20000, pattern=NO_CONTROL)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000, pattern=NO_CONTROL)]
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


# The content as stored: what passed the shapes above, as JSON (dates as YYYY-MM-DD text). The public model
# is built from the store without re-validation; each is documented as the request side's shape it passed.
class StoredDomain(TypedDict, total=False):
    area: str
    item: str | None
    other: str | None


class StoredParties(TypedDict, total=False):
    undertaking: str | None
    participating: list[str]
    guarantor: str | None
    guidance: str | None


class StoredContact(TypedDict, total=False):
    name: str
    phone: str
    email: str


class StoredPeriod(TypedDict, total=False):
    start: str
    end: str


class StoredStandard(TypedDict, total=False):
    code: str | None
    title: str
    level: str
    status: str


class StoredFunding(TypedDict, total=False):
    amount_cny: int
    sources: str | None


class StoredAttestation(TypedDict, total=False):
    condition: int
    attested: bool
    note: str | None


class _StoredAs:
    """A stored member: typed as its ``Stored*`` dict for the code, carried as the plain mapping the store holds
    (only validated content is stored: nothing is re-parsed or dropped on the way out), and documented as the
    request side's model it passed (a reference to that component)."""

    def __init__(self, model: type[BaseModel]) -> None:
        self.model = model

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.dict_schema(core_schema.str_schema(), core_schema.any_schema())

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        model = self.model.__pydantic_core_schema__
        return handler(core_schema.definitions_schema(core_schema.definition_reference_schema(model["ref"]), [model]))


def untitled_stored_members(schema: dict[str, Any], model: type[BaseModel]) -> None:
    """A model's ``json_schema_extra``: its stored members documented exactly as the shapes they passed
    (a reference and a description; no title of the member's own)."""
    for name, info in model.model_fields.items():
        member = schema["properties"].get(info.alias or name)
        if member is not None and _stored(info.annotation):
            member.pop("title", None)


def _stored(annotation: Any) -> bool:
    if get_origin(annotation) is Annotated:
        return any(isinstance(m, _StoredAs) for m in get_args(annotation)[1:])
    return any(_stored(arg) for arg in get_args(annotation))


DomainShape = Annotated[StoredDomain, _StoredAs(Domain)]
# A mapping until service.represent builds a StoredParties (it passes ``content.get("parties") or {}``).
PartiesShape = Annotated[dict[str, Any], _StoredAs(Parties)]
ContactShape = Annotated[StoredContact, _StoredAs(Contact)]
PeriodShape = Annotated[StoredPeriod, _StoredAs(Period)]
StandardShape = Annotated[StoredStandard, _StoredAs(StandardRow)]
FundingShape = Annotated[StoredFunding, _StoredAs(Funding)]
AttestationShape = Annotated[StoredAttestation, _StoredAs(Attestation)]
