"""Keyset pagination with opaque page tokens."""

import base64
from datetime import datetime
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


def _invalid_token() -> ValidationFailed:
    return ValidationFailed(
        errors=[FieldError("query:/page_token", "invalid_page_token", Text("分页令牌无效", "Invalid page token"))]
    )


def decode_token(token: str | None, arity: int) -> list[str] | None:
    """The values of a token made by ``encode_token`` (strings); anything else is a 422."""
    if token is None:
        return None
    try:
        values = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if (
            isinstance(values, list)
            and len(values) == arity
            and all(isinstance(v, str) and "\x00" not in v for v in values)
        ):
            return values
    except (ValueError, orjson.JSONDecodeError):
        pass
    raise _invalid_token()


def token_time(value: str) -> datetime:
    """A timestamp carried in a page token (as ``datetime.isoformat`` wrote it)."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _invalid_token() from None
    if moment.tzinfo is None:
        raise _invalid_token()
    return moment
