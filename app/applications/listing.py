"""The list of applications a caller may see: its filters, as one query on the summary's columns, and its
pages, newest first."""

import re
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlmodel import col

from app.accounts.principal import Principal
from app.applications.access import visibility_filter
from app.applications.models import Application
from app.applications.schemas import ApplicationSummary
from app.core.errors import DomainValueError
from app.core.i18n import Text
from app.core.pagination import Keyset, Page, fetch_rows

# Only the summary's columns: the form itself (about 10 KB each) stays in the database.
SUMMARY_COLUMNS = [getattr(Application, name) for name in ApplicationSummary.model_fields]


def summary_query(
    principal: Principal,
    *,
    call_id: str | None,
    states: list[str],
    province: str | None,
    recommender_id: str | None,
    domain: str | None,
    q: str | None,
    updated_after: datetime | None,
) -> sa.Select[Any]:
    """The visible applications' summaries, filtered (every filter given must hold)."""
    query = sa.select(*SUMMARY_COLUMNS).where(visibility_filter(principal))
    if call_id:
        query = query.where(col(Application.call_id) == call_id)
    if states:
        query = query.where(col(Application.state).in_(states))
    if province:
        query = query.where(col(Application.province_code) == province)
    if recommender_id:
        query = query.where(col(Application.recommender_id) == recommender_id)
    if domain:
        query = (
            query.where(col(Application.domain_area) == domain)
            if "." in domain
            else query.where(col(Application.domain_area).startswith(domain + ".", autoescape=True))
        )
    if q:
        query = query.where(col(Application.title).contains(q, autoescape=True))
    if updated_after:
        query = query.where(col(Application.updated_at) > updated_after)
    return query


NEWEST_FIRST = Keyset((col(Application.created_at), col(Application.id)), descending=True)
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


def rfc3339(value: object) -> object:
    """``updated_after`` as RFC 3339 with an offset: pydantic would take a number as seconds since 1970."""
    if isinstance(value, str) and not _RFC3339.fullmatch(value):
        raise DomainValueError(
            "invalid_datetime", Text("时间格式应为带时区偏移的 RFC 3339", "Must be an RFC 3339 timestamp with offset")
        )
    return value


def summaries_page(
    session: Session, query: sa.Select[Any], page_token: str | None, page_size: int
) -> Page[ApplicationSummary]:
    """One page of ``summary_query``'s rows, newest first."""
    rows, token = fetch_rows(session, query, NEWEST_FIRST, page_token, page_size)
    names = query.selected_columns.keys()
    return Page(
        items=[ApplicationSummary.model_construct(**dict(zip(names, r, strict=True))) for r in rows],
        next_page_token=token,
    )
