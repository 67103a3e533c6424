"""The application aggregate: create, edit, delete, list, and its public representation."""

import hashlib
from datetime import datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from app.accounts.models import Role
from app.accounts.principal import Principal, require_role
from app.applications.access import entry_errors
from app.applications.models import Application, ApplicationParty, Endorsement, Review
from app.applications.schemas import ApplicationCreate, ApplicationPublic, ApplicationUpdate, SignOff
from app.applications.states import EDITABLE_STATES, State
from app.applications.validation import OrgFacts, Report, party_list, validate_application
from app.applications.workflow import STEPS, Actor, available_actions
from app.core.errors import FieldError, Forbidden, InvalidState, PreconditionFailed, ValidationFailed
from app.core.fast.select import DirectSelect
from app.core.i18n import Text
from app.core.ids import new_id
from app.events.outbox import record_event
from app.organizations.models import Organization
from app.reference.labels import ROLES, labelled
from app.reference.models import Call

# Engine findings that make the content itself wrong (not merely incomplete): refused when written.
WRITE_TIME_CODES = frozenset(
    {
        "unknown_domain",
        "domain_not_open_ended",
        "unknown_organization",
        "not_a_recommender",
        "unknown_section",
        "unknown_condition",
        "too_long",
    }
)


def actors_of(principal: Principal, application: Application) -> set[Actor]:
    """How the caller relates to this application."""
    org = principal.organization_id
    actors: set[Actor] = set()
    if (principal.has(Role.applicant) and application.undertaking_org_id == org) or (
        principal.has(Role.reviewer) and application.entered_by_org_id == org
    ):
        actors.add(Actor.applicant)
    if principal.has(Role.reviewer) and application.recommender_id == org:
        actors.add(Actor.reviewer)
    if principal.has(Role.office):
        actors.add(Actor.office)
    return actors


def require_actor(principal: Principal, application: Application, actor: Actor) -> None:
    if actor not in actors_of(principal, application):
        role = {Actor.applicant: Role.applicant, Actor.reviewer: Role.reviewer, Actor.office: Role.office}[actor]
        raise Forbidden(
            Text("需要本申请的{role}角色", "Requires the {role} role for this application"),
            role=labelled(ROLES, role.value),
            extra={"required_roles": [role.value]},
        )


def load_call(session: Session, call_id: str, pointer: str = "/call_id") -> Call:
    call = session.get(Call, call_id)
    if call is None:
        raise ValidationFailed(errors=[FieldError(pointer, "unknown_call", Text("征集批次不存在", "No such call"))])
    return call


def org_facts(session: Session, ids: set[str]) -> dict[str, OrgFacts]:
    if not ids:
        return {}
    rows = session.execute(
        sa.select(
            Organization.id,
            Organization.province_code,
            Organization.credit_code,
            Organization.credit_code_check_failed,
            Organization.recommender_kind,
        ).where(Organization.id.in_(ids))  # type: ignore[attr-defined]
    ).all()
    return {r[0]: OrgFacts(*r) for r in rows}


def _referenced_orgs(content: dict[str, Any]) -> set[str]:
    ids = {org for _, org, _ in party_list(content.get("parties") or {})}
    if content.get("recommender_id"):
        ids.add(content["recommender_id"])
    return ids


def run_validation(session: Session, application: Application, call: Call) -> Report:
    from app.attachments.service import missing_required_kinds

    orgs = org_facts(session, _referenced_orgs(application.content))
    return validate_application(application.content, call, orgs, missing_required_kinds(session, call, application.id))


def _refuse_wrong_content(session: Session, content: dict[str, Any], call: Call) -> None:
    report = validate_application(content, call, org_facts(session, _referenced_orgs(content)), [])
    wrong = [e for e in report.errors if e.code in WRITE_TIME_CODES]
    if wrong:
        raise ValidationFailed(errors=wrong)


def _sync_parties(session: Session, application: Application) -> None:
    session.execute(sa.delete(ApplicationParty).where(ApplicationParty.application_id == application.id))
    rows = [
        {"application_id": application.id, "role": role, "organization_id": org, "position": i}
        for i, (role, org, _) in enumerate(party_list(application.content.get("parties") or {}))
    ]
    if rows:
        session.execute(sa.insert(ApplicationParty), rows)


def _columns_from_content(content: dict[str, Any]) -> dict[str, Any]:
    return {
        "title": content["title"],
        "recommender_id": content.get("recommender_id"),
        "domain_area": (content.get("domain") or {}).get("area"),
    }


def create_application(session: Session, principal: Principal, body: ApplicationCreate, now: datetime) -> Application:
    require_role(principal, Role.applicant, Role.reviewer)
    content = body.model_dump(mode="json", exclude={"call_id"}, exclude_none=True)
    parties = content.setdefault("parties", {"participating": []})
    entered_by = None
    if principal.has(Role.applicant):
        if parties.get("undertaking", principal.organization_id) != principal.organization_id:
            raise ValidationFailed(
                errors=[
                    FieldError(
                        "/parties/undertaking",
                        "must_be_own_organization",
                        Text("承担单位须为本单位", "The undertaking unit must be your organization"),
                    )
                ]
            )
        parties["undertaking"] = principal.organization_id
    elif principal.is_recommender_reviewer:
        # A recommender enters a paper application on the unit's behalf.
        if not parties.get("undertaking"):
            raise ValidationFailed(
                errors=[
                    FieldError(
                        "/parties/undertaking",
                        "required",
                        Text("代录申请须指定承担单位", "Name the undertaking unit of the application you enter"),
                    )
                ]
            )
        content.setdefault("recommender_id", principal.organization_id)
        if content["recommender_id"] != principal.organization_id:
            raise ValidationFailed(
                errors=[
                    FieldError(
                        "/recommender_id",
                        "must_be_own_organization",
                        Text("代录申请的推荐单位须为本单位", "You can only enter applications you recommend"),
                    )
                ]
            )
        entered_by = principal.organization_id
    else:
        require_role(principal, Role.applicant)
    call = load_call(session, body.call_id)
    _refuse_wrong_content(session, content, call)
    undertaking = session.get(Organization, parties["undertaking"])
    assert undertaking is not None  # checked by _refuse_wrong_content
    if entered_by and (outside := entry_errors(principal, undertaking.province_code)):
        raise ValidationFailed(errors=outside)
    application = Application(
        id=new_id("app"),
        call_id=call.id,
        state=State.draft,
        undertaking_org_id=undertaking.id,
        province_code=undertaking.province_code,
        content=content,
        entered_by_org_id=entered_by,
        created_by=principal.user_id,
        created_at=now,
        updated_at=now,
        **_columns_from_content(content),
    )
    session.add(application)
    session.flush()
    _sync_parties(session, application)
    record_event(
        session,
        "application.created",
        application,
        now=now,
        actor_id=principal.user_id,
        application_id=application.id,
        recommender_id=application.recommender_id,
        organization_id=application.undertaking_org_id,
        data={"state": application.state, "title": application.title},
    )
    return application


def update_application(
    session: Session,
    principal: Principal,
    application: Application,
    body: ApplicationUpdate,
    version: int,
    now: datetime,
) -> Application:
    require_actor(principal, application, Actor.applicant)
    if application.state not in EDITABLE_STATES:
        raise InvalidState(
            Text(
                "申请已冻结，仅草稿或退回状态可修改",
                "The application is frozen: only drafts and returned applications can be edited",
            )
        )
    changes = body.model_dump(mode="json", exclude_unset=True)
    content = dict(application.content)
    for key, value in changes.items():
        if value is None:
            content.pop(key, None)
        else:
            content[key] = value
    if "title" not in content:
        raise ValidationFailed(
            errors=[FieldError("/title", "required", Text("项目名称不能为空", "The title cannot be removed"))]
        )
    parties = content.setdefault("parties", {"participating": []})
    if parties.get("undertaking", application.undertaking_org_id) != application.undertaking_org_id:
        raise ValidationFailed(
            errors=[
                FieldError(
                    "/parties/undertaking",
                    "undertaking_fixed",
                    Text("承担单位不可更改", "The undertaking unit cannot change"),
                )
            ]
        )
    parties["undertaking"] = application.undertaking_org_id
    if application.entered_by_org_id and content.get("recommender_id") != application.entered_by_org_id:
        raise ValidationFailed(
            errors=[
                FieldError(
                    "/recommender_id",
                    "must_be_own_organization",
                    Text("代录申请的推荐单位须为本单位", "You can only enter applications you recommend"),
                )
            ]
        )
    if (
        content.get("recommender_id") != application.recommender_id
        and session.execute(sa.select(Review.id).where(Review.application_id == application.id).limit(1)).first()
    ):
        # Its reviews are the recommender's internal record: another recommender would inherit them.
        raise ValidationFailed(
            errors=[
                FieldError(
                    "/recommender_id",
                    "recommender_fixed_after_review",
                    Text(
                        "推荐单位审核后不可更换；如需改由其他单位推荐，请撤回本申请并重新申报",
                        "The recommender cannot change once it has reviewed the application; withdraw it and apply anew",
                    ),
                )
            ]
        )
    call = session.get(Call, application.call_id)
    assert call is not None
    _refuse_wrong_content(session, content, call)
    cas(session, application, version, content=content, updated_at=now, **_columns_from_content(content))
    _sync_parties(session, application)
    record_event(
        session,
        "application.updated",
        application,
        now=now,
        actor_id=principal.user_id,
        application_id=application.id,
        recommender_id=application.recommender_id,
        organization_id=application.undertaking_org_id,
        data={"fields": sorted(changes)},
    )
    return application


def delete_application(
    session: Session, principal: Principal, application: Application, version: int, now: datetime
) -> None:
    require_actor(principal, application, Actor.applicant)
    if application.state != State.draft:
        raise InvalidState(Text("仅草稿可删除", "Only drafts can be deleted"))
    deleted = session.execute(
        sa.delete(Application).where(Application.id == application.id, Application.version == version)
    ).rowcount
    if deleted != 1:
        raise PreconditionFailed()
    # Seen by whoever could see the draft (app.events.access): its unit and the recommender that entered it.
    record_event(
        session,
        "application.deleted",
        application,
        now=now,
        actor_id=principal.user_id,
        application_id=application.id,
        recommender_id=application.entered_by_org_id,
        organization_id=application.undertaking_org_id,
        data={"title": application.title},
    )


def cas(session: Session, application: Application, version: int, **values: Any) -> None:
    """Compare-and-set on ``version``: of two concurrent writers exactly one wins; the other gets 412."""
    values["version"] = version + 1
    # No session synchronisation: it would test the WHERE clause against every object the session holds
    # (quadratic over a batch of hundreds); the one object concerned is updated just below.
    updated = session.execute(
        sa.update(Application)
        .where(Application.id == application.id, Application.version == version)
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount
    if updated != 1:
        raise PreconditionFailed()
    for key, value in values.items():
        set_committed_value(application, key, value)  # as stored: not dirty, no second UPDATE at the next flush


def canonical_digest(application: Application, attachments: list[dict[str, Any]]) -> str:
    """SHA-256 of the canonical JSON of the content plus the attachments' digests."""
    document = {
        "call_id": application.call_id,
        "content": application.content,
        "attachments": sorted(attachments, key=lambda a: a["id"]),
    }
    return hashlib.sha256(orjson.dumps(document, option=orjson.OPT_SORT_KEYS)).hexdigest()


CURRENT_ENDORSEMENTS = (
    sa.select(Endorsement)
    .where(Endorsement.application_id == sa.bindparam("application_id"), Endorsement.voided_at.is_(None))  # type: ignore[union-attr]
    .order_by(Endorsement.recorded_at)
)


def current_endorsements(session: Session, application_id: str) -> list[Endorsement]:
    return list(session.execute(CURRENT_ENDORSEMENTS, {"application_id": application_id}).scalars())


def sign_offs(application: Application, endorsements: list[Endorsement]) -> list[SignOff]:
    by_party = {(e.party_role, e.organization_id): e for e in endorsements}
    out = []
    for role, org, _ in party_list(application.content.get("parties") or {}):
        e = by_party.get((role, org))
        out.append(
            SignOff.model_construct(
                role=role,
                organization_id=org,
                status="pending" if e is None else ("agreed" if e.decision == "agree" else "disagreed"),
                endorsement_id=e.id if e else None,
                mode=e.mode if e else None,
                verification=e.verification if e else None,
                recorded_at=e.recorded_at if e else None,
            )
        )
    return out


def allowed_actions(principal: Principal, application: Application, signs: list[SignOff]) -> list[str]:
    actors = actors_of(principal, application)
    actions = available_actions(application.state, actors)
    editable = application.state in EDITABLE_STATES
    if Actor.applicant in actors and editable:
        actions += ["edit", "attach"] + (["delete"] if application.state == State.draft else [])
    if application.state == State.endorsing:
        pending = {s.organization_id for s in signs if s.status == "pending"}
        if (principal.has(Role.signatory) and principal.organization_id in pending) or (
            Actor.applicant in actors and pending
        ):
            actions.append("endorse")
    if (
        Actor.reviewer in actors
        and any(s.mode == "paper" and s.verification == "pending" for s in signs)
        and application.state in (State.provincial_review, State.recommended)
    ):
        actions.append("verify_paper_endorsement")
    return actions


# Steps refused once the call's (or the recommender's internal) deadline has passed, and where they start.
DEADLINE_ACTIONS = frozenset(step.action for step in STEPS if step.checks_deadline)
_DEADLINE_STATES = frozenset(state for step in STEPS if step.checks_deadline for state in step.sources)
_DEADLINES = (
    sa.select(Call.deadline, Organization.internal_deadline)
    .select_from(Call)
    .outerjoin(Organization, Organization.id == sa.bindparam("recommender_id"))
    .where(Call.id == sa.bindparam("call_id"))
)
_DIRECT_DEADLINES = DirectSelect(_DEADLINES)


def past_deadline(executor: Any, application: Any, now: datetime | None) -> bool:
    """Whether a deadline step would be refused now (`executor`: a Session or a Connection). One query, only
    in the states those steps start from."""
    if now is None or application.state not in _DEADLINE_STATES:
        return False
    params = {"call_id": application.call_id, "recommender_id": application.recommender_id}
    # A bare connection is the hot read path: straight on the driver; a session takes the usual way.
    if isinstance(executor, sa.Connection):
        row = _DIRECT_DEADLINES.first(executor, params)
    else:
        row = executor.execute(_DEADLINES, params).first()
    if row is None:
        return False
    return now > min(d for d in row if d is not None)


def to_public(
    session: Session, principal: Principal, application: Application, now: datetime | None = None
) -> ApplicationPublic:
    return represent(
        principal,
        application,
        current_endorsements(session, application.id),
        closed=past_deadline(session, application, now),
    )


def represent(
    principal: Principal, application: Application, endorsements: list[Endorsement], *, closed: bool = False
) -> ApplicationPublic:
    """The public shape; reads attributes only, so a loaded row serves as well as an ORM object.

    Built without re-validation: every value comes from the store, which only holds validated content.
    """
    c = application.content
    signs = sign_offs(application, endorsements)
    return ApplicationPublic.model_construct(
        id=application.id,
        call_id=application.call_id,
        title=application.title,
        state=application.state,
        version=application.version,
        content_digest=application.content_digest,
        undertaking_org_id=application.undertaking_org_id,
        province_code=application.province_code,
        entered_by_org_id=application.entered_by_org_id,
        domain=c.get("domain"),
        recommender_id=c.get("recommender_id"),
        parties=c.get("parties") or {},
        contact=c.get("contact"),
        period=c.get("period"),
        sections=c.get("sections") or {},
        standards=c.get("standards") or [],
        funding=c.get("funding"),
        eligibility=c.get("eligibility") or [],
        sign_offs=signs,
        allowed_actions=[
            a for a in allowed_actions(principal, application, signs) if not (closed and a in DEADLINE_ACTIONS)
        ],
        outcome_document_number=application.outcome_document_number,
        created_at=application.created_at,
        updated_at=application.updated_at,
        submitted_at=application.submitted_at,
    )
