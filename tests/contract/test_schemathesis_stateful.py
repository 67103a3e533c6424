"""Schemathesis' examples phase and stateful testing through the document's OpenAPI links.

Examples phase: every operation is sent the document's own examples (ids in them are readable stand-ins,
so many answers are 404 or 422 — declared and allowed); every check runs on every answer. Stateful: the
state machine chains calls along the links (`POST /applications` 201 → `GET /applications/{id}`…), as the
applicant and as the admin, a bounded number of steps. Same configuration and checks as
tests/contract/test_schemathesis.py.
"""

import asyncio
import os
from collections.abc import Callable

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis.python.asgi import shutdown_lifespans

from tests.contract.test_schemathesis import CONFIG, OPENAPI
from tests.contract.world import World, asgi_client, build_world

STEPS = int(os.environ.get("SMPS_FUZZ_STEPS", "8"))  # per stateful run
EXAMPLES = int(os.environ.get("SMPS_FUZZ_EXAMPLES", "20"))


async def _seed(app: FastAPI) -> World:
    async with asgi_client(app) as client:
        return await build_world(app, client)


def _schema(app: FastAPI) -> schemathesis.schemas.BaseSchema:
    schema = schemathesis.openapi.from_path(OPENAPI, config=CONFIG)
    schema.app = app
    return schema


def _failure(exc: BaseException) -> str:
    kinds = sorted(str(getattr(e, "title", type(e).__name__)) for e in getattr(exc, "exceptions", [exc]))
    return ", ".join(kinds)


def test_the_documents_examples_conform(app: FastAPI) -> None:
    world = asyncio.run(_seed(app))
    schema = _schema(app)
    failures: dict[str, str] = {}
    calls: list[str] = []

    def sender(operation: schemathesis.APIOperation, strategy: st.SearchStrategy, role: str) -> Callable[[], None]:
        takes_if_match = any(p.name.lower() == "if-match" for p in operation.iter_parameters())

        @hypothesis_settings(
            max_examples=1,
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy)
        def run(case: schemathesis.Case) -> None:
            calls.append(operation.label)
            if takes_if_match:
                case.headers = {**(case.headers or {}), "If-Match": "*"}
            try:
                case.call_and_validate(headers=dict(world.actors[role].headers))
            except (Exception, BaseExceptionGroup) as exc:
                failures.setdefault(f"{operation.label}: {_failure(exc)}", f"[{role}] {exc}")

        return run

    try:
        for result in schema.get_all_operations():
            operation = result.ok()
            for n, strategy in enumerate(schema.get_strategies_from_examples(operation)):
                sender(operation, strategy, ("applicant", "admin", "office", "reviewer")[n % 4])()
    finally:
        shutdown_lifespans()
    assert len(set(calls)) >= 15  # every JSON body has examples, so most of those operations are reached
    assert not failures, "\n".join(failures) + "\n\n" + "\n\n".join(failures.values())


@pytest.mark.parametrize("role", ["applicant", "admin"])
def test_stateful_runs_along_the_links_conform(app: FastAPI, role: str) -> None:
    world = asyncio.run(_seed(app))
    schema = _schema(app)
    headers = dict(world.actors[role].headers)
    calls: list[str] = []

    class Machine(schema.as_state_machine()):  # type: ignore[misc]
        def before_call(self, case: schemathesis.Case) -> None:
            if any(p.name.lower() == "if-match" for p in case.operation.iter_parameters()):
                case.headers = {**(case.headers or {}), "If-Match": "*"}
            if case.media_type == "application/json" and isinstance(case.body, dict) and "call_id" in case.body:
                case.body["call_id"] = world.cast.call_id  # reach past the 422 of an unknown call

        def get_call_kwargs(self, case: schemathesis.Case) -> dict:
            calls.append(case.operation.label)
            return {"headers": headers}

    try:
        Machine.run(
            settings=hypothesis_settings(
                max_examples=EXAMPLES // 4 or 1,
                stateful_step_count=STEPS,
                derandomize=True,
                database=None,
                deadline=None,
                suppress_health_check=list(HealthCheck),
            )
        )
    finally:
        shutdown_lifespans()
    assert calls
    assert any(label.startswith("POST") for label in calls)
