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
    code: str = Field(description="GB/T 2260 code; 660000 is the pseudo-code of XPCC")
    name: str
    name_en: str
    recommender_id: str = Field(description="The provincial market-supervision bureau's organization id")
    recommender_name: str


class CatalogueNode(BaseModel):
    code: str
    name: str
    name_en: str
    open_ended: bool = Field(default=False, description="The notice ends this list with 等: 'other' is allowed")
    children: list["CatalogueNode"] = []


class Condition(BaseModel):
    number: int
    text: str
    text_en: str


class FormSection(BaseModel):
    key: str
    title: str
    title_en: str
    required: bool
    max_length: int


class CallSummary(BaseModel):
    id: str
    key: str
    name: str
    name_en: str
    notice_number: str
    issue_date: date
    deadline: datetime = Field(description="Deadline for recommenders' submissions, with offset (Beijing time)")
    is_practice: bool
    version: int


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
    contact: CallContact = Field(description="Contact persons and postal address for the list and its papers")
    catalogue: list[CatalogueNode]
    conditions: list[Condition]
    sections: list[FormSection]
    attachment_rules: dict[str, AttachmentRule] = Field(description="By attachment kind (`application_form_scan`…)")
    quota_per_recommender: int | None
    created_at: datetime
    updated_at: datetime


class CallCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,63}$")]
    name: Label
    name_en: Label
    notice_number: Label
    issue_date: date
    deadline: AwareDatetime
    copy_from_call_id: str | None = Field(
        default=None,
        max_length=32,
        description="Copy catalogue, conditions, sections and attachment rules from this call",
    )
    quota_per_recommender: StrictInt | None = Field(default=None, ge=1, le=10000)


class CallUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    deadline: AwareDatetime | None = Field(default=None, json_schema_extra=NOT_NULL)
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)] = Field(
        description="Why the call changes (kept in the audit trail)"
    )
    quota_per_recommender: StrictInt | None = Field(default=None, ge=1, le=10000)
