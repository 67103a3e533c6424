"""An application's content (the form): validated against its call and the organizations it names,
the columns it fills, the parties' rows it keeps in step, its canonical digest."""

import hashlib
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlmodel import col

from app.applications.attached import missing_required_kinds
from app.applications.models import Application, ApplicationParty
from app.applications.validation import OrgFacts, Report, party_list, validate_application
from app.core.errors import ValidationFailed
from app.organizations.models import Organization
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


def referenced_orgs(content: dict[str, Any]) -> set[str]:
    ids = {org for _, org, _ in party_list(content.get("parties") or {})}
    if content.get("recommender_id"):
        ids.add(content["recommender_id"])
    return ids


def run_validation(session: Session, application: Application, call: Call) -> Report:
    orgs = org_facts(session, referenced_orgs(application.content))
    return validate_application(application.content, call, orgs, missing_required_kinds(session, call, application.id))


def refuse_wrong_content(session: Session, content: dict[str, Any], call: Call) -> None:
    report = validate_application(content, call, org_facts(session, referenced_orgs(content)), [])
    wrong = [e for e in report.errors if e.code in WRITE_TIME_CODES]
    if wrong:
        raise ValidationFailed(errors=wrong)


def sync_parties(session: Session, application: Application) -> None:
    session.execute(sa.delete(ApplicationParty).where(col(ApplicationParty.application_id) == application.id))
    rows = [
        {"application_id": application.id, "role": role, "organization_id": org, "position": i}
        for i, (role, org, _) in enumerate(party_list(application.content.get("parties") or {}))
    ]
    if rows:
        session.execute(sa.insert(ApplicationParty), rows)


def columns_from_content(content: dict[str, Any]) -> dict[str, Any]:
    return {
        "title": content["title"],
        "recommender_id": content.get("recommender_id"),
        "domain_area": (content.get("domain") or {}).get("area"),
    }


def canonical_digest(application: Application, attachments: list[dict[str, Any]]) -> str:
    """SHA-256 of the canonical JSON of the content plus the attachments' digests."""
    document = {
        "call_id": application.call_id,
        "content": application.content,
        "attachments": sorted(attachments, key=lambda a: a["id"]),
    }
    return hashlib.sha256(orjson.dumps(document, option=orjson.OPT_SORT_KEYS)).hexdigest()
