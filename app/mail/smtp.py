"""Sending one message over SMTP (the standard library's ``smtplib``), with a timeout.

``SMPS_SMTP_URL`` says where and how: ``smtp://host:port`` (plain, port 25 by default),
``smtp://host:port?starttls=true`` (upgraded with STARTTLS, port 587 by default) or
``smtps://host:port`` (TLS from the first byte, port 465 by default). Credentials come from the URL
(``smtp://user:pass@host``, percent-encoded) or from ``SMPS_SMTP_USERNAME``/``SMPS_SMTP_PASSWORD``.
"""

import smtplib
import ssl
from email.message import EmailMessage

from app.core.smtp_url import SmtpServer, parse_smtp_url, server_of

__all__ = ["SmtpSender", "SmtpServer", "parse_smtp_url", "send", "server_of"]


class SmtpSender:
    """Sends messages to one server; a connection per batch of messages (``open``), closed after it."""

    def __init__(self, server: SmtpServer, timeout: float, context: ssl.SSLContext | None = None) -> None:
        self.server = server
        self.timeout = timeout
        self.context = context or ssl.create_default_context()

    def open(self) -> smtplib.SMTP:
        s = self.server
        client: smtplib.SMTP
        if s.tls:
            client = smtplib.SMTP_SSL(s.host, s.port, timeout=self.timeout, context=self.context)
        else:
            client = smtplib.SMTP(s.host, s.port, timeout=self.timeout)
        try:
            client.ehlo()
            if s.starttls:
                client.starttls(context=self.context)
                client.ehlo()
            if s.username:
                client.login(s.username, s.password or "")
        except BaseException:
            client.close()
            raise
        return client


def send(client: smtplib.SMTP, message: EmailMessage) -> None:
    """Send ``message``; raises when the server refuses any recipient (one recipient per message)."""
    refused = client.send_message(message)
    if refused:
        raise smtplib.SMTPRecipientsRefused(refused)
