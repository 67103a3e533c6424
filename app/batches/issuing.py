"""Receipts (回执) of submitted lists: the tracking number, the sealed document, the chain of earlier ones."""

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlmodel import col

from app.applications.models import Application
from app.attachments.queries import attachment_digests
from app.batches import receipts
from app.batches.keystore import Signer
from app.batches.models import Batch, BatchItem, Receipt
from app.core.ids import new_id
from app.organizations.models import Organization
from app.reference.models import Call


def _tracking_key(value: str) -> str:
    return "".join(ch for ch in value.upper() if ch.isalnum())


def issue_receipt(
    session: Session,
    batch: Batch,
    call: Call,
    rows: list[tuple[BatchItem, Application]],
    now: datetime,
    signers: list[Signer],
) -> Receipt:
    previous = latest_receipt(session, batch.id)
    seq = (previous.seq if previous else 0) + 1
    org = session.get(Organization, batch.recommender_id)
    assert org is not None
    who = _tracking_key(org.key) if org.key else _tracking_key(org.id.split("_")[-1])[-6:]
    tracking = f"SMPS-{_tracking_key(call.key)}-{who}-{seq:03d}"
    items = [
        {
            "rank": item.rank,
            "application_id": a.id,
            "title": a.title,
            "content_digest": a.content_digest,
            "attachments": [{"id": d["id"], "sha256": d["sha256"]} for d in attachment_digests(session, a.id)],
        }
        for item, a in rows
    ]
    # Sealed here, inside the submit transaction: a list is never submitted without its signed receipt,
    # and SM2-SM3 costs about 0.3 ms of CPU per signature through OpenSSL (docs/receipts.md), too little
    # to be worth a window in which a submitted list has no receipt.
    document = receipts.seal(
        {
            "tracking_number": tracking,
            "submitted_at": now.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "call_id": call.id,
            "recommender_id": batch.recommender_id,
            "batch_id": batch.id,
            "items": items,
            "previous_tracking_number": previous.tracking_number if previous else None,
        },
        signers,
    )
    receipt = Receipt(
        id=new_id("rcp"),
        batch_id=batch.id,
        seq=seq,
        tracking_number=tracking,
        digest=receipts.digest(document),
        document=document,
        issued_at=now,
    )
    session.add(receipt)
    session.flush()
    return receipt


def latest_receipt(session: Session, batch_id: str) -> Receipt | None:
    return session.execute(
        sa.select(Receipt).where(col(Receipt.batch_id) == batch_id).order_by(col(Receipt.seq).desc()).limit(1)
    ).scalar_one_or_none()


def all_receipts(session: Session, batch_id: str) -> list[Receipt]:
    return list(
        session.execute(
            sa.select(Receipt).where(col(Receipt.batch_id) == batch_id).order_by(col(Receipt.seq))
        ).scalars()
    )
