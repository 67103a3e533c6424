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
    model_config = ConfigDict(extra="forbid")

    name: OrgName
    name_en: OrgName | None = None
    credit_code: CreditCode = Field(description="Unified social credit code (GB 32100-2015), 18 characters")
    province_code: ProvinceCode = Field(description="GB/T 2260 province code, e.g. 370000; 660000 for XPCC")
    kind: OrganizationKind
    recommender_kind: RecommenderKind | None = Field(
        default=None, description="Set for member units of the joint meeting"
    )
    accept_failed_check_character: StrictBool = Field(
        default=False,
        description="Admin only: register a known-good code whose 18th character fails the GB 32100 check; it is flagged",
    )


class OrganizationUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # These may change but never be emptied (the router refuses their null).
    name: OrgName | None = Field(default=None, json_schema_extra=NOT_NULL)
    name_en: OrgName | None = None
    kind: OrganizationKind | None = Field(default=None, json_schema_extra=NOT_NULL)
    internal_deadline: AwareDatetime | None = Field(
        default=None, description="A recommender's own cut-off for its applicants (RFC 3339 with offset)"
    )


class OrganizationPublic(BaseModel):
    id: str
    key: str | None = Field(description="Readable key of a seeded organization: `office`, a province code")
    name: str
    name_en: str | None
    credit_code: str | None
    credit_code_check_failed: bool
    province_code: str
    kind: OrganizationKind
    recommender_kind: RecommenderKind | None
    internal_deadline: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime
