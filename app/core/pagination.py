"""Keyset pagination with opaque page tokens.

A list declares its sort key once (a ``Keyset``: columns ending in a unique one, ascending or newest
first); ``keyset_query`` orders, filters past the token and fetches one row more than the page, and
``keyset_page`` cuts the page and makes the next token from its last row; ``fetch_page`` does both
for a query of table rows.
"""

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar, cast

import orjson
import sqlalchemy as sa
from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Mapped, QueryableAttribute, Session

from app.core.errors import AppError, FieldError, ValidationFailed
from app.core.i18n import Text

T = TypeVar("T")
R = TypeVar("R")
S = TypeVar("S", bound=sa.Select[Any])

PageSize = Annotated[int, Query(ge=1, le=500, description="Items per page (default 50, max 500)")]
PageToken = Annotated[
    str | None, Query(max_length=512, description="Opaque token from `next_page_token` of the previous page")
]


class Page(BaseModel, Generic[T]):
    """A page of a list: pass `next_page_token` as `page_token` for the next one."""

    # The generic's parametrized models (`Page[UserPublic]`…) take their description from here.
    model_config = ConfigDict(
        json_schema_extra={"description": "A page of a list: pass `next_page_token` as `page_token` for the next one."}
    )

    items: list[T] = Field(description="The page's items")
    next_page_token: str | None = Field(
        default=None, description="Opaque token of the next page; null on the last page"
    )


def encode_token(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(values)).decode().rstrip("=")


def _invalid_token() -> AppError:
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


@dataclass(frozen=True, slots=True)
class Keyset:
    """The sort key of a list: its columns, the last one unique (the id), all ascending or all descending."""

    columns: tuple[Mapped[Any], ...]
    descending: bool = False

    def _attribute(self, column: Mapped[Any]) -> QueryableAttribute[Any]:
        # ``col(Model.field)`` is typed Mapped; on the class it is the instrumented attribute.
        return cast(QueryableAttribute[Any], column)

    def _is_time(self, column: Mapped[Any]) -> bool:
        kind = self._attribute(column).type
        return isinstance(kind, sa.DateTime) or isinstance(getattr(kind, "impl", None), sa.DateTime)

    def _values(self, token: str) -> list[Any]:
        raw = decode_token(token, len(self.columns))
        assert raw is not None
        return [token_time(v) if self._is_time(c) else v for c, v in zip(self.columns, raw, strict=True)]

    def _after(self, values: list[Any]) -> sa.ColumnElement[bool]:
        """Rows strictly past ``values`` in this order: (a, b) > (x, y) written as a > x OR (a = x AND b > y),
        which binds each value with its column's type and lets either database use the index."""
        clause: sa.ColumnElement[bool] | None = None
        for column, value in reversed(list(zip(self.columns, values, strict=True))):
            past = column < value if self.descending else column > value
            clause = past if clause is None else sa.or_(past, sa.and_(column == value, clause))
        assert clause is not None
        return clause

    def token_for(self, row: Any) -> str:
        values = [getattr(row, self._attribute(c).key) for c in self.columns]
        return encode_token([v.isoformat() if isinstance(v, datetime) else v for v in values])


def keyset_query(query: S, keyset: Keyset, page_token: str | None, page_size: int) -> S:
    """``query`` ordered by the keyset, past the page token, limited to one row more than the page."""
    if page_token is not None:
        query = query.where(keyset._after(keyset._values(page_token)))
    order = [c.desc() if keyset.descending else c.asc() for c in keyset.columns]
    return query.order_by(*order).limit(page_size + 1)


def keyset_page(
    rows: Sequence[R], keyset: Keyset, page_size: int, key_of: Callable[[R], Any] | None = None
) -> tuple[list[R], str | None]:
    """The page out of the rows ``keyset_query`` fetched, and the token of the next page (None on the last).

    ``key_of`` picks the object holding the key columns out of a row (default: the row itself)."""
    page = list(rows[:page_size])
    if len(rows) <= page_size:
        return page, None
    last = page[-1] if key_of is None else key_of(page[-1])
    return page, keyset.token_for(last)


def fetch_page(
    session: Session, query: sa.Select[R], keyset: Keyset, page_token: str | None, page_size: int
) -> tuple[list[R], str | None]:
    """The rows of ``query`` on the page after ``page_token``, and the next page's token (None on the last)."""
    rows = session.execute(keyset_query(query, keyset, page_token, page_size)).scalars().all()
    return keyset_page(rows, keyset, page_size)


def fetch_rows(
    session: Session,
    query: sa.Select[Any],
    keyset: Keyset,
    page_token: str | None,
    page_size: int,
    key_of: Callable[[Any], Any] | None = None,
) -> tuple[list[Any], str | None]:
    """``fetch_page`` for a query of several columns or entities: whole rows; ``key_of`` picks the object
    holding the key columns out of a row (default: the row itself)."""
    rows = session.execute(keyset_query(query, keyset, page_token, page_size)).all()
    return keyset_page(rows, keyset, page_size, key_of)
