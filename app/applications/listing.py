"""The list of applications a caller may see: its filters, as one query on the summary's columns."""

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import col

from app.accounts.principal import Principal
from app.applications.access import visibility_filter
from app.applications.models import Application
from app.applications.schemas import ApplicationSummary

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
