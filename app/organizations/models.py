"""Organizations: undertaking units, parties, recommenders (province bureaus, member units), the office."""

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from app.core.types import utc_column


class OrganizationKind(StrEnum):
    """单位类型 kind of organization; market_supervision_bureau (市场监管局) and joint_office (联席办) are seeded."""

    government_agency = "government_agency"
    public_institution = "public_institution"
    social_organization = "social_organization"
    enterprise = "enterprise"
    market_supervision_bureau = "market_supervision_bureau"
    joint_office = "joint_office"
    other = "other"


class RecommenderKind(StrEnum):
    """推荐单位类别: province (省级市场监管部门) or member_unit (联席会议成员单位)."""

    province = "province"
    member_unit = "member_unit"


class Organization(SQLModel, table=True):
    __tablename__ = "organizations"

    id: str = Field(primary_key=True, max_length=32)
    # Seeded organizations have a readable key: "office", a province code, "660000" for XPCC.
    key: str | None = Field(default=None, max_length=32, unique=True)
    name: str = Field(max_length=200)
    name_en: str | None = Field(default=None, max_length=200)
    credit_code: str | None = Field(default=None, max_length=18, unique=True)
    # An admin may register a known-good code that fails the GB 32100 check character.
    credit_code_check_failed: bool = False
    province_code: str = Field(max_length=6, index=True)
    kind: str = Field(max_length=40)
    recommender_kind: str | None = Field(default=None, max_length=20, index=True)
    # A recommender's own earlier cut-off for its applicants (optional, UTC).
    internal_deadline: datetime | None = utc_column(nullable=True)
    version: int = 1
    created_at: datetime = utc_column()
    updated_at: datetime = utc_column()
