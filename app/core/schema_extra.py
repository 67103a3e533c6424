"""Schema-only adjustments where the service's own check says more than a pydantic type can.

`NOT_NULL`: an optional member the service refuses to clear (its `null` is a 422 with our own code and
message, not pydantic's): omitted means unchanged, so the document leaves `null` out of its schema.
"""

from typing import Any


def _not_null(schema: dict[str, Any]) -> None:
    branches = [b for b in schema.pop("anyOf", []) if b.get("type") != "null"]
    if len(branches) == 1:
        schema.update(branches[0])
    elif branches:
        schema["anyOf"] = branches
    schema.pop("default", None)


NOT_NULL: Any = _not_null
