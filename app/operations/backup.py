"""``smps backup OUTPUT``: a consistent copy of the database while the service runs.

SQLite: the online backup API copies the database page by page into OUTPUT (a SQLite file, opened
as it is by the service: point SMPS_DATABASE_URL at it to restore). PostgreSQL: ``pg_dump -Fc``
into OUTPUT (restore with ``pg_restore``). Attachment files are not in the database: back up the
storage directory or the S3 bucket alongside (docs/deployment.md, "Backups and restore").
"""

import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

# Pages copied per step: the service's writers get the database between steps.
_SQLITE_PAGES_PER_STEP = 1024


@dataclass(frozen=True)
class BackupDone:
    """What was done, in words for the operator."""

    description: str


def backup(database_url: str, output: Path) -> BackupDone:
    url = sa.engine.make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return _sqlite(url, output)
    if url.get_backend_name() == "postgresql":
        return _postgresql(url, output)
    raise ValueError(f"no backup for {url.get_backend_name()} databases")


def _sqlite(url: sa.URL, output: Path) -> BackupDone:
    if not url.database or url.database == ":memory:":
        raise ValueError("the SQLite database is in memory: there is nothing to back up")
    source_path = Path(url.database)
    if not source_path.exists():
        raise ValueError(f"no SQLite database at {source_path}")
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".partial")
    partial.unlink(missing_ok=True)
    # Read-only: a backup never changes the database it copies.
    source = sqlite3.connect(f"{source_path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        target = sqlite3.connect(partial)
        try:
            source.backup(target, pages=_SQLITE_PAGES_PER_STEP)
        finally:
            target.close()
    finally:
        source.close()
    partial.replace(output)  # a complete file, or none: never half a backup under OUTPUT's name
    return BackupDone(f"copied SQLite {source_path} to {output} with the online backup API")


def _postgresql(url: sa.URL, output: Path) -> BackupDone:
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        raise ValueError("pg_dump is not installed (PostgreSQL's client tools, the server's major version or newer)")
    # libpq's own URL (no SQLAlchemy driver suffix); the password travels in the environment, not argv.
    plain = url.set(drivername="postgresql", password=None)
    env = {"PGPASSWORD": url.password} if url.password else {}
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".partial")
    argv = [pg_dump, "--format=custom", "--no-owner", f"--file={partial}", plain.render_as_string(hide_password=False)]
    result = subprocess.run(argv, env={**os.environ, **env}, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        partial.unlink(missing_ok=True)
        raise ValueError(f"pg_dump failed ({result.returncode}): {result.stderr.strip()[-2000:]}")
    partial.replace(output)
    shown = plain.render_as_string(hide_password=True)
    return BackupDone(f"ran pg_dump --format=custom --no-owner --file={output} {shown}")
