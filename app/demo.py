"""Demo data for a newcomer: a practice call open now, a small cast of organizations and users.

Its ids are the same in every database (``keyed_id``: the call, the organizations, the users), so the
OpenAPI document's examples name them. Idempotent: run again, it finds what it made. The database keeps only key digests, so the demo keys are
reused from the caller's previous output (``var/demo.json``) while each still verifies; a user whose key
does not gets a new one, and that user's other demo keys are revoked so they do not pile up.
"""

from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import col

from app.accounts.models import ApiKey, User
from app.accounts.service import create_api_key, create_user
from app.core.clock import BEIJING
from app.core.db import make_database
from app.core.ids import keyed_id
from app.core.security import secret_hash
from app.core.settings import Settings
from app.organizations.credit_code import check_character
from app.organizations.models import Organization
from app.reference import data
from app.reference.models import Call
from app.reference.seed import DEFAULT_ATTACHMENT_RULES

DEMO_PASSWORD = "demo-password-2026"
PRACTICE_CALL_KEY = "practice"
PRACTICE_CONTACT = {
    "unit": "演示联席办公室",
    "persons": ["练习联系人"],
    "phones": ["010-00000000"],
    "address": "北京市东城区演示路1号",
    "postcode": "100000",
    "electronic_route": "演示：通过本系统下载电子版（package.zip）报送",
}
DEMO_KEY_NAME = "demo"

# (key, name, credit code without its check character, kind)
_ORGS = [
    ("demo-undertaking", "济南市历下区行政审批服务局", "11370102MB283456", "government_agency"),
    ("demo-participating", "济南市历下区大数据中心", "12370102MB283457", "public_institution"),
    ("demo-guarantor", "济南市历下区人民政府", "11370102MB283458", "government_agency"),
    ("demo-guidance", "济南市行政审批服务局", "11370100MB283459", "government_agency"),
]
# (username, display name, organization key, roles)
_USERS = [
    ("demo_applicant", "王芳", "demo-undertaking", ["applicant", "signatory"]),
    ("demo_participating_signatory", "李强", "demo-participating", ["signatory"]),
    ("demo_guarantor_signatory", "张伟", "demo-guarantor", ["signatory"]),
    ("demo_guidance_signatory", "刘洋", "demo-guidance", ["signatory"]),
    ("demo_reviewer", "陈静", "370000", ["reviewer"]),
    ("demo_office", "赵敏", data.OFFICE_KEY, ["office"]),
    ("demo_admin", "系统管理员", data.OFFICE_KEY, ["admin"]),
]


def _credit_code(first16: str) -> str:
    first17 = first16 + "1"
    return first17 + check_character(first17)


def previous_keys(output: dict[str, Any] | None) -> dict[str, str]:
    """username → API key from an earlier ``create_demo`` output (anything unreadable is ignored)."""
    users = (output or {}).get("users") if isinstance(output, dict) else None
    return {
        u["username"]: u["api_key"]
        for u in users or []
        if isinstance(u, dict) and isinstance(u.get("username"), str) and isinstance(u.get("api_key"), str)
    }


def _demo_key(session: sa.orm.Session, user_id: str, known: str | None, now: datetime) -> str:
    """The user's demo key: ``known`` while it is still the user's live demo key, else a new one."""
    live = list(
        session.execute(
            sa.select(ApiKey).where(
                col(ApiKey.user_id) == user_id, col(ApiKey.name) == DEMO_KEY_NAME, col(ApiKey.revoked_at).is_(None)
            )
        ).scalars()
    )
    if known is not None and any(row.key_hash == secret_hash(known) for row in live):
        key = known
    else:
        _, key = create_api_key(session, user_id, DEMO_KEY_NAME, now)
    for row in live:
        if row.key_hash != secret_hash(key):
            row.revoked_at = now
    return key


def create_demo(settings: Settings, known_keys: dict[str, str] | None = None) -> dict[str, Any]:
    known_keys = known_keys or {}
    now = datetime.now(UTC)
    database = make_database(settings)
    try:
        with database.transaction() as session:
            call = session.execute(sa.select(Call).where(col(Call.key) == PRACTICE_CALL_KEY)).scalar_one_or_none()
            if call is None:
                call = Call(
                    id=keyed_id("call", PRACTICE_CALL_KEY),
                    key=PRACTICE_CALL_KEY,
                    name="练习征集批次（演示）",
                    name_en="Practice call (demo)",
                    notice_number="演示〔2026〕1号",
                    issue_date=date.today(),
                    deadline=(now + timedelta(days=60))
                    .astimezone(BEIJING)
                    .replace(hour=23, minute=59, second=59, microsecond=0),
                    catalogue=data.CATALOGUE_9TH,
                    conditions=data.CONDITIONS_9TH,
                    sections=data.SECTIONS_9TH,
                    attachment_rules=DEFAULT_ATTACHMENT_RULES,
                    is_practice=True,
                    contact=PRACTICE_CONTACT,
                    created_at=now,
                    updated_at=now,
                )
                session.add(call)
            orgs: dict[str, str] = {}
            for key, name, code16, kind in _ORGS:
                org = session.execute(sa.select(Organization).where(col(Organization.key) == key)).scalar_one_or_none()
                if org is None:
                    org = Organization(
                        id=keyed_id("org", key),
                        key=key,
                        name=name,
                        credit_code=_credit_code(code16),
                        province_code="370000",
                        kind=kind,
                        created_at=now,
                        updated_at=now,
                    )
                    session.add(org)
                    session.flush()
                orgs[key] = org.id
            for code in ("370000", data.OFFICE_KEY):
                orgs[code] = session.execute(
                    sa.select(col(Organization.id)).where(col(Organization.key) == code)
                ).scalar_one()
            users = []
            for username, display, org_key, roles in _USERS:
                user = session.execute(sa.select(User).where(col(User.username) == username)).scalar_one_or_none()
                if user is None:
                    user = create_user(
                        session,
                        username=username,
                        display_name=display,
                        organization_id=orgs[org_key],
                        roles=roles,
                        password=DEMO_PASSWORD,
                        now=now,
                        user_id=keyed_id("usr", username),
                    )
                key = _demo_key(session, user.id, known_keys.get(username), now)
                users.append({"username": username, "roles": roles, "organization_id": orgs[org_key], "api_key": key})
        return {
            "call_id": call.id,
            "call_deadline": call.deadline.astimezone(BEIJING).isoformat(),
            "recommender_id": orgs["370000"],
            "organizations": {k: v for k, v in orgs.items() if k.startswith("demo-")},
            "password": DEMO_PASSWORD,
            "users": users,
        }
    finally:
        database.dispose()
