"""A recommended list's events in the change feed."""

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.batches.models import Batch
from app.core.outbox import record_event


def record_batch_event(session: Session, type: str, batch: Batch, now: datetime, actor_id: str, **data: Any) -> None:
    """One event on ``batch`` (its call and state as of now, with ``data``)."""
    record_event(
        session,
        type,
        batch,
        now=now,
        actor_id=actor_id,
        recommender_id=batch.recommender_id,
        data={"call_id": batch.call_id, "state": batch.state, **data},
    )
