"""The ``smps`` command."""

import sys
from datetime import UTC, datetime
from pathlib import Path

import click
import orjson
import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlmodel import col

from app.core.settings import Settings


@click.group(help="smps — standardization pilot submission service.")
@click.version_option(package_name="smps", prog_name="smps", message="%(prog)s %(version)s")
def main() -> None:
    pass


@main.command(help="Upgrade the database to the current schema and seed the reference data (idempotent).")
def migrate() -> None:
    from app.main import migrate as run

    settings = Settings()
    run(settings)
    click.echo(f"database ready: {_safe_url(settings.database_url)}", err=True)


@main.command(help="Serve the API (migrates first).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int)
@click.option("--no-migrate", is_flag=True, help="Skip the migration step.")
@click.option("--no-worker", is_flag=True, help="Do not run the webhook worker in this process (run `smps worker`).")
def serve(host: str, port: int, workers: int, no_migrate: bool, no_worker: bool) -> None:
    from app.metrics.multiprocess import shared_directory

    # Before anything imports prometheus-client: every worker writes its metrics there (app/metrics/).
    with shared_directory():
        _serve(host, port, workers, no_migrate, no_worker)


def _serve(host: str, port: int, workers: int, no_migrate: bool, no_worker: bool) -> None:
    import uvicorn

    from app.main import preflight

    preflight(Settings(), "serve")
    if not no_migrate:
        from app.main import migrate as run

        run(Settings())
    if not no_worker:
        from app.worker import start_worker_thread

        start_worker_thread(Settings())
    from app.core.serving import HeaderCappedHttpToolsProtocol

    settings = Settings()
    # X-Forwarded-For is believed only from SMPS_TRUSTED_PROXIES (the app applies the same rule in-process).
    proxies = ",".join(str(n) for n in settings.trusted_proxies)
    forwarding: dict = {"proxy_headers": True, "forwarded_allow_ips": proxies} if proxies else {"proxy_headers": False}
    # Uvicorn's own lines (startup, "started server process") stay visible; one access line per request does not.
    # The header section is capped (431 and a closed connection beyond SMPS_MAX_HEADER_BYTES).
    uvicorn.run(
        "app.asgi:app",
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        access_log=False,
        http=HeaderCappedHttpToolsProtocol,
        h11_max_incomplete_event_size=settings.max_header_bytes,
        # A worker still importing the app on a busy host can miss uvicorn's 5 s health ping; killed for
        # it, its replacement misses it too, and the service never comes up.
        timeout_worker_healthcheck=settings.worker_healthcheck_seconds,
        **forwarding,
    )


def _resolve_org(session: "Session", ref: str) -> str:
    from app.organizations.models import Organization

    row = session.execute(
        sa.select(col(Organization.id)).where(
            sa.or_(
                col(Organization.id) == ref, col(Organization.key) == ref, col(Organization.credit_code) == ref.upper()
            )
        )
    ).first()
    if row is None:
        raise click.ClickException(f"no organization matches {ref!r} (an id, a credit code, 'office', a province code)")
    return row[0]


@main.command("create-user", help="Create a user; the password is read from standard input.")
@click.option("--username", required=True)
@click.option("--display-name", default=None, help="Defaults to the username.")
@click.option(
    "--organization",
    "organization",
    required=True,
    help="Organization id, credit code, 'office', a 6-digit province code, or 660000 for XPCC.",
)
@click.option(
    "--role",
    "roles",
    multiple=True,
    required=True,
    type=click.Choice(["applicant", "signatory", "reviewer", "office", "admin"]),
)
@click.option("--password-stdin", is_flag=True, required=True, help="Read the password from standard input.")
def create_user(
    username: str, display_name: str | None, organization: str, roles: tuple[str, ...], password_stdin: bool
) -> None:
    from app.accounts.service import create_user as create
    from app.core.db import make_database
    from app.core.errors import AppError

    _require_migrated()
    password = sys.stdin.readline().rstrip("\n")
    if len(password) < 8:
        raise click.ClickException("the password needs at least 8 characters")
    database = make_database(Settings())
    try:
        with database.transaction() as session:
            org_id = _resolve_org(session, organization)
            try:
                user = create(
                    session,
                    username=username,
                    display_name=display_name or username,
                    organization_id=org_id,
                    roles=list(roles),
                    password=password,
                    now=datetime.now(UTC),
                )
            except AppError as exc:
                raise click.ClickException(exc.body("en").get("detail") or exc.code) from exc
        click.echo(user.id)
    finally:
        database.dispose()


@main.command("create-api-key", help="Create an API key for a user and print only the key.")
@click.option("--username", required=True)
@click.option("--name", default="cli", show_default=True)
def create_api_key(username: str, name: str) -> None:
    from app.accounts.models import User
    from app.accounts.service import create_api_key as create
    from app.core.db import make_database

    _require_migrated()
    database = make_database(Settings())
    try:
        with database.transaction() as session:
            user_id = session.execute(
                sa.select(col(User.id)).where(col(User.username) == username)
            ).scalar_one_or_none()
            if user_id is None:
                raise click.ClickException(f"no user {username!r}")
            _, key = create(session, user_id, name, datetime.now(UTC))
        click.echo(key)
    finally:
        database.dispose()


@main.command(
    help="Create a practice call open now, demo organizations and users with API keys, and print them "
    "(idempotent: the keys kept in --output are reused while they still work)."
)
@click.option(
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path("var/demo.json"),
    show_default=True,
    help="Where the demo data and keys are kept (read first, then rewritten).",
)
def demo(output: Path) -> None:
    from app.demo import create_demo, previous_keys
    from app.main import migrate as run

    settings = Settings()
    run(settings)
    try:
        known = previous_keys(orjson.loads(output.read_bytes()))
    except (OSError, orjson.JSONDecodeError):
        known = {}
    text = orjson.dumps(create_demo(settings, known), option=orjson.OPT_INDENT_2)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.touch(mode=0o600)  # it holds API keys
    output.write_bytes(text + b"\n")
    click.echo(text.decode())


@main.command(help="Write the OpenAPI document (default openapi/openapi.json).")
@click.option("--output", type=click.Path(path_type=Path), default=Path("openapi/openapi.json"), show_default=True)
def openapi(output: Path) -> None:
    from app.openapi_doc import render

    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(render())
    click.echo(f"wrote {output}", err=True)


@main.command(
    help="Back up the database to OUTPUT while the service runs: SQLite with its online backup API (OUTPUT "
    "is a SQLite file), PostgreSQL with pg_dump -Fc (restore with pg_restore). Attachment files are not "
    "in it: back up SMPS_STORAGE_DIR or the S3 bucket alongside."
)
@click.argument("output", type=click.Path(path_type=Path, dir_okay=False))
def backup(output: Path) -> None:
    from app.operations.backup import backup as run

    settings = Settings()
    _require_migrated()
    try:
        done = run(settings.database_url, output)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(done.description)


def _require_migrated() -> None:
    """Commands that read the database stop in one line (exit 2) when it is missing or behind, creating nothing."""
    from app.core.migrate import require_migrated

    require_migrated(Settings())


def _safe_url(url: str) -> str:
    return sa.engine.make_url(url).render_as_string(hide_password=True)


from app.attachments.cli import storage  # noqa: E402

main.add_command(storage)

from app.bulk.client import client  # noqa: E402

main.add_command(client)

from app.worker import worker  # noqa: E402

main.add_command(worker)

from app.batches.cli import keys, receipt  # noqa: E402

main.add_command(receipt)
main.add_command(keys)

from app.documents.cli import package  # noqa: E402

main.add_command(package)


if __name__ == "__main__":
    main()
