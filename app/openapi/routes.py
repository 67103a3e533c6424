"""The one amender of what routes declare about themselves (``app.core.route_facts``). It walks
``app.routes``, takes each route's facts out of its operations in the document and writes what they
mean: the response headers (``ETag``, ``Application-ETag``, ``Location``, a file's
``Content-Disposition``, ``Retry-After`` on a 503), the OpenAPI links from a creating operation to the
routes that take its id, the request bodies' examples, and 413 ``payload_too_large`` where the body limits apply (every operation
with a body, except those that stream their own)."""

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI

from app.core.errors import PROBLEM_MEDIA_TYPE, PayloadTooLarge, is_json
from app.core.route_facts import KEY, DeclaredRoute, Examples, RouteFacts, declared_routes
from app.openapi.headers import add_header
from app.openapi.patch import amend_openapi


def add_route_facts_to_openapi(app: FastAPI) -> None:
    def amend(schema: dict[str, Any]) -> None:
        routes = [route for route in declared_routes(app.routes) if route.in_schema]
        links = _links(routes)
        for route in routes:
            path = schema["paths"].get(route.path, {})
            for method in route.methods:
                operation = path.get(method.lower())
                if operation is not None:
                    operation.pop(KEY, None)
                    amend_operation(operation, route.facts, links.get(route.operation_id))

    amend_openapi(app, amend)


Links = dict[str, tuple[str, dict[str, Any]]]  # creating operation → (its success status, its links)


def _links(routes: list[DeclaredRoute]) -> Links:
    """From an operation that creates an object to the operations whose path takes its id: a client (or
    Schemathesis' stateful testing) follows `$response.body#/id` of the 201 (or 202) into the path
    parameter of the next operation."""
    status = {route.operation_id: str(route.status_code) for route in routes}
    links: Links = {}
    for route in routes:
        source = route.facts.id_from
        if source is None:
            continue
        _, targets = links.setdefault(source.operation, (status[source.operation], {}))
        targets["".join(part.title() for part in route.operation_id.split("_"))] = {
            "operationId": route.operation_id,
            "parameters": {source.parameter: "$response.body#/id"},
            "description": f"The `{source.parameter}` of the created object",
        }
    return links


def amend_operation(
    operation: dict[str, Any], facts: RouteFacts, links: tuple[str, dict[str, Any]] | None = None
) -> None:
    if "requestBody" in operation and not facts.streams_body:  # the streaming routes declare their own 413
        _declare_body_limit(operation)
    for status, response in operation["responses"].items():
        success = status.startswith("2")
        if (success or status == "304") and facts.etag:
            add_header(response, "ETag", required=True)
        if success and facts.application_etag:
            add_header(response, "Application-ETag", required=True)
        if success and facts.location:
            add_header(response, "Location", required=True)
        if status == "503" and facts.retry_after:
            add_header(response, "Retry-After", required=True)
        if status in ("200", "206") and facts.file:
            add_header(response, "Content-Disposition", required=True)
            for media in response.get("content", {}).values():  # a file: bytes to a generated client
                media.setdefault("schema", {"type": "string", "format": "binary"})
    if links is not None:
        status, targets = links
        operation["responses"][status]["links"] = targets
    if facts.examples:
        _add_request_examples(operation, facts.examples)


def _add_request_examples(operation: dict[str, Any], declared: Mapping[str, Examples]) -> None:
    for media_type, content in operation.get("requestBody", {}).get("content", {}).items():
        # JSON bodies (application/json, or a merge patch's application/merge-patch+json); forms and multipart.
        examples = declared.get("json" if is_json(media_type) else media_type)
        if examples:
            content["examples"] = {
                name: {"summary": summary, "value": value} for name, (summary, value) in examples.items()
            }


def _declare_body_limit(operation: dict[str, Any]) -> None:
    problem = {"content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
    entry = operation["responses"].setdefault("413", {"description": "", **problem})
    if PayloadTooLarge.code not in entry["description"]:
        entry["description"] = ", ".join(filter(None, [entry["description"], PayloadTooLarge.code]))
