"""Start-up checks: production refuses development keys and defaults that weaken security;
development makes what it needs (receipt signing keys under var/) on first start.

The checks of the settings every part shares live here; a part of the domain with needs of its own
(receipt signing keys) hands its checks and its development set-up to ``preflight``."""

import ipaddress
import sys
from collections.abc import Callable, Sequence

import click
import sqlalchemy as sa

from app.core.settings import DEVELOPMENT_RECEIPT_KEY, Settings

# One line per reason production must not start; empty when all is well.
Check = Callable[[Settings], list[str]]
# What development makes for itself on start (after ``before_writing``).
Prepare = Callable[[Settings], None]

_LOOPBACK_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")


def _weak_webhook_entry(entry: str) -> bool:
    name = entry.strip().lower().strip("[]")
    if name in _LOOPBACK_NAMES or name.endswith(".localhost"):
        return True
    try:
        network = ipaddress.ip_network(name, strict=False)
    except ValueError:
        return False  # a host name the operator trusts
    first = network.network_address
    return bool(
        first.is_loopback or first.is_private or first.is_link_local or first.is_unspecified or network.prefixlen == 0
    )


def problems(settings: Settings, checks: Sequence[Check] = ()) -> list[str]:
    """One line per reason production must not start with ``settings``; empty in development.

    ``checks``: the domain's own, reported first."""
    if settings.environment != "production":
        return []
    found = [line for check in checks for line in check(settings)]
    if settings.is_sqlite:
        database = sa.engine.make_url(settings.database_url).database
        if not database or database == ":memory:" or not database.startswith("/"):
            found.append(
                "SMPS_DATABASE_URL is SQLite on a relative path or in memory: give an absolute path or PostgreSQL"
            )
    weak = [e.strip() for e in settings.webhook_allowed_hosts.split(",") if e.strip() and _weak_webhook_entry(e)]
    if weak:
        found.append(f"SMPS_WEBHOOK_ALLOWED_HOSTS lets webhooks reach loopback or private addresses: {', '.join(weak)}")
    found.extend(_mail_problems(settings))
    # The development HMAC key is simply not used in production (app.core.settings.legacy_key); a short real one is refused.
    if settings.receipt_signing_key != DEVELOPMENT_RECEIPT_KEY and len(settings.receipt_signing_key) < 32:
        found.append("SMPS_RECEIPT_SIGNING_KEY (legacy receipts) is shorter than 32 characters")
    return found


def _mail_problems(settings: Settings) -> list[str]:
    if not settings.mail_enabled:
        return []
    from app.core.smtp_url import server_of

    found = []
    server = server_of(settings)
    if server.username and not server.encrypted:
        found.append("SMPS_SMTP_URL sends the SMTP password in clear: use smtps:// or ?starttls=true")
    if not settings.public_base_url:
        found.append("SMPS_SMTP_URL is set but SMPS_PUBLIC_BASE_URL is not: notices would carry no usable link")
    return found


def warnings(settings: Settings) -> list[str]:
    """Weaker choices production starts with, said once at start."""
    if settings.environment != "production" or not settings.mail_enabled:
        return []
    from app.core.smtp_url import server_of

    server = server_of(settings)
    if not server.encrypted and not _weak_webhook_entry(server.host):
        return [f"SMPS_SMTP_URL reaches {server.host} without TLS: notices cross the network in clear"]
    return []


def preflight(
    settings: Settings,
    command: str,
    before_writing: Callable[[], None] | None = None,
    *,
    checks: Sequence[Check] = (),
    prepare: Sequence[Prepare] = (),
) -> None:
    """Refuse to start (exit 2) in production when something is wrong; in development, ``prepare``.

    ``before_writing`` runs between the two (e.g. the check that the database is migrated), so a
    command that stops there leaves nothing behind."""
    for line in warnings(settings):
        click.echo(f"smps {command}: warning: {line}", err=True)
    found = problems(settings, checks)
    if found:
        for line in found:
            click.echo(f"smps {command}: refusing to start in production: {line}", err=True)
        sys.exit(2)
    if before_writing is not None:
        before_writing()
    if settings.environment == "development":
        for step in prepare:
            step(settings)
