"""API shapes of organizations."""

from datetime import datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictBool, StringConstraints

from app.core.schema_extra import NOT_NULL
from app.organizations.models import OrganizationKind, RecommenderKind

OrgName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")
]
ProvinceCode = Annotated[str, StringConstraints(pattern=r"^\d{6}$")]
CreditCode = Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, min_length=1, max_length=18)]


class OrganizationCreate(BaseModel):
    """A new organization (单位): an applicant, a party to an application or a recommender."""

    model_config = ConfigDict(extra="forbid")

    name: OrgName = Field(description="Its full Chinese name, e.g. 济南市历下区人民政府")
    name_en: OrgName | None = Field(default=None, description="Its English name, if it has one")
    credit_code: CreditCode = Field(description="Unified social credit code (GB 32100-2015), 18 characters")
    province_code: ProvinceCode = Field(description="GB/T 2260 province code, e.g. 370000; 660000 for XPCC")
    kind: OrganizationKind = Field(
        description="单位类型 kind: government_agency (机关), public_institution (事业单位), social_organization (社会团体), enterprise (企业), other"
    )
    recommender_kind: RecommenderKind | None = Field(
        default=None, description="Set for member units of the joint meeting"
    )
    accept_failed_check_character: StrictBool = Field(
        default=False,
        description="Admin only: register a known-good code whose 18th character fails the GB 32100 check; it is flagged",
    )


class OrganizationUpdate(BaseModel):
    """Partial update (JSON merge) of an organization: only the members sent change."""

    model_config = ConfigDict(extra="forbid")

    # These may change but never be emptied (the router refuses their null).
    name: OrgName | None = Field(
        default=None, json_schema_extra=NOT_NULL, description="Its full Chinese name (cannot be removed)"
    )
    name_en: OrgName | None = Field(default=None, description="Its English name; `null` removes it")
    kind: OrganizationKind | None = Field(
        default=None, json_schema_extra=NOT_NULL, description="单位类型 kind (cannot be removed)"
    )
    internal_deadline: AwareDatetime | None = Field(
        default=None, description="A recommender's own cut-off for its applicants (RFC 3339 with offset)"
    )


class OrganizationPublic(BaseModel):
    """An organization (单位): an applicant, a party to an application, a recommender (推荐单位) or the joint office (联席办)."""

    id: str = Field(description="Organization id")
    key: str | None = Field(description="Readable key of a seeded organization: `office`, a province code")
    name: str = Field(description="Its full Chinese name")
    name_en: str | None = Field(description="Its English name, if known")
    credit_code: str | None = Field(
        description="统一社会信用代码 unified social credit code (18 characters); null for seeded bureaus without one"
    )
    credit_code_check_failed: bool = Field(
        description="True when an admin registered a code whose check character fails GB 32100"
    )
    province_code: str = Field(description="Its province (GB/T 2260 code, e.g. 370000)")
    kind: OrganizationKind = Field(description="单位类型 kind of organization")
    recommender_kind: RecommenderKind | None = Field(
        description="推荐单位类别: `province` (a provincial bureau) or `member_unit`; null if it does not recommend"
    )
    internal_deadline: datetime | None = Field(
        description="A recommender's own cut-off for its applicants (RFC 3339); null if none"
    )
    version: int = Field(description="Increases with every change (a change sends the `ETag` last read as `If-Match`)")
    created_at: datetime = Field(description="When it was created (RFC 3339, UTC)")
    updated_at: datetime = Field(description="When it last changed (RFC 3339, UTC)")
