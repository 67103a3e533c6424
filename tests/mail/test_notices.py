"""Notices by e-mail, end to end: the workflow through the API, the worker, a real SMTP server."""

import httpx
from fastapi import FastAPI

from app.worker import Worker
from tests.applications.cast import Cast, Flow, make_cast
from tests.events.conftest import emit, make_batch
from tests.factories import make_user
from tests.mail.conftest import MailServer, now, set_email

BASE = "https://smps.example.cn"


def _addresses(app: FastAPI, cast: Cast) -> dict[str, str]:
    """Give every member of the cast an address named after its part."""
    parts = {
        "applicant": cast.applicant,
        "undertaking_signatory": cast.undertaking_signatory,
        "participating_signatory": cast.participating_signatory,
        "guarantor_signatory": cast.guarantor_signatory,
        "guidance_signatory": cast.guidance_signatory,
        "reviewer": cast.reviewer,
        "stranger": cast.stranger,
        "stranger_signatory": cast.stranger_signatory,
        "office": cast.office,
    }
    return {part: set_email(app, actor, f"{part}@example.cn") or "" for part, actor in parts.items()}


def _one(server: MailServer, address: str) -> str:
    [message] = server.inbox.to(address)
    body = message.get_content()
    assert isinstance(body, str)
    return str(message["Subject"]) + "\n" + body


def _bilingual(text: str, zh: str, en: str, link: str) -> None:
    """Chinese first, English below it, the link in both, nothing else of the application."""
    assert zh in text and en in text and text.index(zh) < text.index(en), text
    assert text.count(link) >= 2, text


async def test_each_notice_reaches_its_recipients_with_the_link(
    app: FastAPI, client: httpx.AsyncClient, worker: Worker, mail_server: MailServer
) -> None:
    cast = await make_cast(app, client)
    mail = _addresses(app, cast)
    inbox = mail_server.inbox

    # Submitted: every party's signatory is asked to sign off; the applicant who submitted is not told.
    returned = Flow(client, cast)
    await returned.create()
    await returned.attach_scan()
    assert (await returned.act("submit")).status_code == 200
    assert inbox.addresses() == []  # nothing is sent inside the request
    result = worker.run_once(now())
    assert (result.mails_made, result.mails_attempted, result.mails_sent) == (4, 4, 4)
    signatories = ["undertaking_signatory", "participating_signatory", "guarantor_signatory", "guidance_signatory"]
    assert inbox.addresses() == sorted(mail[p] for p in signatories)
    link = f"{BASE}/portal/applications/{returned.id}"
    for part in signatories:
        _bilingual(
            _one(mail_server, mail[part]),
            "请贵单位的签署人登录系统签署意见",
            "awaits your organization's sign-off",
            link,
        )

    # Returned by the reviewer: the undertaking unit's applicants.
    await returned.endorse_all()
    assert (await returned.review("return", "请补充实施方案")).status_code == 201
    worker.run_once(now())
    text = _one(mail_server, mail["applicant"])
    _bilingual(text, "已退回修改", "was returned for changes", link)
    assert "请补充实施方案" not in text  # the opinion is read in the portal, signed in

    # Recommended, then approved by the office (the outcome).
    recommended = Flow(client, cast)
    await recommended.to_review()
    assert (await recommended.review("recommend", "同意推荐")).status_code == 201
    rejected = Flow(client, cast)
    await rejected.to_review()
    assert (await rejected.review("reject", "不符合申报条件")).status_code == 201
    emit(
        app,
        "application.state_changed",
        recommended.id,
        actor_id=cast.office.user_id,
        application_id=recommended.id,
        data={"action": "approve", "from": "submitted", "to": "approved"},  # type: ignore[arg-type]
    )
    batch = make_batch(app, recommender=cast.recommender, created_by=cast.reviewer.user_id, state="submitted")
    emit(app, "batch.submitted", batch, actor_id=cast.reviewer.user_id, recommender_id=cast.recommender)
    worker.run_once(now())

    to_applicant = inbox.to(mail["applicant"])
    subjects = [str(m["Subject"]) for m in to_applicant]
    assert len(to_applicant) == 4, subjects  # returned, recommended, rejected, approved
    by_kind = {s.split("：")[0]: m for s, m in zip(subjects, to_applicant, strict=True)}
    recommended_link = f"{BASE}/portal/applications/{recommended.id}"
    _bilingual(
        str(by_kind["【试点申报】申报项目已获推荐"].get_content()), "已获推荐", "was recommended", recommended_link
    )
    _bilingual(
        str(by_kind["【试点申报】申报项目未通过审核"].get_content()),
        "未通过审核",
        "was rejected",
        f"{BASE}/portal/applications/{rejected.id}",
    )
    _bilingual(
        str(by_kind["【试点申报】评审结果"].get_content()), "已批准为试点", "approved as a pilot", recommended_link
    )
    _bilingual(
        _one(mail_server, mail["office"]),
        "已向联席办公室报送",
        "submitted its recommended list",
        f"{BASE}/portal/batches/{batch}",
    )
    # The other roles and strangers heard nothing beyond their own notices.
    assert inbox.to(mail["reviewer"]) == [] and inbox.to(mail["stranger"]) == []
    assert inbox.to(mail["stranger_signatory"]) == []
    for part in signatories:
        assert len(inbox.to(mail[part])) == 3  # one sign-off request per submitted application
    # Headers: from the configured sender, one recipient, a Message-ID, no attachment.
    message = to_applicant[0]
    assert message["From"] == "试点申报系统 <noreply@smps.example.cn>" and message["To"] == mail["applicant"]
    assert message["Message-ID"].endswith("@smps.example.cn>") and not message.is_multipart()
    assert worker.run_once(now()).mails_attempted == 0


async def test_opted_out_and_addressless_users_get_nothing(
    app: FastAPI, client: httpx.AsyncClient, worker: Worker, mail_server: MailServer
) -> None:
    cast = await make_cast(app, client)
    set_email(app, cast.undertaking_signatory, "opted-out@example.cn", notifications=False)
    set_email(app, cast.participating_signatory, None)
    set_email(app, cast.guarantor_signatory, "guarantor@example.cn")
    set_email(app, cast.guidance_signatory, "guidance@example.cn")
    second = make_user(app, cast.guidance, "signatory")
    set_email(app, second, "guidance-2@example.cn")
    flow = Flow(client, cast)
    await flow.create()
    await flow.attach_scan()
    assert (await flow.act("submit")).status_code == 200

    assert worker.run_once(now()).mails_sent == 3
    assert mail_server.inbox.addresses() == ["guarantor@example.cn", "guidance-2@example.cn", "guidance@example.cn"]
