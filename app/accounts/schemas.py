"""API shapes of users, tokens and API keys."""

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints

from app.accounts.models import Role
from app.core.schema_extra import NOT_NULL

Username = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{3,64}$")]
Password = Annotated[str, Field(min_length=8, max_length=256)]
# One mailbox (addr-spec): no spaces, quotes, angle brackets or control characters, a dotted domain.
Email = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        max_length=254,
        pattern=r"^[^@\s\x00-\x1f\x7f<>()\[\],;:\"]{1,64}@[A-Za-z0-9.-]+\.[A-Za-z0-9-]{2,63}$",
    ),
    Field(description="Where notices by e-mail go (docs/notifications.md)", examples=["wangfang@example.cn"]),
]
Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]*$")
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="Seconds until the token expires")
    expires_at: datetime


class UserCreate(Strict):
    username: Username
    display_name: Name
    organization_id: str = Field(max_length=32)
    roles: list[Role] = Field(min_length=1, max_length=5)
    password: Password
    email: Email | None = None
    email_notifications: StrictBool = Field(default=True, description="false: no notices by e-mail")


class UserUpdate(Strict):
    """A merge patch of the user: members sent replace; `email: null` removes the address, the others
    cannot be removed (`null` is 422). A user who is not an admin may patch their own `email` and
    `email_notifications`, nothing else."""

    display_name: Name | None = Field(default=None, json_schema_extra=NOT_NULL)
    roles: list[Role] | None = Field(default=None, min_length=1, max_length=5, json_schema_extra=NOT_NULL)
    password: Password | None = Field(default=None, json_schema_extra=NOT_NULL)
    is_active: StrictBool | None = Field(default=None, json_schema_extra=NOT_NULL)
    email: Email | None = None
    email_notifications: StrictBool | None = Field(default=None, json_schema_extra=NOT_NULL)


class UserPublic(BaseModel):
    id: str
    username: str
    display_name: str
    organization_id: str
    roles: list[Role]
    is_active: bool
    email: str | None
    email_notifications: bool
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
    recommender_kind: str | None
    roles: list[Role]
    authenticated_with: str = Field(description="`token` or `api_key`")
    email: str | None = Field(description="Where notices by e-mail go (`PATCH /users/{id}` changes it)")
    email_notifications: bool
    version: int = Field(description="The user's version: `If-Match` of `PATCH /users/{id}` on oneself")


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
