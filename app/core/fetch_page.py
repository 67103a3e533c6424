"""Fetching one keyset page of table rows (app.core.pagination builds the query and cuts the page)."""

from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.core.pagination import Keyset, keyset_page, keyset_query

R = TypeVar("R")


def fetch_page(
    session: Session, query: sa.Select[R], keyset: Keyset, page_token: str | None, page_size: int
) -> tuple[list[R], str | None]:
    """The rows of ``query`` on the page after ``page_token``, and the next page's token (None on the last)."""
    rows = session.execute(keyset_query(query, keyset, page_token, page_size)).scalars().all()
    return keyset_page(rows, keyset, page_size)
