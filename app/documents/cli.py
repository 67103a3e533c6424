"""``smps package verify``: an electronic copy (package.zip) checked offline: the bag, both manifests, the receipt.

Imports stay inside the command, so that ``smps --help`` loads none of them.
"""

from pathlib import Path

import click


@click.group(help="The electronic copy of a submitted list (package.zip).")
def package() -> None:
    pass


@package.command(
    help="Check offline that FILE.zip is a whole BagIt bag (every payload file matches manifest-sha256.txt and "
    "manifest-sm3.txt, the tag manifests match, Payload-Oxum holds) and that its receipt was signed by the "
    "published keys. Exit 0 genuine, 1 not (the failed check is named), 2 usage."
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
    import orjson

    from app.batches.cli import _load_keys
    from app.documents.bag_check import check_package

    if (keys_file is None) == (url is None):
        raise click.UsageError("give the published keys: either --keys KEYS.json or --url BASE")
    result = check_package(file, _load_keys(keys_file, url))
    click.echo(orjson.dumps(result.as_dict()).decode())
    raise SystemExit(0 if result.valid else 1)
