"""The ``smps`` command.

Only click is imported up front: each command imports what it uses when it runs, and the command groups
of other packages are loaded when named (``LazyGroup``), so ``smps --version`` and ``smps receipt verify``
start without the web application.
"""

import importlib
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from app.core.settings import Settings
    from app.web.serving import WireLimits

# Command groups kept in their own packages: name → "module:attribute", imported when used.
LAZY_COMMANDS = {
    "client": "app.bulk.client:client",
    "keys": "app.batches.cli:keys",
    "package": "app.documents.cli:package",
    "receipt": "app.batches.cli:receipt",
    "storage": "app.attachments.cli:storage",
    "worker": "app.worker:worker",
}


class LazyGroup(click.Group):
    """A group whose listed subcommands are imported only when one of them is run or its help shown."""

    def __init__(self, *args: Any, lazy: dict[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy:
            module, _, attribute = self.lazy[cmd_name].partition(":")
            command: click.Command = getattr(importlib.import_module(module), attribute)
            return command
        return super().get_command(ctx, cmd_name)


def _settings() -> "Settings":
    from app.core.settings import Settings

    return Settings()


@click.group(cls=LazyGroup, lazy=LAZY_COMMANDS, help="smps — standardization pilot submission service.")
@click.version_option(package_name="smps", prog_name="smps", message="%(prog)s %(version)s")
def main() -> None:
    pass


@main.command(help="Upgrade the database to the current schema and seed the reference data (idempotent).")
def migrate() -> None:
    from app.main import migrate as run

    settings = _settings()
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

    preflight(_settings(), "serve")
    if not no_migrate:
        from app.main import migrate as run

        run(_settings())
    if not no_worker:
        from app.worker import start_worker_thread

        start_worker_thread(_settings())
    from app.web.serving import WIRE_ENVIRONMENT, HeaderCappedHttpToolsProtocol

    settings = _settings()
    # The worker processes read their wire limits from the environment they inherit.
    os.environ[WIRE_ENVIRONMENT] = _wire_limits(settings).to_environment()
    # X-Forwarded-For is believed only from SMPS_TRUSTED_PROXIES (the app applies the same rule in-process).
    proxies = ",".join(str(n) for n in settings.trusted_proxies)
    forwarding: dict[str, Any] = (
        {"proxy_headers": True, "forwarded_allow_ips": proxies} if proxies else {"proxy_headers": False}
    )
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
        timeout_keep_alive=settings.keep_alive_seconds,
        # A worker still importing the app on a busy host can miss uvicorn's 5 s health ping; killed for
        # it, its replacement misses it too, and the service never comes up.
        timeout_worker_healthcheck=settings.worker_healthcheck_seconds,
        **forwarding,
    )


def _wire_limits(settings: "Settings") -> "WireLimits":
    """The wire limits of `smps serve`; open connections kept within the process's file descriptors."""
    import resource

    from app.web.serving import WireLimits

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or soft < hard):
        # Raise the soft limit to the hard one, as servers do; what remains reserves room for files.
        soft = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    room = settings.max_connections if soft == resource.RLIM_INFINITY else max(1, soft - 256)
    return WireLimits(
        header_timeout_seconds=settings.header_timeout_seconds,
        body_window_seconds=settings.body_timeout_seconds,
        body_min_bytes=settings.body_min_bytes,
        max_connections=min(settings.max_connections, room),
    )


def _resolve_org(session: "Session", ref: str) -> str:
    import sqlalchemy as sa
    from sqlmodel import col

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
    database = make_database(_settings())
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
    import sqlalchemy as sa
    from sqlmodel import col

    from app.accounts.models import User
    from app.accounts.service import create_api_key as create
    from app.core.db import make_database

    _require_migrated()
    database = make_database(_settings())
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
    import orjson

    from app.demo import create_demo, previous_keys
    from app.main import migrate as run

    settings = _settings()
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
    from app.main import render_openapi as render

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

    settings = _settings()
    _require_migrated()
    try:
        done = run(settings.database_url, output)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(done.description)


@main.command(help="The faces form.pdf and receipt.pdf are printed with and what they cover, as /readyz reports them.")
def fonts() -> None:
    from app.documents.font_report import fonts_readiness

    settings = _settings()
    click.echo(fonts_readiness(settings.cjk_font, settings.cjk_title_font).model_dump_json(indent=2))


def _require_migrated() -> None:
    """Commands that read the database stop in one line (exit 2) when it is missing or behind, creating nothing."""
    from app.core.migrate import require_migrated

    require_migrated(_settings())


def _safe_url(url: str) -> str:
    import sqlalchemy as sa

    return sa.engine.make_url(url).render_as_string(hide_password=True)


if __name__ == "__main__":
    main()
