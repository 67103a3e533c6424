"""Events about an application and the rows that hang off it, scoped the way the change feed's
visibility filter (app.events.access) reads them: the undertaking unit and its recommender."""

from datetime import datetime
from enum import Enum
from typing import Any

from sqlalchemy.orm import Session

from app.accounts.principal import Principal
from app.applications.models import Application
from app.core.outbox import record_event


class _Own(Enum):
    recommender = "the application's recommender"


def record_application_event(
    session: Session,
    type: str,
    subject: Any,
    application: Application,
    principal: Principal,
    *,
    now: datetime,
    data: dict[str, Any],
    recommender_id: str | None | _Own = _Own.recommender,
) -> None:
    """Queue an event about ``subject`` (the application or one of its rows) done by ``principal``;
    ``recommender_id`` names another recommender to see it instead (``None``: none)."""
    record_event(
        session,
        type,
        subject,
        now=now,
        actor_id=principal.user_id,
        application_id=application.id,
        recommender_id=application.recommender_id if recommender_id is _Own.recommender else recommender_id,
        organization_id=application.undertaking_org_id,
        data=data,
    )
