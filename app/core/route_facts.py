"""What a route says about itself beyond its path, models and problems: the headers its answers carry,
which operation's new id its path takes, whether it reads its own body. Declared where the route is, in its
decorator, and read from the route by whoever needs the fact (no table elsewhere names operations or
paths)::

    BATCH_ID = IdFrom("create_batch", "batch_id")

    @router.get("/batches/{batch_id}", operation_id="get_batch", openapi_extra=facts(etag=True, id_from=BATCH_ID))

The facts ride in the route's ``openapi_extra`` under ``KEY``; the document's amender
(``app.openapi.routes``) reads them from ``app.routes`` and takes the key out of the document again, and the
body limits (``app.web.limits``) and the write gate (``app.core.deps``) ask ``streams_own_body``."""

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import BaseRoute
from starlette.types import Scope

KEY = "x-smps-route"
# Named examples of a request body: name → (summary, value).
Examples = Mapping[str, tuple[str, Any]]
# Methods whose bodies no route reads: uvicorn buffers at most 64 KiB of an unread body, then pauses.
BODYLESS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class IdFrom:
    """The route's path parameter ``parameter`` takes the ``id`` that operation ``operation`` answers with
    (an OpenAPI link from that operation's success answer to this route)."""

    operation: str
    parameter: str


@dataclass(frozen=True, slots=True)
class RouteFacts:
    etag: bool = False  # 2xx (and 304) carry the resource's ETag (for sign-offs and reviews: the application's)
    application_etag: bool = False  # 2xx carry the application's ETag too (a change to its attachments)
    location: bool = False  # 2xx carry the URL of what was created
    file: bool = False  # 200/206 are a file: Content-Disposition, a binary body
    id_from: IdFrom | None = None
    streams_body: bool = False  # reads its (larger) body itself and enforces its own limits while reading
    retry_after: bool = False  # its 503 says when to try again
    # Its request bodies' examples by media type ("json": any JSON body, else the exact media type).
    examples: Mapping[str, Examples] | None = field(default=None, compare=False, hash=False)


NONE = RouteFacts()


def facts(
    *,
    etag: bool = False,
    application_etag: bool = False,
    location: bool = False,
    file: bool = False,
    id_from: IdFrom | None = None,
    streams_body: bool = False,
    retry_after: bool = False,
    examples: Examples | None = None,
    form_examples: tuple[str, Examples] | None = None,
    **openapi_extra: Any,
) -> dict[str, Any]:
    """The ``openapi_extra`` of a route declaring these facts (and any other ``openapi_extra`` it has).
    ``examples`` are its JSON body's; ``form_examples`` a form's or a multipart body's, with its media type."""
    by_media = {**({"json": examples} if examples else {}), **dict([form_examples] if form_examples else [])}
    declared = RouteFacts(etag, application_etag, location, file, id_from, streams_body, retry_after, by_media or None)
    return {**openapi_extra, KEY: declared}


def facts_of(route: Any) -> RouteFacts:
    """What ``route`` declared (nothing, for a route that did not, or one that is not an API route)."""
    found = (getattr(route, "openapi_extra", None) or {}).get(KEY)
    return found if isinstance(found, RouteFacts) else NONE


def streams_own_body(scope: Scope) -> bool:
    """Whether the request's route reads and limits its body itself (known once the request is routed)."""
    return facts_of(scope.get("route")).streams_body


@dataclass(frozen=True, slots=True)
class DeclaredRoute:
    operation_id: str
    path: str  # as the document names it (``/api/v1/applications/{application_id}``)
    methods: frozenset[str]
    in_schema: bool
    status_code: int | None
    facts: RouteFacts


def declared_routes(routes: Iterable[BaseRoute]) -> Iterator[DeclaredRoute]:
    """Every API route of an application (included routers resolved) with what it declares."""
    for context in iter_route_contexts(list(routes)):
        route = context.original_route
        if isinstance(route, APIRoute) and context.path_format is not None:
            yield DeclaredRoute(
                route.operation_id or route.unique_id,
                context.path_format,
                frozenset(context.methods or ()),
                route.include_in_schema,
                route.status_code,
                facts_of(route),
            )
