"""Start-up checks: production refuses development keys and defaults that weaken security;
development makes what it needs (receipt signing keys under var/) on first start."""

import ipaddress
import sys
from collections.abc import Callable

import click
import sqlalchemy as sa

from app.core.settings import DEVELOPMENT_RECEIPT_KEY, Settings

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


def problems(settings: Settings) -> list[str]:
    """One line per reason production must not start with ``settings``; empty in development."""
    if settings.environment != "production":
        return []
    from app.batches.keystore import key_store
    from app.batches.signing import ALGORITHMS

    found: list[str] = []
    store = key_store(settings.keys_dir)
    try:
        active = [k for k in store.published() if k.retired_at is None]
    except (OSError, ValueError, TypeError) as exc:
        active = []
        found.append(f"receipt keys under {settings.keys_dir} cannot be read ({exc.__class__.__name__})")
    missing = [alg for alg in ALGORITHMS if alg not in {k.alg for k in active}]
    if missing:
        found.append(
            f"no active receipt signing key for {', '.join(missing)} under {settings.keys_dir} "
            "(SMPS_RECEIPT_KEYS_DIR): run `smps keys generate`"
        )
    if any(k.development for k in active):
        found.append("the receipt signing keys are development keys: run `smps keys rotate`")
    if settings.keys_dir.is_dir() and store.exposed_private_files():
        found.append(f"private receipt keys under {settings.keys_dir} are readable by others: chmod 600 them")
    if settings.is_sqlite:
        database = sa.engine.make_url(settings.database_url).database
        if not database or database == ":memory:" or not database.startswith("/"):
            found.append(
                "SMPS_DATABASE_URL is SQLite on a relative path or in memory: give an absolute path or PostgreSQL"
            )
    weak = [e.strip() for e in settings.webhook_allowed_hosts.split(",") if e.strip() and _weak_webhook_entry(e)]
    if weak:
        found.append(f"SMPS_WEBHOOK_ALLOWED_HOSTS lets webhooks reach loopback or private addresses: {', '.join(weak)}")
    # The development HMAC key is simply not used in production (legacy_key); a short real one is refused.
    if settings.receipt_signing_key != DEVELOPMENT_RECEIPT_KEY and len(settings.receipt_signing_key) < 32:
        found.append("SMPS_RECEIPT_SIGNING_KEY (legacy receipts) is shorter than 32 characters")
    return found


def legacy_key(settings: Settings) -> str | None:
    """The HMAC key of receipts issued before public-key signatures; production never uses the development one."""
    if settings.environment == "production" and settings.receipt_signing_key == DEVELOPMENT_RECEIPT_KEY:
        return None
    return settings.receipt_signing_key


def preflight(settings: Settings, command: str, before_writing: Callable[[], None] | None = None) -> None:
    """Refuse to start (exit 2) in production when something is wrong; in development, make the keys.

    ``before_writing`` runs between the two (e.g. the check that the database is migrated), so a
    command that stops there leaves no key files behind."""
    found = problems(settings)
    if found:
        for line in found:
            click.echo(f"smps {command}: refusing to start in production: {line}", err=True)
        sys.exit(2)
    if before_writing is not None:
        before_writing()
    if settings.environment == "development":
        from app.batches.keystore import key_store

        store = key_store(settings.keys_dir)
        made = store.generate(development=True)
        kids = ", ".join(k.kid for k in store.published() if k.retired_at is None)
        note = "generated, " if made else ""
        click.echo(f"receipt signing keys ({note}development, {settings.keys_dir}): {kids}", err=True)
