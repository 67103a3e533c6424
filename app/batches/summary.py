"""The office's view of a call: every recommender, its list's state and what is on it."""

from collections import Counter, defaultdict
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlmodel import col

from app.applications.models import Application
from app.applications.states import OFFICE_VISIBLE_STATES, State
from app.batches.models import OFFICE_VISIBLE_BATCH_STATES, Batch, BatchItem, BatchState, Receipt
from app.batches.schemas import CallSubmissionSummary, RecommenderRow, SubmissionTotals
from app.organizations.models import Organization
from app.reference.models import Call


def catalogue_names(nodes: list[dict[str, Any]]) -> dict[str, str]:
    """Every code of a call's catalogue (fields, areas, items) with its name."""
    names: dict[str, str] = {}
    for node in nodes:
        names[str(node.get("code", ""))] = str(node.get("name", ""))
        names.update(catalogue_names(node.get("children") or []))
    return names


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
    tracking: dict[str, str] = {
        batch_id: number
        for batch_id, number, _ in session.execute(
            sa.select(col(Receipt.batch_id), col(Receipt.tracking_number), col(Receipt.seq))
            .where(col(Receipt.batch_id).in_([b.id for b in batches.values()]))
            .order_by(col(Receipt.seq))
        ).all()
    }  # the latest of each list's receipts, as they come in order
    by_field: dict[str, Counter[str]] = defaultdict(Counter)
    by_area: dict[str, Counter[str]] = defaultdict(Counter)
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
            by_area[recommender_id][area or "?"] += 1
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
                by_area=dict(sorted(by_area[org.id].items())),
                tracking_number=tracking.get(batch.id) if batch else None,
                submitted_at=batch.submitted_at if batch else None,
                outcomes=dict(sorted(outcomes[org.id].items())),
            )
        )
    states = Counter(r.state for r in out)
    fields: Counter[str] = Counter()
    areas: Counter[str] = Counter()
    for r in out:
        fields.update(r.by_field)
        areas.update(r.by_area)
    call = session.get(Call, call_id)
    catalogue = catalogue_names(call.catalogue if call else [])
    return CallSubmissionSummary(
        call_id=call_id,
        recommenders=out,
        totals=SubmissionTotals(
            recommenders=len(out),
            by_state=dict(sorted(states.items())),
            items=sum(counts.values()),
            by_field=dict(sorted(fields.items())),
            by_area=dict(sorted(areas.items())),
        ),
        names={code: catalogue[code] for code in sorted({*fields, *areas}) if code in catalogue},
    )
