"""Sending one message over SMTP (the standard library's ``smtplib``), with a timeout.

``SMPS_SMTP_URL`` says where and how: ``smtp://host:port`` (plain, port 25 by default),
``smtp://host:port?starttls=true`` (upgraded with STARTTLS, port 587 by default) or
``smtps://host:port`` (TLS from the first byte, port 465 by default). Credentials come from the URL
(``smtp://user:pass@host``, percent-encoded) or from ``SMPS_SMTP_USERNAME``/``SMPS_SMTP_PASSWORD``.
"""

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

from app.core.settings import Settings

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    tls: bool  # smtps: TLS from the start
    starttls: bool
    username: str | None
    password: str | None

    @property
    def encrypted(self) -> bool:
        return self.tls or self.starttls


def parse_smtp_url(url: str, username: str | None = None, password: str | None = None) -> SmtpServer:
    """The server ``url`` names; ValueError (without the URL, which may hold a password) when it is not one."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps"):
        raise ValueError("SMPS_SMTP_URL must start with smtp:// or smtps://")
    if not parts.hostname:
        raise ValueError("SMPS_SMTP_URL names no host")
    try:
        port = parts.port
    except ValueError:
        raise ValueError("SMPS_SMTP_URL has an invalid port") from None
    query = {k.lower(): v[-1].lower() for k, v in parse_qs(parts.query).items()}
    unknown = set(query) - {"starttls"}
    if unknown:
        raise ValueError(f"SMPS_SMTP_URL has unknown parameters: {', '.join(sorted(unknown))}")
    flag = query.get("starttls", "false")
    if flag not in _TRUE | _FALSE:
        raise ValueError("SMPS_SMTP_URL: starttls must be true or false")
    starttls = flag in _TRUE
    tls = parts.scheme == "smtps"
    if tls and starttls:
        raise ValueError("SMPS_SMTP_URL: smtps is TLS already; starttls applies to smtp:// only")
    user = unquote(parts.username) if parts.username else username
    secret = unquote(parts.password) if parts.password is not None else password
    return SmtpServer(
        host=parts.hostname,
        port=port or (465 if tls else 587 if starttls else 25),
        tls=tls,
        starttls=starttls,
        username=user or None,
        password=secret,
    )


def server_of(settings: Settings) -> SmtpServer:
    assert settings.smtp_url is not None
    return parse_smtp_url(
        settings.smtp_url.get_secret_value(),
        settings.smtp_username,
        settings.smtp_password.get_secret_value() if settings.smtp_password else None,
    )


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
