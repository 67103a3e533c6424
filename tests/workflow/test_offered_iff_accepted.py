"""Offered iff accepted: for every state × caller (role and ownership) × before/after the deadline, an
action is in ``allowed_actions`` exactly when taking it through the service layer succeeds.

Exhaustive rather than sampled (10 states × a paper sign-off pending or rejected × 8 callers × 2 clocks ×
14 actions), on a real database (the
run's backend: SQLite, and PostgreSQL under scripts/test.sh). Each attempt runs in its own transaction,
rolled back: the application is put in the state by an UPDATE in that transaction, so attempts never see
one another. ``attach`` is taken through ``app.attachments.changing.require_may_attach``, the guards the
upload runs before and after the file is read (the file itself is the attachments tests' subject).
"""

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import get_args

import httpx
import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.orm import Session

from app.accounts.principal import Principal, load_principal
from app.applications import actions, service
from app.applications.form_shapes import ApplicationAction
from app.applications.models import Application, Endorsement
from app.applications.representation import to_public
from app.applications.schemas import (
    ApplicationUpdate,
    EndorsementRequest,
    OutcomeRequest,
    ReviewRequest,
    VerificationRequest,
)
from app.applications.states import State
from app.attachments.changing import require_may_attach
from app.attachments.models import Attachment
from app.core.clock import BEIJING
from app.core.errors import AppError
from app.core.outbox import discard_events
from tests.applications.cast import Cast, Flow, make_cast

BEFORE = datetime(2022, 11, 1, 10, 0, tzinfo=BEIJING)  # the 9th-batch call closes on 2022-11-15
AFTER = datetime(2022, 12, 1, 10, 0, tzinfo=BEIJING)
CALLER_ACTIONS = get_args(ApplicationAction)  # every action allowed_actions may offer


@dataclass(frozen=True)
class World:
    application_id: str
    cast: Cast
    paper_page_id: str  # a stamped page on the application (for the applicant's paper sign-off)
    paper_endorsement_id: str  # the guarantor's paper sign-off, awaiting verification
    party_roles: dict[str, str]  # organization → its role on the application


def _seed(app: FastAPI, cast: Cast, application_id: str) -> World:
    """A paper sign-off by the guarantor awaiting verification, and a stamped page for another."""
    now = BEFORE.astimezone(UTC)
    with app.state.database.transaction() as session:
        page = Attachment(
            id="att_paperpage0000000000001",
            application_id=application_id,
            kind="paper_endorsement",
            filename="盖章页.pdf",
            file_type="pdf",
            media_type="application/pdf",
            size=10,
            sha256="1" * 64,
            storage_key="property-test-paper-page",
            uploaded_by=cast.applicant.user_id,
            created_at=now,
        )
        endorsement = Endorsement(
            id="end_guarantorpaper00000001",
            application_id=application_id,
            party_role="guarantor",
            organization_id=cast.guarantor,
            decision="agree",
            opinion="同意",
            signatory_name="李四",
            mode="paper",
            attachment_id=page.id,
            verification="pending",
            content_digest="0" * 64,
            recorded_by=cast.applicant.user_id,
            recorded_at=now,
        )
        session.add_all([page, endorsement])
    roles = {
        cast.undertaking: "undertaking",
        cast.participating: "participating",
        cast.guarantor: "guarantor",
        cast.guidance: "guidance",
    }
    return World(application_id, cast, page.id, endorsement.id, roles)


def _endorsement(world: World, principal: Principal) -> EndorsementRequest:
    """What the caller would send: a signatory signs online for its own organization; anyone else records
    the participating unit's sign-off on paper."""
    if "signatory" in principal.roles:
        role = world.party_roles.get(principal.organization_id, "participating")
        return EndorsementRequest.model_validate(
            {"role": role, "organization_id": principal.organization_id, "decision": "agree", "opinion": "同意"}
            | {"signatory_name": "张三"}
        )
    return EndorsementRequest.model_validate(
        {
            "role": "participating",
            "organization_id": world.cast.participating,
            "decision": "agree",
            "opinion": "同意",
            "signatory_name": "张三",
            "mode": "paper",
            "attachment_id": world.paper_page_id,
        }
    )


Take = Callable[[Session, Principal, Application, datetime], object]


def _takers(world: World) -> dict[str, Callable[[Principal], Take]]:
    """How each action is taken through the service layer, with what a well-behaved client sends."""

    def transition(action: str) -> Callable[[Principal], Take]:
        return lambda p: lambda s, _, a, now: actions.transition(s, p, a, action, "意见", a.version, now)

    def review(decision: str) -> Callable[[Principal], Take]:
        body = ReviewRequest.model_validate({"decision": decision, "opinion": "审核意见"})
        return lambda p: lambda s, _, a, now: actions.review(s, p, a, body, a.version, now)

    def outcome(decision: str) -> Callable[[Principal], Take]:
        body = OutcomeRequest.model_validate({"decision": decision, "document_number": "国标委发〔2023〕5号"})
        return lambda p: lambda s, _, a, now: actions.record_outcome(s, p, a, body, a.version, now)

    edit = ApplicationUpdate.model_validate({"title": "济南市历下区政务服务标准化试点（修订）"})
    verdict = VerificationRequest.model_validate({"verdict": "confirmed"})
    return {
        **{a: transition(a) for a in ("submit", "recall", "withdraw", "reopen")},
        **{a: review(a) for a in ("recommend", "return", "reject")},
        **{a: outcome(a) for a in ("approve", "not_approve")},
        "edit": lambda p: lambda s, _, a, now: service.update_application(s, p, a, edit, a.version, now),
        "delete": lambda p: lambda s, _, a, now: service.delete_application(s, p, a, a.version, now),
        "attach": lambda p: lambda s, _, a, now: require_may_attach(s, p, a, "evidence", now),
        "endorse": lambda p: lambda s, _, a, now: actions.endorse(s, p, a, _endorsement(world, p), a.version, now),
        "verify_paper_endorsement": lambda p: (
            lambda s, _, a, now: actions.verify_paper_endorsement(
                s, p, a, world.paper_endorsement_id, verdict, a.version, now
            )
        ),
    }


def _in_state(session: Session, world: World, state: State, paper: str) -> Application:
    """The application in ``state``, the guarantor's paper sign-off ``paper`` (pending or rejected)."""
    session.execute(
        sa.update(Application)
        .where(Application.id == world.application_id)  # type: ignore[arg-type]
        .values(state=state.value, content_digest="0" * 64)
    )
    session.execute(
        sa.update(Endorsement)
        .where(Endorsement.id == world.paper_endorsement_id)  # type: ignore[arg-type]
        .values(verification=paper)
    )
    application = session.get(Application, world.application_id)
    assert application is not None
    return application


def _attempt(
    app: FastAPI, world: World, state: State, paper: str, user_id: str, now: datetime, take: str
) -> str | None:
    """``None`` when the action was taken, else the code it was refused with; always rolled back."""
    session: Session = app.state.database.writer()
    try:
        principal = load_principal(session, user_id)
        assert principal is not None
        application = _in_state(session, world, state, paper)
        _takers(world)[take](principal)(session, principal, application, now)
        session.flush()
        return None
    except AppError as refused:
        return refused.code
    finally:
        discard_events(session)
        session.rollback()
        session.close()


def _offered(app: FastAPI, world: World, state: State, paper: str, user_id: str, now: datetime) -> set[str]:
    session: Session = app.state.database.writer()
    try:
        principal = load_principal(session, user_id)
        assert principal is not None
        return set(to_public(session, principal, _in_state(session, world, state, paper), now).allowed_actions)
    finally:
        session.rollback()
        session.close()


async def test_an_action_is_offered_iff_taking_it_succeeds(app: FastAPI, client: httpx.AsyncClient) -> None:
    cast = await make_cast(app, client)
    flow = Flow(client, cast)
    await flow.create()
    await flow.attach_scan()
    world = _seed(app, cast, flow.id)
    callers = {
        "applicant": cast.applicant,
        "applicant of another unit": cast.stranger,
        "signatory of a pending party": cast.undertaking_signatory,
        "signatory of a party that signed": cast.guarantor_signatory,
        "signatory of no party": cast.stranger_signatory,
        "the recommender's reviewer": cast.reviewer,
        "another recommender's reviewer": cast.other_reviewer,
        "office": cast.office,
    }
    mismatches: list[str] = []
    offered_somewhere: set[str] = set()
    for state, paper in itertools.product(State, ("pending", "rejected")):
        for who, actor in callers.items():
            for when, now in (("before", BEFORE), ("after", AFTER)):
                offered = _offered(app, world, state, paper, actor.user_id, now)
                offered_somewhere |= offered
                for action in CALLER_ACTIONS:
                    refused = _attempt(app, world, state, paper, actor.user_id, now, action)
                    if (action in offered) != (refused is None):
                        mismatches.append(
                            f"{action} by {who} in {state} (paper sign-off {paper}) {when} the deadline: "
                            f"{'offered' if action in offered else 'not offered'}, "
                            f"{'taken' if refused is None else 'refused ' + refused}"
                        )
    assert mismatches == []
    # Every caller action is offered to someone somewhere: the property is not vacuous.
    assert offered_somewhere == set(CALLER_ACTIONS)
