"""The application aggregate: create, edit, delete.

Reading it as a caller sees it is ``app.applications.representation``; moving it through its workflow,
``app.applications.actions``; its content's checks, ``app.applications.content``.
The ``name as name`` imports keep what the read path, bulk uploads and benchmarks read from this
module where they find it.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlmodel import col

from app.accounts.models import Role
from app.accounts.principal import Principal, require_role
from app.applications.access import entry_errors
from app.applications.content import (
    WRITE_TIME_CODES,
    columns_from_content,
    org_facts,
    referenced_orgs,
    refuse_wrong_content,
    sync_parties,
)
from app.applications.content import canonical_digest as canonical_digest
from app.applications.content import run_validation as run_validation
from app.applications.deadlines import CALL_DEADLINE as CALL_DEADLINE
from app.applications.deadlines import RECOMMENDER_DEADLINE as RECOMMENDER_DEADLINE
from app.applications.deadlines import deadlines_passed as deadlines_passed
from app.applications.deadlines import past_deadline as past_deadline
from app.applications.events import record_application_event
from app.applications.guards import check_guards
from app.applications.models import Application, ApplicationParty, Review
from app.applications.representation import CURRENT_ENDORSEMENTS as CURRENT_ENDORSEMENTS
from app.applications.representation import current_endorsements as current_endorsements
from app.applications.representation import open_actions as open_actions
from app.applications.representation import represent as represent
from app.applications.representation import representation_etag as representation_etag
from app.applications.representation import sign_offs as sign_offs
from app.applications.representation import to_public as to_public
from app.applications.schemas import ApplicationCreate, ApplicationUpdate
from app.applications.validation import OrgFacts, party_list, validate_application
from app.applications.workflow import INITIAL_STATE
from app.core.concurrency import compare_and_set
from app.core.errors import PreconditionFailed, ValidationFailed
from app.core.i18n import Text
from app.core.ids import new_id
from app.core.invalid import invalid
from app.core.outbox import new_event, queue_event
from app.reference.models import Call


def create_application(session: Session, principal: Principal, body: ApplicationCreate, now: datetime) -> Application:
    content = body.model_dump(mode="json", exclude={"call_id"}, exclude_none=True)
    new = prepare_application(
        principal,
        body.call_id,
        content,
        now,
        find_call=lambda call_id: session.get(Call, call_id),
        find_orgs=lambda ids: org_facts(session, ids),
    )
    application = Application(**new.row)
    session.add(application)
    session.flush()
    if new.parties:
        session.execute(sa.insert(ApplicationParty), new.parties)
    queue_event(session, new.event)
    return application


@dataclass(frozen=True, slots=True)
class NewApplication:
    """What creating one application writes: its row, its parties' rows, its ``application.created`` event."""

    row: dict[str, Any]
    parties: list[dict[str, Any]]
    event: dict[str, Any]


def prepare_application(
    principal: Principal,
    call_id: str,
    content: dict[str, Any],
    now: datetime,
    *,
    find_call: Callable[[str], Any],
    find_orgs: Callable[[set[str]], dict[str, OrgFacts]],
) -> NewApplication:
    """The rules and defaults of creating an application (``POST /applications`` and bulk uploads) and
    what it writes; raises ``ValidationFailed``. ``content``: the form as dumped, without ``call_id``
    (its parties and recommender are filled in); ``find_call``/``find_orgs`` look up the call (``None``:
    none) and the facts of the named organizations, so a bulk upload loads them once per batch."""
    require_role(principal, Role.applicant, Role.reviewer)
    parties = content.setdefault("parties", {"participating": []})
    entered_by = None
    if principal.has(Role.applicant):
        if parties.get("undertaking", principal.organization_id) != principal.organization_id:
            raise invalid(
                "/parties/undertaking",
                "must_be_own_organization",
                Text("承担单位须为本单位", "The undertaking unit must be your organization"),
            )
        parties["undertaking"] = principal.organization_id
    elif principal.is_recommender_reviewer:
        # A recommender enters a paper application on the unit's behalf.
        if not parties.get("undertaking"):
            raise invalid(
                "/parties/undertaking",
                "required",
                Text("代录申请须指定承担单位", "Name the undertaking unit of the application you enter"),
            )
        content.setdefault("recommender_id", principal.organization_id)
        if content["recommender_id"] != principal.organization_id:
            raise invalid(
                "/recommender_id",
                "must_be_own_organization",
                Text("代录申请的推荐单位须为本单位", "You can only enter applications you recommend"),
            )
        entered_by = principal.organization_id
    else:
        require_role(principal, Role.applicant)
    call = find_call(call_id)
    if call is None:
        raise invalid("/call_id", "unknown_call", Text("征集批次不存在", "No such call"))
    orgs = find_orgs(referenced_orgs(content))
    wrong = [e for e in validate_application(content, call, orgs, []).errors if e.code in WRITE_TIME_CODES]
    if wrong:
        raise ValidationFailed(errors=wrong)
    undertaking = orgs[parties["undertaking"]]  # known: checked by the validation above
    if entered_by and (outside := entry_errors(principal, undertaking.province_code)):
        raise ValidationFailed(errors=outside)
    app_id = new_id("app")
    row = {
        "id": app_id,
        "call_id": call.id,
        "state": INITIAL_STATE.value,
        "version": 1,
        "undertaking_org_id": undertaking.id,
        "province_code": undertaking.province_code,
        "content": content,
        "content_digest": None,
        "entered_by_org_id": entered_by,
        "created_by": principal.user_id,
        "outcome_document_number": None,
        "created_at": now,
        "updated_at": now,
        "submitted_at": None,
        **columns_from_content(content),
    }
    return NewApplication(
        row=row,
        parties=[
            {"application_id": app_id, "role": role, "organization_id": org, "position": i}
            for i, (role, org, _) in enumerate(party_list(parties))
        ],
        event=new_event(
            "application.created",
            app_id,
            now=now,
            actor_id=principal.user_id,
            application_id=app_id,
            recommender_id=row["recommender_id"],
            organization_id=undertaking.id,
            data={"state": row["state"], "title": row["title"]},
        ),
    )


def update_application(
    session: Session,
    principal: Principal,
    application: Application,
    body: ApplicationUpdate,
    version: int,
    now: datetime,
) -> Application:
    check_guards(session, principal, application, "edit", now=now)
    changes = body.model_dump(mode="json", exclude_unset=True)
    content = dict(application.content)
    for key, value in changes.items():
        if value is None:
            content.pop(key, None)
        else:
            content[key] = value
    if "title" not in content:
        raise invalid("/title", "required", Text("项目名称不能为空", "The title cannot be removed"))
    parties = content.setdefault("parties", {"participating": []})
    if parties.get("undertaking", application.undertaking_org_id) != application.undertaking_org_id:
        raise invalid(
            "/parties/undertaking", "undertaking_fixed", Text("承担单位不可更改", "The undertaking unit cannot change")
        )
    parties["undertaking"] = application.undertaking_org_id
    if application.entered_by_org_id and content.get("recommender_id") != application.entered_by_org_id:
        raise invalid(
            "/recommender_id",
            "must_be_own_organization",
            Text("代录申请的推荐单位须为本单位", "You can only enter applications you recommend"),
        )
    if (
        content.get("recommender_id") != application.recommender_id
        and session.execute(
            sa.select(col(Review.id)).where(col(Review.application_id) == application.id).limit(1)
        ).first()
    ):
        # Its reviews are the recommender's internal record: another recommender would inherit them.
        raise invalid(
            "/recommender_id",
            "recommender_fixed_after_review",
            Text(
                "推荐单位审核后不可更换；如需改由其他单位推荐，请撤回本申请并重新申报",
                "The recommender cannot change once it has reviewed the application; withdraw it and apply anew",
            ),
        )
    call = session.get(Call, application.call_id)
    assert call is not None
    refuse_wrong_content(session, content, call)
    compare_and_set(session, application, version, content=content, updated_at=now, **columns_from_content(content))
    sync_parties(session, application)
    record_application_event(
        session, "application.updated", application, application, principal, now=now, data={"fields": sorted(changes)}
    )
    return application


def delete_application(
    session: Session, principal: Principal, application: Application, version: int, now: datetime
) -> None:
    check_guards(session, principal, application, "delete", now=now)
    deleted = session.execute(
        sa.delete(Application).where(col(Application.id) == application.id, col(Application.version) == version)
    )
    if getattr(deleted, "rowcount", 0) != 1:  # a CursorResult; Session.execute is typed as any Result
        raise PreconditionFailed()
    # Seen by whoever could see the draft (app.events.access): its unit and the recommender that entered it.
    record_application_event(
        session,
        "application.deleted",
        application,
        application,
        principal,
        now=now,
        data={"title": application.title},
        recommender_id=application.entered_by_org_id,
    )
