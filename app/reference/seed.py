"""Idempotent seed of the reference data: recommenders, the joint office, the 9th-batch call."""

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from app.core.ids import keyed_id
from app.organizations.models import Organization, OrganizationKind, RecommenderKind
from app.reference import data
from app.reference.models import Call

DEFAULT_ATTACHMENT_RULES = {
    "application_form_scan": {"required": True, "max_count": 3},
    "paper_endorsement": {"required": False, "max_count": 20},
    "implementation_plan": {"required": False, "max_count": 5},
    "standards_table": {"required": False, "max_count": 5},
    "evidence": {"required": False, "max_count": 50},
    "other": {"required": False, "max_count": 20},
}


def seed_reference_data(session: Session) -> None:
    now = datetime.now(UTC)
    existing = set(session.execute(select(col(Organization.key)).where(col(Organization.key).is_not(None))).scalars())
    for code, name, name_en in [*data.PROVINCES, data.XPCC]:
        if code in existing:
            continue
        session.add(
            Organization(
                id=keyed_id("org", code),
                key=code,
                name=f"{name}市场监督管理局",
                name_en=f"{name_en} Administration for Market Regulation",
                province_code=code,
                kind=OrganizationKind.market_supervision_bureau,
                recommender_kind=RecommenderKind.province,
                created_at=now,
                updated_at=now,
            )
        )
    if data.OFFICE_KEY not in existing:
        session.add(
            Organization(
                id=keyed_id("org", data.OFFICE_KEY),
                key=data.OFFICE_KEY,
                name=data.OFFICE_NAME,
                name_en=data.OFFICE_NAME_EN,
                province_code="110000",
                kind=OrganizationKind.joint_office,
                created_at=now,
                updated_at=now,
            )
        )
    if session.execute(select(col(Call.id)).where(col(Call.key) == data.NINTH_CALL_KEY)).first() is None:
        # The reference module keeps the call as plain data; its keys are Call's columns of the same names.
        ninth_call: Mapping[str, Any] = data.NINTH_CALL
        session.add(
            Call(
                id=keyed_id("call", data.NINTH_CALL_KEY),
                **ninth_call,
                catalogue=data.CATALOGUE_9TH,
                conditions=data.CONDITIONS_9TH,
                sections=data.SECTIONS_9TH,
                attachment_rules=DEFAULT_ATTACHMENT_RULES,
                created_at=now,
                updated_at=now,
            )
        )
    session.flush()
