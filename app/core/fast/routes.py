"""A route answered by a lean handler on its common path, by FastAPI's own handler otherwise.

FastAPI resolves an endpoint's parameters per request (dependency tree, validation of each one) even
when they are a path segment and a header; on ``GET /applications/{id}`` that costs more than loading
the row (``python -m bench.read_path``). The route stays an ordinary ``APIRoute`` — same path,
endpoint, parameters and OpenAPI operation — only its handler tries ``lean(request)`` first; when that
returns ``None`` (input it does not judge, e.g. an over-long id), FastAPI's handler answers, so every
error keeps its usual problem body.
"""

from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

LeanHandler = Callable[[Request], Awaitable[Response | None]]


def lean_route(lean: LeanHandler) -> type[APIRoute]:
    """An ``APIRoute`` class (``route_class_override``) whose requests try ``lean`` first."""

    class LeanRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            standard = super().get_route_handler()

            async def handler(request: Request) -> Response:
                response = await lean(request)
                return response if response is not None else await standard(request)

            return handler

    return LeanRoute
