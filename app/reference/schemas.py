"""API shapes of the reference data."""

from datetime import date, datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictInt, StringConstraints

from app.core.schema_extra import NOT_NULL
from app.core.settings import AttachmentType

Label = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")
]


class ProvincePublic(BaseModel):
    """A province (省级行政区) and its recommender, the provincial market-supervision bureau."""

    code: str = Field(description="GB/T 2260 code; 660000 is the pseudo-code of XPCC")
    name: str = Field(description="Chinese name, e.g. 山东省")
    name_en: str = Field(description="English name, e.g. Shandong")
    recommender_id: str = Field(description="The provincial market-supervision bureau's organization id")
    recommender_name: str = Field(description="The bureau's name, e.g. 山东省市场监督管理局")


class CatalogueNode(BaseModel):
    """One entry of a call's catalogue of pilot fields (试点领域): an area with its items."""

    code: str = Field(description="Its code: `1.1` for an area, `1.1.3` for an item")
    name: str = Field(description="Chinese name, e.g. 政务服务")
    name_en: str = Field(description="English name")
    open_ended: bool = Field(default=False, description="The notice ends this list with 等: 'other' is allowed")
    children: list["CatalogueNode"] = Field(default=[], description="Its items (level 3), if any")


class Condition(BaseModel):
    """An eligibility condition (申报条件) an applicant attests to."""

    number: int = Field(description="Its number, as `eligibility[].condition` names it")
    text: str = Field(description="The condition in Chinese, as the notice words it")
    text_en: str = Field(description="The condition in English")


class FormSection(BaseModel):
    """A narrative section of the form (正文章节)."""

    key: str = Field(description="Its key in `sections` (`basic_situation`…)")
    title: str = Field(description="Its Chinese title, e.g. 基本情况")
    title_en: str = Field(description="Its English title")
    required: bool = Field(description="Whether submission needs it")
    max_length: int = Field(description="Its longest length in characters")


class CallSummary(BaseModel):
    """A call for applications (征集批次) as listed."""

    id: str = Field(description="Call id")
    key: str = Field(description="Readable key, e.g. `9th-batch`")
    name: str = Field(description="Chinese name, e.g. 第九批社会管理和公共服务综合标准化试点")
    name_en: str = Field(description="English name")
    notice_number: str = Field(description="文号 of the notice that opened it, e.g. 国标委办发〔2022〕1号")
    issue_date: date = Field(description="When the notice was issued")
    deadline: datetime = Field(description="Deadline for recommenders' submissions, with offset (Beijing time)")
    is_practice: bool = Field(description="A practice call (练习) of the demo: its applications are never counted")
    version: int = Field(description="Increases with every change (a change sends the `ETag` last read as `If-Match`)")


class AttachmentRule(BaseModel):
    """How many files of one kind an application may (or must) carry, and of which types."""

    required: bool = Field(False, description="Submission needs at least one")
    max_count: int | None = Field(None, ge=1, description="At most this many of the kind")
    types: list[AttachmentType] | None = Field(None, description="Only these types (else the service's allowed types)")


class CallContact(BaseModel):
    """Where recommenders send the list and its papers, as the notice gives it (联系人、电话、邮寄地址)."""

    unit: str | None = Field(None, description="The office's unit (e.g. 市场监管总局标准技术司)")
    persons: list[str] = Field([], description="联系人")
    phones: list[str] = Field([], description="电话")
    fax: str | None = Field(None, description="传真")
    address: str | None = Field(None, description="邮寄地址")
    postcode: str | None = Field(None, description="邮政编码")
    electronic_route: str | None = Field(None, description="电子版报送路径")


class CallPublic(CallSummary):
    """A call for applications (征集批次): its catalogue, eligibility conditions, form sections, attachment rules and deadline."""

    catalogue: list[CatalogueNode] = Field(description="试点领域 the fields an application may choose (`domain`)")
    conditions: list[Condition] = Field(description="申报条件 the eligibility conditions to attest")
    sections: list[FormSection] = Field(description="正文章节 the form's narrative sections")
    contact: CallContact = Field(description="联系人 contact persons and postal address for the list and its papers")
    attachment_rules: dict[str, AttachmentRule] = Field(description="By attachment kind (`application_form_scan`…)")
    quota_per_recommender: int | None = Field(
        description="推荐名额 how many applications each recommender may list; null for no limit"
    )
    created_at: datetime = Field(description="When it was created (RFC 3339, UTC)")
    updated_at: datetime = Field(description="When it last changed (RFC 3339, UTC)")


class CallCreate(BaseModel):
    """A new call (office only); its catalogue and rules can be copied from an earlier call."""

    model_config = ConfigDict(extra="forbid")

    key: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,63}$")] = Field(
        description="Readable key, lowercase letters, digits and `-`, e.g. `10th-batch`"
    )
    name: Label = Field(description="Chinese name")
    name_en: Label = Field(description="English name")
    notice_number: Label = Field(description="文号 of the notice, e.g. 国标委办发〔2099〕1号")
    issue_date: date = Field(description="When the notice was issued")
    deadline: AwareDatetime = Field(description="Deadline for recommenders' submissions (RFC 3339 with offset)")
    copy_from_call_id: str | None = Field(
        default=None,
        max_length=32,
        description="Copy catalogue, conditions, sections and attachment rules from this call",
    )
    quota_per_recommender: StrictInt | None = Field(
        default=None, ge=1, le=10000, description="推荐名额 per recommender; omitted or null for no limit"
    )


class CallUpdate(BaseModel):
    """A change of a call's deadline or quota (office only), with its reason."""

    model_config = ConfigDict(extra="forbid")

    deadline: AwareDatetime | None = Field(
        default=None, json_schema_extra=NOT_NULL, description="The new deadline (RFC 3339 with offset)"
    )
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)] = Field(
        description="Why the call changes (kept in the audit trail)"
    )
    quota_per_recommender: StrictInt | None = Field(
        default=None, ge=1, le=10000, description="The new quota per recommender"
    )
