"""What the printable recommended list (推荐清单) prints, as plain text: the input of its PDF and of its ETag.

Like :class:`app.documents.form.PrintedForm`, everything the PDF shows comes from a :class:`PrintedList`,
so two lists whose printed text is equal are the same document.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlmodel import col

from app.accounts.principal import Principal
from app.batches.models import Batch, BatchState, Receipt
from app.batches.service import items_of, latest_receipt
from app.core.clock import BEIJING
from app.documents.facts import domain_label
from app.documents.form import BLANK_DATE, money
from app.organizations.models import Organization
from app.reference.models import Call

LIST_TITLE = "社会管理和公共服务综合标准化试点推荐项目清单"
HEADERS = ("序号", "项目名称", "承担单位", "申报领域", "试点期", "经费预算", "联系人")


@dataclass(frozen=True)
class PrintedList:
    title: str
    call_name: str
    notice_number: str
    recommender: str
    date: str  # the submission date (北京时间), or a blank to fill in by hand
    rows: list[list[str]]
    tracking_number: str | None  # once submitted
    qr: str | None  # the receipt's QR payload (app.batches.receipt_pdf.qr_payload)
    draft: bool  # open or returned: not what the office holds
    contact: str  # the call's contact persons and address, for the footer


def beijing_date(moment: datetime) -> str:
    return moment.astimezone(BEIJING).strftime("%Y年%m月%d日")


def contact_line(call: Call) -> str:
    """``联系人：… 电话：… 邮寄地址：…（邮编）``, from the call's ``contact``; empty when it has none."""
    c: dict[str, Any] = call.contact or {}
    parts = []
    if c.get("persons") or c.get("unit"):
        parts.append("联系人：" + " ".join([c.get("unit") or "", *c.get("persons", [])]).strip())
    phones = list(c.get("phones") or [])
    if phones or c.get("fax"):
        parts.append("电话：" + "，".join(phones + ([f"{c['fax']}（传真）"] if c.get("fax") else [])))
    if c.get("address"):
        parts.append("邮寄地址：" + c["address"] + (f"（邮编 {c['postcode']}）" if c.get("postcode") else ""))
    return "　".join(parts)


def _row(rank: int, application: Any, units: dict[str, str], call: Call) -> list[str]:
    c = application.content
    period, contact, funding = c.get("period") or {}, c.get("contact") or {}, c.get("funding") or {}
    return [
        str(rank),
        application.title,
        units.get(application.undertaking_org_id, ""),
        domain_label(call, c.get("domain")),
        f"{period.get('start', '')} 至 {period.get('end', '')}" if period else "",
        money(funding.get("amount_cny")),
        " ".join(x for x in (contact.get("name"), contact.get("phone")) if x),
    ]


def printed_list(
    session: Session, batch: Batch, principal: Principal | None, receipt: Receipt | None, qr: str | None
) -> PrintedList:
    """The list as the caller may see it (the office does not see what a returned list holds since)."""
    call = session.get(Call, batch.call_id)
    recommender = session.get(Organization, batch.recommender_id)
    assert call is not None and recommender is not None
    items = items_of(session, batch.id, principal)
    ids = {a.undertaking_org_id for _, a in items}
    units: dict[str, str] = (
        dict(
            session.execute(
                sa.select(col(Organization.id), col(Organization.name)).where(col(Organization.id).in_(ids))
            ).all()
        )
        if ids
        else {}
    )
    draft = batch.state not in (BatchState.submitted, BatchState.acknowledged)
    return PrintedList(
        title=LIST_TITLE,
        call_name=call.name,
        notice_number=call.notice_number,
        recommender=recommender.name,
        date=beijing_date(batch.submitted_at) if batch.submitted_at and not draft else BLANK_DATE,
        rows=[_row(item.rank, a, units, call) for item, a in items],
        tracking_number=None if draft or receipt is None else receipt.tracking_number,
        qr=None if draft else qr,
        draft=draft,
        contact=contact_line(call),
    )


def submitted_receipt(session: Session, batch: Batch) -> Receipt | None:
    """The receipt of the list as submitted: the latest, unless the list is open again (returned)."""
    if batch.state not in (BatchState.submitted, BatchState.acknowledged):
        return None
    return latest_receipt(session, batch.id)
