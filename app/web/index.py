"""``GET /``: where a newcomer who opens the service's address finds the documentation and the API."""

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field


class IndexLinks(BaseModel):
    """Links from the service's root."""

    docs: str = Field(description="Interactive API documentation (Swagger UI)")
    redoc: str = Field(description="API reference (ReDoc)")
    openapi: str = Field(description="The OpenAPI document")
    health: str = Field(description="Liveness probe")
    readiness: str = Field(description="Readiness probe (database and storage)")
    api: str = Field(description="Root of the API; every resource is under it")


class ServiceIndex(BaseModel):
    """What this service is, and where its documentation and API are."""

    name: str = Field(examples=["smps"], description="The service's name")
    version: str = Field(examples=["1.0.0"], description="Its version")
    description: str = Field(description="What it does")
    links: IndexLinks = Field(description="Where to go next")


router = APIRouter()
# FastAPIOffline serves the documentation pages at its defaults (the app's own docs_url is None).
DOCS_URL, REDOC_URL = "/docs", "/redoc"


@router.get("/", tags=["health"], operation_id="get_index", response_model=ServiceIndex)
def index(request: Request) -> ServiceIndex:
    """What this service is and where to go next: its documentation, the OpenAPI document, the API."""
    return _index(request)


@router.get("/api/v1", tags=["health"], operation_id="get_api_index", response_model=ServiceIndex)
def api_index(request: Request) -> ServiceIndex:
    """The same index at the root of the API, so the `api` link leads somewhere."""
    return _index(request)


def _index(request: Request) -> ServiceIndex:
    app = request.app
    root = request.scope.get("root_path", "").rstrip("/")
    return ServiceIndex(
        name=app.title,
        version=app.version,
        description="社会管理和公共服务综合标准化试点 submission service",
        links=IndexLinks(
            docs=f"{root}{DOCS_URL}",
            redoc=f"{root}{REDOC_URL}",
            openapi=f"{root}{app.openapi_url}",
            health=f"{root}/healthz",
            readiness=f"{root}/readyz",
            api=f"{root}/api/v1",
        ),
    )
