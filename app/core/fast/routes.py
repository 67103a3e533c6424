"""A route answered by a lean handler on its common path, by FastAPI's own handler otherwise, and
matched ahead of the routers.

FastAPI resolves an endpoint's parameters per request (dependency tree, validation of each one) even
when they are a path segment and a header; on ``GET /applications/{id}`` that costs more than loading
the row (``python -m bench.read_path``). The route stays an ordinary ``APIRoute`` — same path,
endpoint, parameters and OpenAPI operation — only its handler tries ``lean(request)`` first; when that
returns ``None`` (input it does not judge, e.g. an over-long id), FastAPI's handler answers, so every
error keeps its usual problem body.

Routing is the other cost: the application's router tries each included router in turn, and each of
those tries every route of its own, so a request for the fourth router is matched against all the routes
before it, twice. ``hoist`` puts a copy of a route first in the application's router, out of the document.
The copy answers a lean response itself, without the wrapping FastAPI gives every endpoint (two exit
stacks for dependencies with ``yield``, of which a lean handler has none, and a handler of exceptions,
which the application's own ``ExceptionMiddleware`` is too, with the same handlers).
"""

from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.routing import APIRoute, APIRouter
from starlette.routing import Match
from starlette.types import Receive, Scope, Send

LeanHandler = Callable[[Request], Awaitable[Response | None]]


class LeanRoute(APIRoute):
    """A route whose requests try its ``lean`` handler first (set by ``lean_route``)."""

    lean: LeanHandler

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        standard = super().get_route_handler()
        lean = self.lean

        async def handler(request: Request) -> Response:
            response = await lean(request)
            return response if response is not None else await standard(request)

        return handler


def lean_route(lean: LeanHandler) -> type[LeanRoute]:
    """A ``LeanRoute`` class (``route_class_override``) whose requests try ``lean`` first."""
    return type("LeanRoute", (LeanRoute,), {"lean": staticmethod(lean)})


def hoist(app: FastAPI, router: APIRouter, operation_id: str) -> None:
    """Match ``router``'s operation ``operation_id`` before any other route of ``app``.

    The copy has the route's class (so its lean handler), path, endpoint and parameters; it is left out
    of the document, which keeps the original. It claims only requests of its own methods: any other
    method goes on to the routers, so a 405 and its ``Allow`` are what they were. Neither the router
    nor the application may add dependencies or a prefix when including it (none do): the copy would
    not have them.
    """
    source = next(r for r in router.routes if isinstance(r, LeanRoute) and r.operation_id == operation_id)
    methods = frozenset(source.methods or ())
    lean = source.lean

    class Hoisted(type(source)):  # type: ignore[misc]  # a route class known only at run time
        def matches(self, scope: Scope) -> tuple[Match, Scope]:
            if scope.get("method") not in methods:
                return Match.NONE, {}
            match: tuple[Match, Scope] = super().matches(scope)
            return match

        async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
            response = await lean(Request(scope, receive, send))
            if response is None:  # FastAPI's handler answers (and tries the lean one again: a length check)
                await super().handle(scope, receive, send)
            else:
                await response(scope, receive, send)

    copy = Hoisted(
        source.path,
        source.endpoint,
        methods=sorted(methods),
        name=source.name,
        response_model=None,
        include_in_schema=False,
    )
    app.router.routes.insert(0, copy)
