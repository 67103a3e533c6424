"""The one compare-and-set: a stale version changes nothing; a current one writes and moves the version on."""

from datetime import UTC, datetime

import pytest
from fastapi import FastAPI

from app.core.concurrency import compare_and_set
from app.core.errors import Conflict, PreconditionFailed
from app.organizations.models import Organization
from tests.factories import make_org


def test_current_version_writes_and_moves_the_version_on(app: FastAPI) -> None:
    org_id = make_org(app, name="原名")
    with app.state.database.transaction() as session:
        org = session.get(Organization, org_id)
        assert org is not None and org.version == 1
        compare_and_set(session, org, 1, name="新名", updated_at=datetime.now(UTC))
        assert (org.name, org.version) == ("新名", 2)
        assert not session.dirty  # the object holds what was stored: no second UPDATE at the flush
    with app.state.database.reader() as session:
        stored = session.get(Organization, org_id)
        assert stored is not None and (stored.name, stored.version) == ("新名", 2)


@pytest.mark.parametrize("conflict", [None, Conflict])
def test_stale_version_raises_the_callers_error_and_changes_nothing(app: FastAPI, conflict: type | None) -> None:
    org_id = make_org(app, name="原名")
    with app.state.database.transaction() as session:
        org = session.get(Organization, org_id)
        assert org is not None
        expected = PreconditionFailed if conflict is None else conflict
        with pytest.raises(expected):
            if conflict is None:
                compare_and_set(session, org, 7, name="新名")
            else:
                compare_and_set(session, org, 7, conflict=conflict, name="新名")
        assert (org.name, org.version) == ("原名", 1)
    with app.state.database.reader() as session:
        stored = session.get(Organization, org_id)
        assert stored is not None and (stored.name, stored.version) == ("原名", 1)
