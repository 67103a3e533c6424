"""Notices by e-mail: fan-out of new events to recipients, and the attempts to send them.

Mirrors the webhooks' delivery (``app.events.delivery``):

1. **Fan-out.** Events after the cursor (table ``mail_fanout``) become one ``mail_deliveries`` row per
   recipient (``app.mail.compose``), composed once; the cursor moves in the same transaction, and the
   unique (event, user) pair keeps a message from being made twice.
2. **Sending.** Due mails are claimed (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite's write lock
   serialises) by pushing their due time one lease ahead and stamping a lease token, then sent outside
   any transaction. Only the holder of the token records the outcome. A worker that dies after the
   server took a message but before recording it leaves that one mail due again when the lease
   (``SMPS_MAIL_LEASE_SECONDS``) expires: it is sent once more, with the same ``Message-ID``
   (``<event id.user id@domain>``), so the receiving side can drop the copy. Nothing is lost and
   nothing else is repeated.

Failures are retried with exponential backoff (1 minute doubling, at most 6 hours between attempts)
until ``SMPS_MAIL_MAX_ATTEMPTS``; then the mail is ``failed``. Times come from the caller, so tests
drive retries without sleeping.
"""

import logging
import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Any

import sqlalchemy as sa
from sqlmodel import col

from app.core.clock import Clock
from app.core.db import Database
from app.core.ids import new_id
from app.core.outbox_models import Event
from app.core.settings import Settings
from app.events.leases import any_due, settle, take_due
from app.mail.compose import MAILED_TYPES, notices_for
from app.mail.models import MailDelivery, MailFanout
from app.mail.smtp import SmtpSender, send, server_of

log = logging.getLogger("smps.worker")

FANOUT_BATCH = 500
CLAIM_BATCH = 20
FIRST_RETRY = timedelta(minutes=1)
LONGEST_WAIT = timedelta(hours=6)


def backoff(failed_attempts: int) -> timedelta:
    """The wait after the n-th failed attempt: 1, 2, 4, 8… minutes, at most six hours."""
    wait: timedelta = FIRST_RETRY * 2 ** min(failed_attempts - 1, 20)
    return min(wait, LONGEST_WAIT)


def message_id(event_id: str, user_id: str, mail_from: str) -> str:
    """The same for every attempt of one (event, recipient): receivers may drop a resent copy."""
    domain = parseaddr(mail_from)[1].rpartition("@")[2] or "smps.invalid"
    return f"<{event_id}.{user_id}@{domain}>"


@dataclass
class ClaimedMail:
    id: str
    number: int
    lease_token: str
    address: str
    message_id: str
    subject: str
    body: str
    created_at: datetime


class Mailer:
    """Fans events out to recipients and sends the mails; one instance per thread or process."""

    def __init__(self, database: Database, settings: Settings, *, sender: SmtpSender | None = None) -> None:
        self.database = database
        self.settings = settings
        self.sender = sender or SmtpSender(server_of(settings), settings.smtp_timeout_seconds)

    # -- fan-out -------------------------------------------------------------------------------

    def fan_out(self, now: datetime) -> int:
        """Turn the events after the cursor into mails; returns how many were made."""
        made = 0
        while True:
            with self.database.reader() as session:
                last = session.execute(sa.select(col(MailFanout.last_seq)).where(col(MailFanout.id) == 1)).scalar()
                head = session.execute(sa.select(sa.func.max(col(Event.seq)))).scalar() or 0
            if last is None or head <= last:
                return made
            with self.database.transaction() as session:
                cursor = session.execute(
                    sa.select(MailFanout).where(col(MailFanout.id) == 1).with_for_update(skip_locked=True)
                ).scalar_one_or_none()
                if cursor is None:  # another worker holds it
                    return made
                end = min(head, cursor.last_seq + FANOUT_BATCH)
                events = session.execute(
                    sa.select(Event)
                    .where(col(Event.seq) > cursor.last_seq, col(Event.seq) <= end, col(Event.type).in_(MAILED_TYPES))
                    .order_by(col(Event.seq))
                ).scalars()
                base = (self.settings.public_base_url or "").rstrip("/")
                rows = []
                for event in events:
                    for recipient, notice in notices_for(session, event, base):
                        rows.append(
                            dict(
                                id=new_id("mail"),
                                event_id=event.id,
                                event_type=event.type,
                                kind=notice.kind,
                                user_id=recipient.user_id,
                                address=recipient.address,
                                message_id=message_id(event.id, recipient.user_id, self.settings.mail_from),
                                subject=notice.subject,
                                body=notice.body,
                                state="pending",
                                attempts=0,
                                next_attempt_at=now,
                                created_at=now,
                            )
                        )
                if rows:
                    session.execute(sa.insert(MailDelivery), rows)
                made += len(rows)
                cursor.last_seq = end

    # -- sending -------------------------------------------------------------------------------

    def send_due(self, clock: Clock) -> tuple[int, int]:
        """Attempt every due mail, a batch at a time over one connection; returns (attempted, sent)."""
        attempted = sent = 0
        while True:
            claimed = self.claim(clock())
            if not claimed:
                return attempted, sent
            attempted += len(claimed)
            sent += self._send_batch(claimed, clock)

    def claim(self, now: datetime, limit: int = CLAIM_BATCH) -> list[ClaimedMail]:
        """Take up to ``limit`` due mails for one attempt each, under a lease."""
        if not any_due(self.database, MailDelivery, now):
            return []
        with self.database.transaction() as session:
            lease = timedelta(seconds=self.settings.mail_lease_seconds)
            token, ids = take_due(session, MailDelivery, now, limit, lease)
            rows = {
                r.id: r for r in session.execute(sa.select(MailDelivery).where(col(MailDelivery.id).in_(ids))).scalars()
            }
            return [
                ClaimedMail(r.id, r.attempts, token, r.address, r.message_id, r.subject, r.body, r.created_at)
                for r in (rows[i] for i in ids)
            ]

    def _send_batch(self, claimed: list[ClaimedMail], clock: Clock) -> int:
        try:
            client = self.sender.open()
        except (OSError, smtplib.SMTPException) as exc:
            reason = _describe(exc)
            log.info("mail server unreachable", extra={"error": reason, "count": len(claimed)})
            for mail in claimed:
                self.record(mail, clock(), reason)
            return 0
        sent = 0
        error: str | None
        # Stop while the lease still covers a whole attempt: no other worker may take a mail this one sends.
        last_start = clock() + timedelta(
            seconds=self.settings.mail_lease_seconds - 3 * self.settings.smtp_timeout_seconds
        )
        try:
            for i, mail in enumerate(claimed):
                if clock() > last_start:
                    self.release(claimed[i:], clock())
                    break
                try:
                    send(client, self.compose(mail))
                    error = None
                except (OSError, smtplib.SMTPException) as exc:
                    error = _describe(exc)
                    log.info("mail not sent", extra={"mail_id": mail.id, "attempt": mail.number, "error": error})
                self.record(mail, clock(), error)
                sent += error is None
        finally:
            try:
                client.quit()
            except (OSError, smtplib.SMTPException):
                client.close()
        return sent

    def compose(self, mail: ClaimedMail) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.settings.mail_from
        message["To"] = mail.address
        message["Subject"] = mail.subject
        message["Date"] = format_datetime(mail.created_at)
        message["Message-ID"] = mail.message_id
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(mail.body, charset="utf-8")
        return message

    def release(self, mails: list[ClaimedMail], now: datetime) -> None:
        """Give back claimed mails not attempted: due now, the attempt not counted."""
        with self.database.transaction() as session:
            for mail in mails:
                values = dict(lease_token=None, next_attempt_at=now, attempts=mail.number - 1)
                settle(session, MailDelivery, mail.id, mail.lease_token, **values)

    def record(self, mail: ClaimedMail, now: datetime, error: str | None) -> None:
        values: dict[str, Any] = dict(last_error=error, lease_token=None)
        if error is None:
            values.update(state="sent", next_attempt_at=None, completed_at=now)
        elif mail.number >= self.settings.mail_max_attempts:
            values.update(state="failed", next_attempt_at=None, completed_at=now)
        else:
            values.update(next_attempt_at=now + backoff(mail.number))
        with self.database.transaction() as session:
            settle(session, MailDelivery, mail.id, mail.lease_token, **values)


def skip_fan_out(database: Database) -> None:
    """Mail is off: move the cursor past every event, so turning mail on later sends no stale notices."""
    head = sa.select(sa.func.coalesce(sa.func.max(col(Event.seq)), 0)).scalar_subquery()
    with database.reader() as session:
        behind = session.execute(
            sa.select(col(MailFanout.last_seq)).where(col(MailFanout.id) == 1, col(MailFanout.last_seq) < head)
        ).first()
    if behind is not None:
        with database.transaction() as session:
            session.execute(
                sa.update(MailFanout)
                .where(col(MailFanout.id) == 1, col(MailFanout.last_seq) < head)
                .values(last_seq=head)
            )


def _describe(exc: BaseException) -> str:
    """Why a mail was not sent, without anything the server might echo back at length."""
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"SMTP {exc.smtp_code}"[:200]
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = sorted({code for code, _ in exc.recipients.values()})
        return f"recipient refused (SMTP {', '.join(map(str, codes))})"[:200]
    return f"{type(exc).__name__}"[:200]
