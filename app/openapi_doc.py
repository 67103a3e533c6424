"""The committed OpenAPI document, rendered the same way by the CLI and by the drift test; and what the
application aggregate adds to it (the stored shapes of its content)."""

import orjson

from app.core.settings import Settings


def render() -> bytes:
    from app.main import create_app

    app = create_app(Settings(database_url="sqlite://"))
    return orjson.dumps(app.openapi(), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"
