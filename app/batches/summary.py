"""The office's view of a call: every recommender, its list's state and what is on it."""

from collections import Counter, defaultdict

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlmodel import col

from app.applications.models import Application
from app.applications.states import OFFICE_VISIBLE_STATES, State
from app.batches.models import OFFICE_VISIBLE_BATCH_STATES, Batch, BatchItem, BatchState
from app.batches.schemas import CallSubmissionSummary, RecommenderRow, SubmissionTotals
from app.organizations.models import Organization


def call_summary(session: Session, call_id: str) -> CallSubmissionSummary:
    recommenders = (
        session.execute(
            sa.select(Organization)
            .where(col(Organization.recommender_kind).is_not(None))
            .order_by(col(Organization.recommender_kind).desc(), col(Organization.key), col(Organization.name))
        )
        .scalars()
        .all()
    )
    batches = {
        b.recommender_id: b
        for b in session.execute(
            sa.select(Batch).where(col(Batch.call_id) == call_id, col(Batch.state).in_(OFFICE_VISIBLE_BATCH_STATES))
        ).scalars()
    }
    by_field: dict[str, Counter[str]] = defaultdict(Counter)
    outcomes: dict[str, Counter[str]] = defaultdict(Counter)
    counts: Counter[str] = Counter()
    if batches:
        rows = session.execute(
            sa.select(col(Batch.recommender_id), col(Application.domain_area), col(Application.state))
            .join(BatchItem, col(BatchItem.batch_id) == col(Batch.id))
            .join(Application, col(Application.id) == col(BatchItem.application_id))
            .where(
                col(Batch.id).in_([b.id for b in batches.values()]),
                col(Application.state).in_(OFFICE_VISIBLE_STATES),
            )  # what was submitted, not what a returned list holds since
        ).all()
        for recommender_id, area, state in rows:
            counts[recommender_id] += 1
            by_field[recommender_id][(area or "?").split(".")[0]] += 1
            outcome = state if state in (State.approved, State.not_approved) else "pending"
            outcomes[recommender_id][outcome] += 1
    out = []
    for org in recommenders:
        batch = batches.get(org.id)
        out.append(
            RecommenderRow(
                recommender_id=org.id,
                name=org.name,
                key=org.key,
                recommender_kind=org.recommender_kind or "",
                batch_id=batch.id if batch else None,
                state=BatchState(batch.state) if batch else "not_submitted",
                item_count=counts[org.id],
                acknowledged=batch is not None and batch.state == BatchState.acknowledged,
                by_field=dict(sorted(by_field[org.id].items())),
                outcomes=dict(sorted(outcomes[org.id].items())),
            )
        )
    states = Counter(r.state for r in out)
    fields: Counter[str] = Counter()
    for r in out:
        fields.update(r.by_field)
    return CallSubmissionSummary(
        call_id=call_id,
        recommenders=out,
        totals=SubmissionTotals(
            recommenders=len(out),
            by_state=dict(sorted(states.items())),
            items=sum(counts.values()),
            by_field=dict(sorted(fields.items())),
        ),
    )
