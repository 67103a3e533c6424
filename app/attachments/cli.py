"""``smps storage``: maintenance of the attachment files."""

import sys
from datetime import timedelta

import click
import orjson

from app.core.settings import Settings


@click.group(help="Attachment storage maintenance.")
def storage() -> None:
    pass


@storage.command(
    help="Remove temporary and orphaned files older than the grace period and report attachment rows "
    "whose file is missing (JSON on standard output; exit status 1 when any row misses its file)."
)
@click.option(
    "--grace-seconds",
    type=int,
    default=None,
    help="Leave younger files alone (default: SMPS_STORAGE_SWEEP_GRACE_SECONDS, 3600).",
)
@click.option("--dry-run", is_flag=True, help="Report what would be removed, remove nothing.")
def sweep(grace_seconds: int | None, dry_run: bool) -> None:
    from app.attachments.blobstore import make_blob_store
    from app.attachments.sweep import sweep_storage
    from app.core.db import make_database
    from app.core.migrate import require_migrated

    settings = Settings()
    require_migrated(settings)
    grace = timedelta(seconds=settings.storage_sweep_grace_seconds if grace_seconds is None else grace_seconds)
    database = make_database(settings)
    try:
        report = sweep_storage(database, make_blob_store(settings), grace=grace, dry_run=dry_run)
    finally:
        database.dispose()
    click.echo(orjson.dumps({"dry_run": dry_run, **report.as_dict()}, option=orjson.OPT_INDENT_2).decode())
    if report.missing_files:
        sys.exit(1)
