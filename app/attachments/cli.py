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
    "whose file is missing (JSON on standard output; exit status 1 when any row misses its file, 3 when "
    "another process is sweeping the store: try again later). Recorded in the storage_sweeps table."
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
    from app.attachments.sweep import sweep_once, sweep_storage
    from app.core.db import make_database
    from app.core.migrate import require_migrated

    settings = Settings()
    require_migrated(settings)
    grace = timedelta(seconds=settings.storage_sweep_grace_seconds if grace_seconds is None else grace_seconds)
    database = make_database(settings)
    try:
        store = make_blob_store(settings)
        if dry_run:
            report = sweep_storage(database, store, grace=grace, dry_run=True)
        else:
            # Through the lease, as the workers' periodic sweeps: never two sweeps of the store at once.
            report = sweep_once(database, store, grace=grace, interval=None)
    finally:
        database.dispose()
    click.echo(orjson.dumps({"dry_run": dry_run, **report.as_dict()}, option=orjson.OPT_INDENT_2).decode())
    if not dry_run and report.sweep_id is None:  # only this host's temporary files were swept
        click.echo("another process is sweeping the store now; try again later", err=True)
        sys.exit(3)
    if report.missing_files:
        sys.exit(1)
