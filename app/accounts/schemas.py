"""API shapes of users, tokens and API keys."""

from datetime import datetime
from typing import Annotated, Literal

from fastapi import Form
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints

from app.accounts.models import Role
from app.core.schema_extra import NOT_NULL
from app.organizations.models import RecommenderKind

Username = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{3,64}$")]
Password = Annotated[str, Field(min_length=8, max_length=256)]
# One mailbox (addr-spec): no spaces, quotes, angle brackets or control characters, a dotted domain.
Email = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        max_length=254,
        pattern=r'^[^@\s\x00-\x1f\x7f<>()\[\],;:"]{1,64}@[A-Za-z0-9.-]+\.[A-Za-z0-9-]{2,63}$',
    ),
    Field(description="Where notices by e-mail go (docs/notifications.md)", examples=["wangfang@example.cn"]),
]
Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]*$")
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TokenResponse(BaseModel):
    """A bearer token (`smpt_…`) from the OAuth2 password flow."""

    access_token: str = Field(description="The token: send it as `Authorization: Bearer …`")
    token_type: Literal["bearer"] = Field(default="bearer", description="Always `bearer`")
    expires_in: int = Field(description="Seconds until the token expires")
    expires_at: datetime = Field(description="When the token stops working (RFC 3339, UTC)")


class UserCreate(Strict):
    """A new user account of an organization (admin only)."""

    username: Username = Field(
        description="Sign-in name: 3–64 letters, digits, `_`, `.` or `-`; unique regardless of case"
    )
    display_name: Name = Field(description="The person's name as shown to others, e.g. 王芳")
    organization_id: str = Field(max_length=32, description="The organization (单位) the user belongs to and acts for")
    roles: list[Role] = Field(
        min_length=1,
        max_length=5,
        description="One or more roles: applicant (申报人), signatory (签章人), reviewer (推荐单位审核人), office (联席办), admin",
    )
    password: Password = Field(description="At least 8 characters; stored as an Argon2id hash")
    email: Email | None = Field(default=None, description="Where notices by e-mail (邮件通知) go; none: no notices")
    email_notifications: StrictBool = Field(default=True, description="false: no notices by e-mail")


class UserUpdate(Strict):
    """A merge patch of the user account: members sent replace; `email: null` removes the address, the others
    cannot be removed (`null` is 422). A user who is not an admin may patch their own `email` and
    `email_notifications`, nothing else."""

    display_name: Name | None = Field(
        default=None, json_schema_extra=NOT_NULL, description="The person's name as shown to others"
    )
    roles: list[Role] | None = Field(
        default=None,
        min_length=1,
        max_length=5,
        json_schema_extra=NOT_NULL,
        description="The whole new set of roles (replaces the old one)",
    )
    password: Password | None = Field(
        default=None, json_schema_extra=NOT_NULL, description="A new password (at least 8 characters)"
    )
    is_active: StrictBool | None = Field(
        default=None,
        json_schema_extra=NOT_NULL,
        description="`false` deactivates the account: its tokens and API keys stop working",
    )
    email: Email | None = Field(default=None, description="Where notices by e-mail go; `null` removes it")
    email_notifications: StrictBool | None = Field(
        default=None, json_schema_extra=NOT_NULL, description="false: no notices by e-mail"
    )


class UserPublic(BaseModel):
    """A user account of an organization."""

    id: str = Field(description="User id")
    username: str = Field(description="Sign-in name")
    display_name: str = Field(description="The person's name as shown to others")
    organization_id: str = Field(description="The organization (单位) the user belongs to")
    roles: list[Role] = Field(
        description="The user's roles: applicant (申报人), signatory (签章人), reviewer (推荐单位审核人), office (联席办), admin"
    )
    is_active: bool = Field(description="`false` once deactivated: the account can no longer sign in")
    email: str | None = Field(description="Where notices by e-mail (邮件通知) go; null: none")
    email_notifications: bool = Field(description="false: the user gets no notices by e-mail")
    version: int = Field(description="Increases with every change (a change sends the `ETag` last read as `If-Match`)")
    created_at: datetime = Field(description="When it was created (RFC 3339, UTC)")
    updated_at: datetime = Field(description="When it last changed (RFC 3339, UTC)")


class MePublic(BaseModel):
    """The caller: who the credentials belong to, for which organization and with which roles."""

    id: str = Field(description="The caller's user id")
    username: str = Field(description="Sign-in name")
    display_name: str = Field(description="The person's name as shown to others")
    organization_id: str = Field(description="The caller's organization (单位)")
    organization_name: str = Field(description="That organization's name")
    province_code: str = Field(description="That organization's province (GB/T 2260 code, e.g. 370000)")
    recommender_kind: RecommenderKind | None = Field(
        description="Set when the organization is a recommender (推荐单位): `province` or `member_unit`"
    )
    roles: list[Role] = Field(description="The caller's roles")
    authenticated_with: Literal["token", "api_key"] = Field(description="`token` or `api_key`")
    email: str | None = Field(description="Where notices by e-mail go (`PATCH /users/{id}` changes it)")
    email_notifications: bool = Field(description="false: the caller gets no notices by e-mail")
    version: int = Field(description="The user's version: `If-Match` of `PATCH /users/{id}` on oneself")


class ApiKeyCreate(Strict):
    """A new API key (`smps_…`) for a machine client."""

    name: Name = Field(description="What the key is for, e.g. 省局业务系统")
    user_id: str | None = Field(default=None, max_length=32, description="Admin only; defaults to the caller")


class ApiKeyPublic(BaseModel):
    """An API key as listed: never the key itself, only its first characters."""

    id: str = Field(description="API key id (`DELETE /api-keys/{key_id}` revokes it)")
    name: str = Field(description="What the key is for")
    user_id: str = Field(description="The user the key acts as")
    key_hint: str = Field(description="The first characters of the key")
    created_at: datetime = Field(description="When it was created (RFC 3339, UTC)")
    last_used_at: datetime | None = Field(description="When a request last authenticated with it; null if never")
    revoked_at: datetime | None = Field(description="When it was revoked; null while it works")


class ApiKeyCreated(ApiKeyPublic):
    """A new API key, with the key itself (shown only in this response)."""

    key: str = Field(description="The key itself; shown only in this response")


class TokenForm(OAuth2PasswordRequestForm):
    """The OAuth2 password form (RFC 6749 §4.3) as FastAPI reads it, each member described."""

    def __init__(
        self,
        *,
        grant_type: Annotated[
            str | None, Form(pattern="^password$", description="`password` (optional: the only grant)")
        ] = None,
        username: Annotated[str, Form(description="Sign-in name (any case)")],
        password: Annotated[str, Form(json_schema_extra={"format": "password"}, description="The user's password")],
        scope: Annotated[str, Form(description="Ignored: a token carries the user's roles")] = "",
        client_id: Annotated[str | None, Form(description="Ignored")] = None,
        client_secret: Annotated[
            str | None, Form(json_schema_extra={"format": "password"}, description="Ignored")
        ] = None,
    ) -> None:
        super().__init__(
            grant_type=grant_type,
            username=username,
            password=password,
            scope=scope,
            client_id=client_id,
            client_secret=client_secret,
        )
