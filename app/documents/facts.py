"""What the printable documents show about an application: names, sign-offs, the receipt it was submitted with."""

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlmodel import col

from app.accounts.models import User
from app.applications.models import Application, Endorsement, Review
from app.applications.validation import party_list
from app.batches.models import Batch, BatchItem, BatchState, Receipt
from app.organizations.models import Organization
from app.reference.models import Call

ROLE_NAMES = {
    "undertaking": "试点承担单位",
    "participating": "参加单位",
    "guarantor": "保证单位",
    "guidance": "业务指导单位",
    "management": "管理单位（推荐单位）",
}


@dataclass
class Opinion:
    role: str
    organization: str
    decision: str | None = None
    opinion: str | None = None
    signatory: str | None = None
    date: str | None = None
    paper: bool = False


@dataclass
class Facts:
    application: Application
    call: Call
    orgs: dict[str, Organization]
    parties: list[tuple[str, str]]  # (role, organization id), management unit last
    opinions: list[Opinion] = field(default_factory=list)
    tracking_number: str | None = None

    def name(self, org_id: str | None) -> str:
        org = self.orgs.get(org_id or "")
        return org.name if org else "—"


def _date(value: Any) -> str:
    return value.astimezone().strftime("%Y-%m-%d") if value else ""


def gather(session: Session, application: Application) -> Facts:
    call = session.get(Call, application.call_id)
    assert call is not None
    parties = [(role, org) for role, org, _ in party_list(application.content.get("parties") or {})]
    if application.recommender_id:
        parties.append(("management", application.recommender_id))
    ids = {org for _, org in parties}
    orgs = (
        {o.id: o for o in session.execute(sa.select(Organization).where(col(Organization.id).in_(ids))).scalars()}
        if ids
        else {}
    )
    endorsements = {
        (e.party_role, e.organization_id): e
        for e in session.execute(
            sa.select(Endorsement).where(
                col(Endorsement.application_id) == application.id, col(Endorsement.voided_at).is_(None)
            )
        ).scalars()
    }
    facts = Facts(application, call, orgs, parties)
    for role, org in parties:
        op = Opinion(role, facts.name(org))
        if role == "management":
            row = session.execute(
                sa.select(Review, col(User.display_name))
                .join(User, col(User.id) == col(Review.reviewer_id))
                .where(col(Review.application_id) == application.id, col(Review.recommender_id) == org)
                .order_by(col(Review.recorded_at).desc())
                .limit(1)
            ).first()
            if row is not None:
                review, reviewer = row
                op.decision, op.opinion, op.signatory, op.date = (
                    review.decision,
                    review.opinion,
                    reviewer,
                    _date(review.recorded_at),
                )
        elif (e := endorsements.get((role, org))) is not None:
            op.decision, op.opinion, op.date, op.paper = e.decision, e.opinion, _date(e.recorded_at), e.mode == "paper"
            op.signatory = " ".join(x for x in (e.signatory_name, e.signatory_title) if x)
        facts.opinions.append(op)
    facts.tracking_number = session.execute(
        sa.select(col(Receipt.tracking_number))
        .join(Batch, col(Batch.id) == col(Receipt.batch_id))
        .join(BatchItem, col(BatchItem.batch_id) == col(Batch.id))
        .where(
            col(BatchItem.application_id) == application.id,
            col(Batch.state).in_((BatchState.submitted, BatchState.acknowledged)),
        )
        .order_by(col(Receipt.seq).desc())
        .limit(1)
    ).scalar_one_or_none()
    return facts


def domain_label(call: Call, domain: dict[str, Any] | None) -> str:
    """``1.1.3 网上办事服务`` (or the area with an "other" description)."""
    if not domain:
        return ""
    names: dict[str, str] = {}

    def walk(nodes: list[dict[str, Any]]) -> None:
        for node in nodes:
            names[node.get("code", "")] = node.get("name", "")
            walk(node.get("children") or [])

    walk(call.catalogue or [])
    area = domain.get("area", "")
    if domain.get("item"):
        return f"{domain['item']} {names.get(domain['item'], '')}".strip()
    if domain.get("other"):
        return f"{area} {names.get(area, '')}（其他：{domain['other']}）"
    return f"{area} {names.get(area, '')}".strip()
