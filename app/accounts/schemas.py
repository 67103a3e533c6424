"""API shapes of users, tokens and API keys."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints

from app.accounts.models import Role
from app.organizations.models import RecommenderKind

Username = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{3,64}$")]
Password = Annotated[str, Field(min_length=8, max_length=256)]
Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]*$")
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the token expires")
    expires_at: datetime


class UserCreate(Strict):
    username: Username
    display_name: Name
    organization_id: str = Field(max_length=32)
    roles: list[Role] = Field(min_length=1, max_length=5)
    password: Password


class UserUpdate(Strict):
    display_name: Name | None = None
    roles: list[Role] | None = Field(default=None, min_length=1, max_length=5)
    password: Password | None = None
    is_active: StrictBool | None = None


class UserPublic(BaseModel):
    id: str
    username: str
    display_name: str
    organization_id: str
    roles: list[Role]
    is_active: bool
    version: int
    created_at: datetime
    updated_at: datetime


class MePublic(BaseModel):
    id: str
    username: str
    display_name: str
    organization_id: str
    organization_name: str
    province_code: str
    recommender_kind: RecommenderKind | None
    roles: list[Role]
    authenticated_with: Literal["token", "api_key"] = Field(description="`token` or `api_key`")


class ApiKeyCreate(Strict):
    name: Name
    user_id: str | None = Field(default=None, max_length=32, description="Admin only; defaults to the caller")


class ApiKeyPublic(BaseModel):
    id: str
    name: str
    user_id: str
    key_hint: str = Field(description="The first characters of the key")
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyPublic):
    key: str = Field(description="The key itself; shown only in this response")
