"""Which events are mailed about, to whom, and what the message says (Chinese, then English).

| event                                         | notice                    | to                                      |
|-----------------------------------------------|---------------------------|-----------------------------------------|
| application.state_changed → endorsing         | ``sign_off_awaited``      | signatories of every party organization |
| application.state_changed → returned          | ``application_returned``  | applicants of the undertaking unit      |
| application.state_changed → rejected          | ``application_rejected``  | applicants of the undertaking unit      |
| application.state_changed, action recommend   | ``application_recommended`` | applicants of the undertaking unit    |
| application.state_changed, approve/not_approve | ``outcome_recorded``     | applicants of the undertaking unit      |
| batch.submitted                               | ``list_submitted``        | the office's users                      |

Only active users with an ``email`` and ``email_notifications`` on are written to; the user who took
the step is not told of it. Messages carry a link to the portal page and nothing else: no attachment,
no credential, no content of the application beyond its title.
"""

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlmodel import col

from app.accounts.models import Role, User
from app.applications.models import Application
from app.applications.validation import party_list
from app.batches.models import Batch
from app.core.outbox_models import Event
from app.organizations.models import Organization
from app.reference.models import Call

# The event types that may lead to a notice (the fan-out looks at no others).
MAILED_TYPES = ("application.state_changed", "batch.submitted")
_OUTCOME = {"approve": ("已批准为试点", "approved as a pilot"), "not_approve": ("未获批准", "not approved")}


@dataclass(frozen=True)
class Notice:
    kind: str
    subject: str
    body: str


@dataclass(frozen=True)
class Recipient:
    user_id: str
    address: str


def _body(zh: str, en: str, link: str) -> str:
    return (
        f"{zh}\n\n查看详情：{link}\n\n"
        "（本邮件由标准化试点申报系统自动发送，请勿回复。如不希望接收通知，可在个人设置中关闭邮件通知。）\n\n"
        "----\n\n"
        f"{en}\n\nDetails: {link}\n\n"
        "(Sent automatically by the standardization pilot submission service; please do not reply. "
        "You can turn these notices off in your settings.)\n"
    )


def _recipients(
    session: Session, role: Role, organization_ids: list[str] | None, exclude: str | None
) -> list[Recipient]:
    query = sa.select(User).where(
        col(User.is_active).is_(True),
        col(User.email).is_not(None),
        col(User.email_notifications).is_(True),
    )
    if organization_ids is not None:
        query = query.where(col(User.organization_id).in_(organization_ids))
    users = session.execute(query.order_by(col(User.id))).scalars()
    return [
        Recipient(u.id, u.email)
        for u in users
        if role.value in (u.roles or []) and u.id != exclude and u.email is not None
    ]


def notices_for(session: Session, event: Event, base_url: str) -> list[tuple[Recipient, Notice]]:
    """The messages ``event`` leads to (none for most events)."""
    data: dict[str, Any] = event.data or {}
    if event.type == "batch.submitted":
        return _list_submitted(session, event, base_url)
    if event.type != "application.state_changed":
        return []
    application = session.get(Application, event.subject_id)
    if application is None:
        return []
    title = application.title or application.id
    link = f"{base_url}/portal/applications/{application.id}"
    action, target = data.get("action"), data.get("to")
    applicants = [application.undertaking_org_id]
    if target == "endorsing":
        parties = sorted({org for _, org, _ in party_list(application.content.get("parties") or {})})
        notice = Notice(
            "sign_off_awaited",
            f"【试点申报】待本单位会签：{title} / Sign-off awaited from your organization: {title}",
            _body(
                f"申报项目《{title}》已提交会签，请贵单位的签署人登录系统签署意见。",
                f"The application “{title}” awaits your organization's sign-off: "
                "a signatory of your organization is asked to record it.",
                link,
            ),
        )
        return [(r, notice) for r in _recipients(session, Role.signatory, parties, event.actor_id)]
    if target in ("returned", "rejected") or action == "recommend":
        kind, zh, en = {
            "returned": ("application_returned", "已退回修改", "was returned for changes"),
            "rejected": ("application_rejected", "未通过审核", "was rejected"),
        }.get(str(target), ("application_recommended", "已获推荐", "was recommended"))
        notice = Notice(
            kind,
            f"【试点申报】申报项目{zh}：{title} / Application {en}: {title}",
            _body(f"贵单位的申报项目《{title}》{zh}。", f"Your application “{title}” {en}.", link),
        )
    elif action in _OUTCOME:
        zh, en = _OUTCOME[action]
        notice = Notice(
            "outcome_recorded",
            f"【试点申报】评审结果：{title}{zh} / Outcome recorded: {title} {en}",
            _body(
                f"联席办公室已登记申报项目《{title}》的结果：{zh}。",
                f"The joint office recorded the outcome of your application “{title}”: {en}.",
                link,
            ),
        )
    else:
        return []
    return [(r, notice) for r in _recipients(session, Role.applicant, applicants, event.actor_id)]


def _list_submitted(session: Session, event: Event, base_url: str) -> list[tuple[Recipient, Notice]]:
    batch = session.get(Batch, event.subject_id)
    if batch is None:
        return []
    org = session.get(Organization, batch.recommender_id)
    call = session.get(Call, batch.call_id)
    name = org.name if org else batch.recommender_id
    call_zh, call_en = (call.name, call.name_en) if call else (batch.call_id, batch.call_id)
    link = f"{base_url}/portal/batches/{batch.id}"
    notice = Notice(
        "list_submitted",
        f"【试点申报】{name}已报送推荐清单 / Recommended list submitted by {name}",
        _body(
            f"{name}已向联席办公室报送{call_zh}的推荐清单。",
            f"{name} submitted its recommended list for {call_en} to the joint office.",
            link,
        ),
    )
    return [(r, notice) for r in _recipients(session, Role.office, None, event.actor_id)]
