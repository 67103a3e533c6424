"""create_app(): routers, error handlers, lifespan — wiring only. Also where core meets the domain
outside a request: ``migrate`` (with the reference data's seeding) and ``preflight`` (with the checks
of receipt signing)."""

import os
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import orjson
import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi_offline import FastAPIOffline

from app.accounts.principal import authenticate, user_of_credential
from app.applications.router import router as applications_router
from app.attachments.blobstore import blob_store_of
from app.batches.startup import make_development_keys, receipt_key_problems
from app.core import migrate as migrations
from app.core.clock import Clock, system_clock
from app.core.db import make_database
from app.core.errors import ServiceUnavailable, problem_responses
from app.core.fast.routes import hoist
from app.core.i18n import Text
from app.core.merge_patch import document_patches
from app.core.route_facts import facts
from app.core.settings import Settings
from app.documents.font_report import Readiness, fonts_readiness, preload_fonts
from app.documents.router import router as documents_router
from app.events.event_schemas import document_events
from app.events.webhook_doc import document_webhooks
from app.metrics.multiprocess import worker_exits
from app.metrics.router import install as install_metrics
from app.openapi.document import add_problems_to_openapi
from app.openapi.document import add_to_openapi as add_service_to_openapi
from app.openapi.routes import add_route_facts_to_openapi
from app.openapi.web_shell import add_idempotency_to_openapi
from app.portal_assets import router as portal_router
from app.readpath import install as install_read_path
from app.reference.seed import seed_reference_data
from app.routers import ROUTERS
from app.web import cors, docs_pages, production
from app.web.caching import CacheHeaders
from app.web.idempotency import IdempotencyMiddleware
from app.web.index import router as index_router
from app.web.limits import LimitRequestBodies
from app.web.logging import RequestIdMiddleware, configure_logging, flush_logs
from app.web.middleware import RejectNulInUrl, install_method_not_allowed
from app.web.problems import install_error_handlers
from app.web.version import service_version

SERVICE_VERSION = service_version()

DESCRIPTION = """\
Submission flow of the standardization pilot programme for social management and public services
(社会管理和公共服务综合标准化试点): applications, sign-offs, provincial review, recommended lists.

Errors are RFC 9457 `application/problem+json` with a stable `code`; messages follow `Accept-Language`
(`zh-CN` default, `en`). Authenticate with `Authorization: Bearer <token or API key>`.
"""


PRODUCTION_CHECKS: list[production.Check] = [receipt_key_problems]
DEVELOPMENT_SETUP: list[production.Prepare] = [make_development_keys]


def migrate(settings: Settings) -> None:
    """Upgrade the database to the current schema and seed the reference data (idempotent)."""
    migrations.migrate(settings, seed=seed_reference_data)


def preflight(settings: Settings, command: str, before_writing: Callable[[], None] | None = None) -> None:
    """Refuse to start in production when something is wrong; in development, make the receipt keys."""
    production.preflight(settings, command, before_writing, checks=PRODUCTION_CHECKS, prepare=DEVELOPMENT_SETUP)


def create_app(settings: Settings | None = None, clock: Clock = system_clock) -> FastAPI:
    settings = settings or Settings()
    configure_logging(settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.preload_fonts:
            fonts = (settings.cjk_font, settings.cjk_title_font)
            threading.Thread(target=preload_fonts, args=fonts, name="fonts", daemon=True).start()
        yield
        app.state.database.dispose()
        worker_exits()  # this worker's live gauges leave the metrics directory with it
        flush_logs()

    app = FastAPIOffline(
        title="smps",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        swagger_ui_parameters={"persistAuthorization": True},
        redoc_url=None,  # served by docs_pages, without the bundle's remote logo
    )
    docs_pages.install(app)
    app.state.settings = settings
    app.state.clock = clock
    app.state.authenticate = authenticate  # how app.auth's dependencies resolve a credential
    app.state.database = make_database(settings)
    install_read_path(app, settings)  # the hot reads' door and what they keep in memory (app/readpath)
    settings.storage_dir.mkdir(parents=True, exist_ok=True)

    install_error_handlers(app)
    install_method_not_allowed(app)
    app.add_middleware(RejectNulInUrl)  # innermost: the routes see a HEAD as a GET
    # Inside the request id, so replays carry one too.
    app.add_middleware(IdempotencyMiddleware, resolve_user=user_of_credential)
    app.add_middleware(
        LimitRequestBodies, settings=settings, routes=app.routes
    )  # before idempotency reads a body to hash it
    metrics = install_metrics(app)
    app.add_middleware(RequestIdMiddleware, observer=metrics)
    app.add_middleware(CacheHeaders)  # outside the replays, which are the caller's too
    cors.install(
        app, settings.cors_origins, settings.cors_allow_headers
    )  # outside the others: problems answered by the layers above carry it too
    if settings.trusted_proxies:
        # Outermost: the client address everything sees (login limits, logs) follows the same rule as
        # `smps serve` (uvicorn's own middleware, so the two cannot differ; applying it twice changes nothing).
        from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=[str(n) for n in settings.trusted_proxies])

    @app.get("/healthz", tags=["health"], operation_id="get_health")
    def healthz() -> dict[str, str]:
        """The process is alive, and which release of the service it runs."""
        return {"status": "ok", "version": SERVICE_VERSION}

    @app.get(
        "/readyz",
        tags=["health"],
        operation_id="get_readiness",
        responses=problem_responses(ServiceUnavailable),
        openapi_extra=facts(retry_after=True),
    )
    def readyz(request: Request) -> Readiness:
        """The database answers and the storage directory is writable (else 503). Also which faces print
        form.pdf and receipt.pdf and whether they cover what the documents print: without a Chinese face
        those two answer 503 `font_unavailable`, the service stays ready."""
        try:
            with request.app.state.database.reader() as session:
                session.execute(sa.text("SELECT 1"))
            # One probe file per process and thread: concurrent probes must not unlink each other's.
            probe = settings.storage_dir / f".ready-{os.getpid()}-{threading.get_ident()}"
            probe.write_bytes(b"ok")
            probe.unlink()
            # Where attachment files live: writable directory, or a reachable S3 bucket.
            blob_store_of(request.app).check()
        except Exception as exc:
            raise ServiceUnavailable(
                Text("数据库或存储不可用", "The database or the storage is unavailable"), headers={"Retry-After": "5"}
            ) from exc
        return Readiness(status="ready", fonts=fonts_readiness(settings.cjk_font, settings.cjk_title_font))

    app.include_router(index_router)
    for router in ROUTERS:
        app.include_router(router)
    app.include_router(portal_router)  # the web portal at /portal/ (not part of the API document)
    # The hottest reads, matched first (core/fast/routes.py): an application, and its form as reviewers print it.
    hoist(app, applications_router, "get_application")
    hoist(app, documents_router, "get_application_form_pdf")
    add_idempotency_to_openapi(app)
    add_problems_to_openapi(app)
    add_route_facts_to_openapi(app)
    add_service_to_openapi(app, described=[document_events, document_webhooks, document_patches])
    return app


def render_openapi() -> bytes:
    """The committed OpenAPI document (openapi/openapi.json), rendered the same way by `smps openapi` and
    by the drift test."""
    app = create_app(Settings(database_url="sqlite://"))
    return orjson.dumps(app.openapi(), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"
