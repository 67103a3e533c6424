"""The committed OpenAPI document, rendered the same way by the CLI and by the drift test; and what the
application aggregate adds to it (the stored shapes of its content)."""

from typing import Any

import orjson

from app.applications.schemas import STORED_SHAPES
from app.core.settings import Settings


def document_stored_shapes(schema: dict[str, Any]) -> None:
    """``ApplicationPublic`` members as they are stored (the validated shapes, not free-form objects)."""
    members = schema["components"]["schemas"]["ApplicationPublic"]["properties"]
    for name, (component, nullable, array) in STORED_SHAPES.items():
        ref = {"$ref": f"#/components/schemas/{component}"}
        shape = {"type": "array", "items": ref} if array else ref
        described = {"description": members[name]["description"]} if "description" in members[name] else {}
        members[name] = {"anyOf": [shape, {"type": "null"}], **described} if nullable else {**shape, **described}


def render() -> bytes:
    from app.main import create_app

    app = create_app(Settings(database_url="sqlite://"))
    return orjson.dumps(app.openapi(), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"
