"""``smps receipt verify`` (offline, public keys only) and ``smps keys`` (the receipt signing keys)."""

from pathlib import Path
from typing import Any

import click
import orjson


@click.group(help="Batch receipts.")
def receipt() -> None:
    pass


def _load_keys(keys_file: Path | None, url: str | None) -> list[dict[str, Any]]:
    """The published keys, from a file saved from GET /api/v1/receipt-keys or from a server."""
    if keys_file is not None:
        try:
            data = orjson.loads(keys_file.read_bytes())
        except orjson.JSONDecodeError as exc:
            raise click.UsageError(f"{keys_file} is not JSON") from exc
    else:
        import httpx

        try:
            response = httpx.get(f"{url}/api/v1/receipt-keys", timeout=30, follow_redirects=True)
            response.raise_for_status()
            data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise click.UsageError(f"cannot fetch the keys from {url}: {exc}") from exc
    keys = data.get("keys") if isinstance(data, dict) else data
    if not isinstance(keys, list) or not all(isinstance(k, dict) for k in keys):
        raise click.UsageError('the keys must be {"keys": [...]} as GET /api/v1/receipt-keys returns them')
    return keys


@receipt.command(
    help="Check offline that a receipt (JSON file) was signed by the published keys and not changed "
    "since. Exit 0 genuine, 1 not (the reason is printed), 2 usage."
)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--keys",
    "keys_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The keys as saved from GET /api/v1/receipt-keys.",
)
@click.option("--url", help="The service's base URL, to fetch its published keys from.")
def verify(file: Path, keys_file: Path | None, url: str | None) -> None:
    if (keys_file is None) == (url is None):
        raise click.UsageError("give the published keys: either --keys KEYS.json or --url BASE")
    if url is not None:
        from app.core.service_url import checked_service_root

        try:
            url = checked_service_root(url)
        except ValueError as exc:
            raise click.UsageError(str(exc)) from None
    # Imported here: `smps receipt verify` is what third parties run, and starts without the web application.
    from app.batches import receipts, receipts_hmac

    keys = _load_keys(keys_file, url)
    kid = None
    try:
        document = orjson.loads(file.read_bytes())
    except orjson.JSONDecodeError:
        valid, reason = False, "malformed"
    else:
        if receipts_hmac.is_legacy(document):
            valid, reason = False, "legacy_hmac_receipt"
        else:
            valid, reason, kid = receipts.check(document, keys)
    messages = {
        "valid": "genuine: every signature verifies with a published key",
        "malformed": "not a receipt (JSON with tracking_number and signatures)",
        "unsigned": "the receipt carries no signature",
        "unknown_key": "signed with a key that is not published",
        "signature_mismatch": "the signature does not match: the receipt was changed, or not signed by that key",
        "legacy_hmac_receipt": "issued before public-key signatures: check it with POST /api/v1/receipts/verify",
        "duplicate_signature": "a key signs the receipt more than once",
        "key_retired": "signed with a key after its retirement (the receipt's time is after the key's retired_at)",
    }
    click.echo(orjson.dumps({"valid": valid, "reason": reason, "kid": kid, "message": messages[reason]}).decode())
    raise SystemExit(0 if valid else 1)


@click.group(help="Receipt signing keys (Ed25519 and SM2/SM3), files under SMPS_RECEIPT_KEYS_DIR.")
def keys() -> None:
    pass


def _store() -> Any:
    from app.batches.keystore import key_store
    from app.core.settings import Settings

    return key_store(Settings().keys_dir)


@keys.command(help="Make a key of each algorithm that has no active key (prints their kids).")
@click.option("--development", is_flag=True, help="Mark them development keys, which production refuses.")
def generate(development: bool) -> None:
    made = _store().generate(development=development)
    for k in made:
        click.echo(f"{k.kid}\t{k.alg}\tgenerated")
    if not made:
        click.echo("active keys exist already: use `smps keys rotate` for new ones", err=True)


@keys.command(
    help="Make new active keys of both algorithms and retire the old (still published: old receipts "
    "keep verifying). The retired private keys leave the keys folder: deleted, or moved to --archive. "
    "Running servers pick the new keys up."
)
@click.option(
    "--archive",
    type=click.Path(file_okay=False, path_type=Path),
    help="Move the retired private keys to this folder (outside the keys folder; the service never reads it) "
    "instead of deleting them.",
)
def rotate(archive: Path | None) -> None:
    store = _store()
    if archive is not None and archive.resolve().is_relative_to(store.directory.resolve()):
        raise click.UsageError(f"--archive must be outside the keys folder {store.directory}")
    before = {k.kid for k in store.published() if k.retired_at is None}
    for k in store.rotate(archive):
        click.echo(f"{k.kid}\t{k.alg}\tactive")
    for kid in sorted(before):
        click.echo(f"{kid}\tretired")


@keys.command(help="Remove the private keys of retired keys from the keys folder (left by an older rotation).")
@click.option(
    "--archive",
    type=click.Path(file_okay=False, path_type=Path),
    help="Move them to this folder (outside the keys folder) instead of deleting them.",
)
def prune(archive: Path | None) -> None:
    store = _store()
    if archive is not None and archive.resolve().is_relative_to(store.directory.resolve()):
        raise click.UsageError(f"--archive must be outside the keys folder {store.directory}")
    for path in store.remove_retired_private_keys(archive):
        click.echo(f"{path.stem}\t{'archived' if archive else 'deleted'}")


@keys.command("list", help="Every key: kid, algorithm, created, retired (or active), development.")
def list_keys() -> None:
    for k in _store().published():
        flags = " development" if k.development else ""
        click.echo(f"{k.kid}\t{k.alg}\t{k.created_at}\t{k.retired_at or 'active'}{flags}")
