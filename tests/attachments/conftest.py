"""Setup for the attachment tests: organizations, users, applications inserted directly."""

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from app.applications.models import Application
from app.core.ids import new_id
from app.reference.models import Call
from tests.conftest import Actor
from tests.factories import make_org, make_user, seeded_org


def ninth_call_id(app: FastAPI) -> str:
    with app.state.database.reader() as session:
        return session.execute(sa.select(Call.id).where(Call.key == "9th-batch")).scalar_one()


def make_application(
    app: FastAPI,
    *,
    undertaking_org_id: str,
    created_by: str,
    state: str = "draft",
    recommender_id: str | None = None,
    entered_by_org_id: str | None = None,
) -> str:
    now = datetime.now(UTC)
    with app.state.database.transaction() as session:
        row = Application(
            id=new_id("app"),
            call_id=ninth_call_id(app),
            title="济南市历下区政务服务标准化试点",
            state=state,
            undertaking_org_id=undertaking_org_id,
            recommender_id=recommender_id,
            province_code="370000",
            content={},
            entered_by_org_id=entered_by_org_id,
            created_by=created_by,
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        return row.id


def set_state(app: FastAPI, application_id: str, state: str) -> None:
    with app.state.database.transaction() as session:
        session.execute(sa.update(Application).where(Application.id == application_id).values(state=state))


@dataclass
class World:
    applicant: Actor
    other_applicant: Actor
    reviewer: Actor
    signatory: Actor
    province_id: str
    application_id: str


@pytest.fixture
def world(app: FastAPI) -> World:
    province = seeded_org(app, "370000")
    unit = make_org(app)
    other = make_org(app)
    applicant = make_user(app, unit, "applicant")
    application_id = make_application(
        app, undertaking_org_id=unit, created_by=applicant.user_id, recommender_id=province
    )
    return World(
        applicant=applicant,
        other_applicant=make_user(app, other, "applicant"),
        reviewer=make_user(app, province, "reviewer"),
        signatory=make_user(app, unit, "signatory"),
        province_id=province,
        application_id=application_id,
    )
