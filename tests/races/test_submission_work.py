"""Submitting a recommended list does work linear in its length (no timing: Python calls are counted).

Regression: the compare-and-set on each application let the ORM test its WHERE clause against every
object in the session, so a list of n applications cost O(n²) — 300 took ~25× as long as 30.
"""

import sys
from datetime import UTC, datetime
from types import FrameType
from typing import Any

from fastapi import FastAPI

from app.accounts.principal import Principal
from app.batches import service
from app.batches.keystore import signers_for
from app.batches.models import Batch
from bench.batch_submit import build_list


def _calls_to_submit(app: FastAPI, n: int) -> int:
    database = app.state.database
    built = build_list(database, app.state.settings.storage_dir, n, attachments=2)
    principal = Principal(
        user_id=built["reviewer_id"],
        username="r",
        display_name="r",
        organization_id=built["recommender_id"],
        province_code="370000",
        recommender_kind="province",
        roles=frozenset({"reviewer"}),
    )
    # Ed25519 only: its signing runs in C, so the count is the submission's own work. (SM2's pure-Python
    # signing is a constant per receipt that would hide how the rest grows.)
    settings = app.state.settings
    signers = [s for s in signers_for(settings.keys_dir, development=True) if s.info.alg == "Ed25519"]
    count = 0

    def profile(_frame: FrameType, event: str, _arg: Any) -> None:
        nonlocal count
        if event in ("call", "c_call"):
            count += 1

    with database.transaction() as session:
        batch = session.get(Batch, built["batch_id"])
        assert batch is not None
        sys.setprofile(profile)
        try:
            service.submit(session, principal, batch, batch.version, datetime.now(UTC), signers)
        finally:
            sys.setprofile(None)
    with database.reader() as session:
        assert session.get(Batch, built["batch_id"]).state == "submitted"  # type: ignore[union-attr]
    return count


def test_submission_work_grows_linearly_with_the_list(app: FastAPI) -> None:
    small, large = _calls_to_submit(app, 20), _calls_to_submit(app, 200)
    assert large / small <= 12, f"{small} calls for 20 applications, {large} for 200 ({large / small:.1f}×)"
