"""What receipt signing needs at start-up: in production, published keys for every algorithm (a reason
per problem, for app.web.production); in development, keys made on first start under var/."""

import click

from app.batches.keystore import key_store
from app.batches.signing import ALGORITHMS
from app.core.settings import Settings


def receipt_key_problems(settings: Settings) -> list[str]:
    """One line per reason the receipt signing keys do not let production start."""
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
    if settings.keys_dir.is_dir() and store.retired_private_files():
        found.append(
            f"private keys of retired receipt keys remain under {settings.keys_dir}: "
            "run `smps keys prune` (or `--archive DIR` to keep them elsewhere)"
        )
    return found


def make_development_keys(settings: Settings) -> None:
    """Development: the receipt signing keys, made on first start and named on stderr."""
    store = key_store(settings.keys_dir)
    made = store.generate(development=True)
    kids = ", ".join(k.kid for k in store.published() if k.retired_at is None)
    note = "generated, " if made else ""
    click.echo(f"receipt signing keys ({note}development, {settings.keys_dir}): {kids}", err=True)
