"""Where mail goes: ``SMPS_SMTP_URL`` read into a server (scheme, host, port, TLS, credentials).

Settings check it at start-up and production mode judges it, so it lives in the kernel; sending is
``app.mail.smtp``'s.
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, unquote, urlsplit

if TYPE_CHECKING:
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


def server_of(settings: "Settings") -> SmtpServer:
    assert settings.smtp_url is not None
    return parse_smtp_url(
        settings.smtp_url.get_secret_value(),
        settings.smtp_username,
        settings.smtp_password.get_secret_value() if settings.smtp_password else None,
    )
