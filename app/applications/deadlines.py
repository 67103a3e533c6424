"""An application's deadline: its call's, or its recommender's internal one when that is earlier.

The rule and its refusal (409 ``deadline_passed``, the message in Beijing time) are the workflow's
(``app.workflow.deadline``); which deadline applies to an application is said here, once, for the
``deadline`` guard, for ``allowed_actions`` and for the validation report.
"""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlmodel import col

from app.applications.models import Application
from app.applications.validation import Report
from app.applications.workflow import DEADLINE_STATES
from app.core.fast.select import DirectSelect
from app.organizations.models import Organization
from app.reference.models import Call
from app.workflow.deadline import DEADLINE_PASSED, is_past, shown
from app.workflow.deadline import refuse_late as refuse_late_at

_DEADLINES = (
    sa.select(col(Call.deadline), col(Organization.internal_deadline))
    .select_from(Call)
    .outerjoin(Organization, col(Organization.id) == sa.bindparam("recommender_id"))
    .where(col(Call.id) == sa.bindparam("call_id"))
)
_DIRECT_DEADLINES = DirectSelect(_DEADLINES)


def past_deadline(executor: Any, application: Any, now: datetime | None) -> bool:
    """Whether a deadline step would be refused now (`executor`: a Session or a Connection). One query, only
    in the states those steps start from."""
    if now is None or application.state not in DEADLINE_STATES:
        return False
    params = {"call_id": application.call_id, "recommender_id": application.recommender_id}
    # A connection is the hot read path: straight on the driver; a session takes the usual way.
    if isinstance(executor, Session):
        row = executor.execute(_DEADLINES, params).first()
    else:
        row = _DIRECT_DEADLINES.first(executor, params)
    return row is not None and deadlines_passed(now, application.state, row)


# The two deadlines of an application as columns of a query on it: its call's, and its recommender's own.
CALL_DEADLINE = (
    sa.select(col(Call.deadline))
    .where(col(Call.id) == col(Application.call_id))
    .scalar_subquery()
    .label("call_deadline")
)
RECOMMENDER_DEADLINE = (
    sa.select(col(Organization.internal_deadline))
    .where(col(Organization.id) == col(Application.recommender_id))
    .scalar_subquery()
    .label("recommender_deadline")
)


def deadlines_passed(now: datetime | None, state: str, deadlines: Iterable[datetime | None]) -> bool:
    """Whether a deadline step from ``state`` would be refused at ``now``: the earlier deadline has passed."""
    if now is None or state not in DEADLINE_STATES:
        return False
    known = [d for d in deadlines if d is not None]
    return bool(known) and is_past(now, min(known))


def deadline_for(session: Session, application: Application) -> datetime:
    """The call's deadline, or the recommender's internal deadline when that is earlier."""
    row = session.execute(
        _DEADLINES, {"call_id": application.call_id, "recommender_id": application.recommender_id}
    ).first()
    assert row is not None  # the call exists: an application's call_id is a foreign key
    known: list[datetime] = [d for d in row if d is not None]
    return min(known)


def refuse_late(session: Session, application: Application, now: datetime) -> None:
    """409 ``deadline_passed`` once the application's deadline has passed."""
    refuse_late_at(now, deadline_for(session, application))


def report_late(report: Report, session: Session, application: Application, now: datetime) -> None:
    """The validation report's error (``deadline_passed`` on ``/call_id``) once the deadline has passed."""
    if past_deadline(session, application, now):
        late = DEADLINE_PASSED
        report.error(
            "/call_id", "deadline_passed", late.zh, late.en, deadline=shown(deadline_for(session, application))
        )
