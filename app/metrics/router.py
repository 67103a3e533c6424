"""``GET /metrics``: the Prometheus exposition, for SMPS_METRICS_TOKEN or an admin."""

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from prometheus_client.exposition import choose_encoder

from app.accounts.principal import authenticate, oauth2_scheme
from app.core.errors import Forbidden, NotAuthenticated, problem_responses
from app.core.i18n import Text
from app.core.settings import Settings
from app.metrics.business import BusinessCollector
from app.metrics.multiprocess import scrape_registry
from app.metrics.requests import RequestMetrics, multiprocess_dir

router = APIRouter()

_EXPOSITION = "text/plain; version=0.0.4; charset=utf-8"


def install(app: FastAPI) -> RequestMetrics:
    """The app's series, its pool gauges and the endpoint; the business gauges join every scrape."""
    metrics = RequestMetrics()
    metrics.watch_pools(app.state.database)
    app.state.metrics = metrics
    app.state.business_metrics = BusinessCollector(app.state.database, app.state.clock)
    metrics.registry.register(app.state.business_metrics)
    app.include_router(router)
    return metrics


def _allowed(request: Request, credential: str | None) -> None:
    settings: Settings = request.app.state.settings
    token = settings.metrics_token.get_secret_value() if settings.metrics_token else None
    if token and credential and secrets.compare_digest(credential.encode(), token.encode()):
        return
    database = request.app.state.database
    with database.reader() as session:
        principal = authenticate(session.connection(), database, credential, request.app.state.clock(), read_only=True)
    request.state.user_id = principal.user_id
    if not principal.is_admin:
        raise Forbidden(Text("指标仅供管理员或监控系统读取", "Metrics are for admins and the monitoring system"))


@router.get(
    "/metrics",
    tags=["health"],
    operation_id="get_metrics",
    response_class=Response,
    responses={
        200: {
            "description": "The Prometheus text exposition (OpenMetrics when the scraper asks for it).",
            "content": {_EXPOSITION: {"schema": {"type": "string"}}},
        },
        **problem_responses(NotAuthenticated, Forbidden),
    },
)
def get_metrics(request: Request, credential: Annotated[str | None, Depends(oauth2_scheme)]) -> Response:
    """Request durations by route template and status, requests in flight and the database pool (all
    workers added up), and gauges read from the database now: applications by call and state, batches,
    bulk uploads in progress, undelivered webhook deliveries and the oldest one's age, the outbox lag.

    For the bearer `SMPS_METRICS_TOKEN` or an admin; see docs/deployment.md for every series."""
    _allowed(request, credential)
    directory = multiprocess_dir()
    if directory:
        registry = scrape_registry(directory)
        registry.register(request.app.state.business_metrics)
    else:
        registry = request.app.state.metrics.registry
    encoder, content_type = choose_encoder(request.headers.get("accept", ""))
    return Response(encoder(registry), media_type=content_type)
