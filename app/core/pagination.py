"""Keyset pagination with opaque page tokens."""

import base64
from typing import Annotated, Any, Generic, TypeVar

import orjson
from fastapi import Query
from pydantic import BaseModel

from app.core.errors import FieldError, ValidationFailed
from app.core.i18n import Text

T = TypeVar("T")

PageSize = Annotated[int, Query(ge=1, le=500, description="Items per page (default 50, max 500)")]
PageToken = Annotated[
    str | None, Query(max_length=512, description="Opaque token from `next_page_token` of the previous page")
]


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_page_token: str | None = None


def encode_token(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(values)).decode().rstrip("=")


def decode_token(token: str | None, arity: int) -> list[Any] | None:
    if token is None:
        return None
    try:
        values = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if isinstance(values, list) and len(values) == arity:
            return values
    except (ValueError, orjson.JSONDecodeError):
        pass
    raise ValidationFailed(
        errors=[FieldError("query:/page_token", "invalid_page_token", Text("分页令牌无效", "Invalid page token"))]
    )
