"""``smps receipt verify FILE``: is a receipt genuine and unchanged?"""

from pathlib import Path

import click
import orjson

from app.batches import receipts
from app.core.settings import Settings


@click.group(help="Batch receipts.")
def receipt() -> None:
    pass


@receipt.command(help="Check that a receipt (JSON file) was signed by this service and not changed since.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def verify(file: Path) -> None:
    try:
        document = orjson.loads(file.read_bytes())
    except orjson.JSONDecodeError:
        valid, reason = False, "malformed"
    else:
        valid, reason = receipts.verify(document, Settings().receipt_signing_key)
    click.echo(orjson.dumps({"valid": valid, "reason": reason}).decode())
    raise SystemExit(0 if valid else 1)
