"""The request examples routes declare (``facts(examples=...)``), by operation: what the tests send."""

from functools import cache
from typing import Any

from app.core.route_facts import Examples, declared_routes
from app.routers import ROUTERS


@cache
def _declared() -> dict[str, Examples]:
    return {
        route.operation_id: route.facts.examples["json"]
        for router in ROUTERS
        for route in declared_routes(router.routes)
        if route.facts.examples and "json" in route.facts.examples
    }


def request_example(operation_id: str, name: str) -> Any:
    """The value of the JSON body example ``name`` that operation ``operation_id`` declares."""
    return _declared()[operation_id][name][1]
