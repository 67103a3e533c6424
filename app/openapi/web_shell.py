"""What the web shell's layers add to each operation of the document: the ``Idempotency-Key`` header (and
its problems) where the idempotency layer applies (413 where the body limits apply: ``app.openapi.routes``)."""

from typing import Any

from fastapi import FastAPI

from app.core.errors import PROBLEM_MEDIA_TYPE, IdempotencyInFlight, IdempotencyKeyReused
from app.openapi.patch import amend_openapi
from app.web.idempotency import HEADER, MAX_KEY_LENGTH, applies


def add_idempotency_to_openapi(app: FastAPI) -> None:
    """Declare the ``Idempotency-Key`` header (and its 409/422 problems) on every POST it applies to."""

    def amend(schema: dict[str, Any]) -> None:
        problem = {"content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
        for path, operations in schema.get("paths", {}).items():
            operation = operations.get("post")
            if operation is None or not applies("POST", path):
                continue
            operation.setdefault("parameters", []).append(
                {
                    "name": HEADER,
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH},
                    "description": "A unique key per intended operation (e.g. a UUID). A retry with the same key and "
                    "body replays the stored response (`Idempotent-Replayed: true`); another body with the key → 422 "
                    "`idempotency_key_reused`; while the first is in progress → 409 `idempotency_in_flight`. "
                    "Keys are per user and kept at least 24 hours.",
                }
            )
            responses = operation.setdefault("responses", {})
            for kind in (IdempotencyInFlight, IdempotencyKeyReused):
                entry = responses.setdefault(str(kind.status), {"description": "", **problem})
                entry["description"] = (entry["description"] + ", " if entry["description"] else "") + kind.code

    amend_openapi(app, amend)
