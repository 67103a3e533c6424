"""What the application aggregate adds to the OpenAPI document: the stored shapes of its content."""

from typing import Any

from app.applications.schemas import STORED_SHAPES


def document_stored_shapes(schema: dict[str, Any]) -> None:
    """``ApplicationPublic`` members as they are stored (the validated shapes, not free-form objects)."""
    members = schema["components"]["schemas"]["ApplicationPublic"]["properties"]
    for name, (component, nullable, array) in STORED_SHAPES.items():
        ref = {"$ref": f"#/components/schemas/{component}"}
        shape = {"type": "array", "items": ref} if array else ref
        described = {"description": members[name]["description"]} if "description" in members[name] else {}
        members[name] = {"anyOf": [shape, {"type": "null"}], **described} if nullable else {**shape, **described}
