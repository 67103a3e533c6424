"""The application aggregate: create, edit, delete, list, and its public representation."""

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import orjson
import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlmodel import col

from app.accounts.models import Role
from app.accounts.principal import Principal, require_role
from app.applications.access import entry_errors
from app.applications.events import record_application_event
from app.applications.models import Application, ApplicationParty, Endorsement, Review
from app.applications.schemas import (
    ApplicationAction,
    ApplicationCreate,
    ApplicationPublic,
    ApplicationUpdate,
    EndorsementMode,
    PartyRole,
    SignOff,
    StateName,
    VerificationState,
)
from app.applications.states import EDITABLE_STATES, State
from app.applications.validation import OrgFacts, Report, party_list, validate_application
from app.applications.workflow import DEADLINE_ACTIONS, DEADLINE_STATES, INITIAL_STATE, Actor, Guard, available_actions
from app.attachments.queries import missing_required_kinds
from app.core.concurrency import compare_and_set
from app.core.deps import etag
from app.core.errors import Forbidden, InvalidState, PreconditionFailed, ValidationFailed
from app.core.fast.select import DirectSelect
from app.core.i18n import Text
from app.core.ids import new_id
from app.core.invalid import invalid
from app.core.outbox import new_event, queue_event
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
        raise invalid(pointer, "unknown_call", Text("征集批次不存在", "No such call"))
    return call


def org_facts(session: Session, ids: set[str]) -> dict[str, OrgFacts]:
    if not ids:
        return {}
    rows = session.execute(
        sa.select(
            col(Organization.id),
            col(Organization.province_code),
            col(Organization.credit_code),
            col(Organization.credit_code_check_failed),
            col(Organization.recommender_kind),
        ).where(col(Organization.id).in_(ids))
    ).all()
    return {r[0]: OrgFacts(*r) for r in rows}


def _referenced_orgs(content: dict[str, Any]) -> set[str]:
    ids = {org for _, org, _ in party_list(content.get("parties") or {})}
    if content.get("recommender_id"):
        ids.add(content["recommender_id"])
    return ids


def run_validation(session: Session, application: Application, call: Call) -> Report:
    orgs = org_facts(session, _referenced_orgs(application.content))
    return validate_application(application.content, call, orgs, missing_required_kinds(session, call, application.id))


def _refuse_wrong_content(session: Session, content: dict[str, Any], call: Call) -> None:
    report = validate_application(content, call, org_facts(session, _referenced_orgs(content)), [])
    wrong = [e for e in report.errors if e.code in WRITE_TIME_CODES]
    if wrong:
        raise ValidationFailed(errors=wrong)


def _sync_parties(session: Session, application: Application) -> None:
    session.execute(sa.delete(ApplicationParty).where(col(ApplicationParty.application_id) == application.id))
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
    orgs = find_orgs(_referenced_orgs(content))
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
        **_columns_from_content(content),
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
    _refuse_wrong_content(session, content, call)
    compare_and_set(session, application, version, content=content, updated_at=now, **_columns_from_content(content))
    _sync_parties(session, application)
    record_application_event(
        session, "application.updated", application, application, principal, now=now, data={"fields": sorted(changes)}
    )
    return application


def delete_application(
    session: Session, principal: Principal, application: Application, version: int, now: datetime
) -> None:
    require_actor(principal, application, Actor.applicant)
    if application.state != State.draft:
        raise InvalidState(Text("仅草稿可删除", "Only drafts can be deleted"))
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
    .where(col(Endorsement.application_id) == sa.bindparam("application_id"), col(Endorsement.voided_at).is_(None))
    .order_by(col(Endorsement.recorded_at))
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
                role=cast(PartyRole, role),
                organization_id=org,
                status="pending" if e is None else ("agreed" if e.decision == "agree" else "disagreed"),
                endorsement_id=e.id if e else None,
                mode=cast(EndorsementMode, e.mode) if e else None,
                verification=cast(VerificationState | None, e.verification) if e else None,
                recorded_at=e.recorded_at if e else None,
            )
        )
    return out


def allowed_actions(principal: Principal, application: Application, signs: list[SignOff]) -> list[str]:
    """The workflow table's steps open to the caller now (app.applications.workflow)."""
    actors = actors_of(principal, application)
    pending = {s.organization_id for s in signs if s.status == "pending"}
    facts: set[Guard] = set()
    if pending:
        facts.add(Guard.pending_sign_off)
        if principal.has(Role.signatory) and principal.organization_id in pending:
            actors.add(Actor.signatory)
    if any(s.mode == "paper" and s.verification == "pending" for s in signs):
        facts.add(Guard.pending_paper)
    return available_actions(application.state, actors, facts)


def open_actions(
    principal: Principal, application: Any, signs: list[SignOff], *, closed: bool
) -> list[ApplicationAction]:
    """``allowed_actions`` less the deadline steps once the deadline has passed (``closed``)."""
    return [
        cast(ApplicationAction, a)
        for a in allowed_actions(principal, application, signs)
        if not (closed and a in DEADLINE_ACTIONS)
    ]


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
    return bool(known) and now > min(known)


def to_public(
    session: Session, principal: Principal, application: Application, now: datetime | None = None
) -> ApplicationPublic:
    return represent(
        principal,
        application,
        current_endorsements(session, application.id),
        closed=past_deadline(session, application, now),
    )


def representation_etag(
    session: Session, principal: Principal, application: Application, now: datetime | None = None
) -> str:
    """The ETag of the application as ``principal`` sees it now (what ``GET`` would send them)."""
    return etag(application.version, tuple(to_public(session, principal, application, now).allowed_actions))


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
        state=cast(StateName, application.state),
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
        allowed_actions=open_actions(principal, application, signs, closed=closed),
        outcome_document_number=application.outcome_document_number,
        created_at=application.created_at,
        updated_at=application.updated_at,
        submitted_at=application.submitted_at,
    )
