"""One way to amend the generated OpenAPI document: each part of the service that says more than
FastAPI can (problems, limits, idempotency, headers, examples) registers a function that edits the
document once, when it is first generated."""

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI


def amend_openapi(app: FastAPI, amend: Callable[[dict[str, Any]], None]) -> None:
    """Run ``amend`` on the document when it is first generated (later calls get the cached one)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = generate()
        amend(schema)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI documents replacing it as the way to customise
