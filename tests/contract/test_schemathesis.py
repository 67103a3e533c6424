"""Schemathesis against the committed OpenAPI document, in process, as every role, on a realistic store.

Every operation of ``openapi/openapi.json`` gets Schemathesis' coverage cases (boundary values, missing
and unexpected parts, methods the path does not have) and generated requests that fit its schema
(positive) and that don't (negative), sent through the ASGI app of this test's migrated database with
the credentials of one of the roles (or none). Path parameters, ``*_id`` query parameters and ``*_id``
body fields are often swapped for ids of objects that exist (applications in many states, lists,
attachments, sign-offs, hooks…), and If-Match for ``*``, so the requests reach past the 404 and the 428.
All of Schemathesis' checks run on every response: no 5xx, every status declared, content types, headers
and bodies as declared, auth enforced, invalid data refused and valid data not refused. The run is
derandomized and bounded (``SMPS_FUZZ_EXAMPLES`` generated requests per operation, half as many invalid);
``SMPS_FUZZ_SEED`` explores other requests.
"""

import asyncio
import os
from collections.abc import Callable
from typing import Any

import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given
from hypothesis import seed as hypothesis_seed
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.generation.meta import ParameterLocation
from schemathesis.python.asgi import shutdown_lifespans

from tests.conftest import ROOT_DIR
from tests.contract.world import WEBHOOK_HOST, World, asgi_client, build_world
from tests.factories import PASSWORD

OPENAPI = ROOT_DIR / "openapi" / "openapi.json"
EXAMPLES = int(os.environ.get("SMPS_FUZZ_EXAMPLES", "20"))  # per operation; half as many invalid ones
# Derandomized unless a seed is given to explore further (SMPS_FUZZ_SEED=<n>; a failure names its seed).
SEED = int(os.environ["SMPS_FUZZ_SEED"]) if os.environ.get("SMPS_FUZZ_SEED") else None
# Reads first and deletions last, so the reads meet the world before the fuzzing changed it.
METHOD_ORDER = {"GET": 0, "POST": 1, "PUT": 2, "PATCH": 3, "DELETE": 4}
ROLES = ("applicant", "signatory", "reviewer", "office", "admin", None)

# Schemathesis' own statuses of a refusal, widened below for the two operations that report on bad documents.
NEGATIVE_REJECTED = ["400", "401", "403", "404", "405", "406", "409", "415", "422", "428", "429", "5xx"]
# Valid-by-schema requests the service may still refuse by its rules, which a JSON schema cannot say:
# 412/428 (a generated If-Match), 413/415 (a generated file's size or content), 422 (credit-code check
# characters, a call's catalogue, ids that name nothing, state machines' preconditions).
CONFIG = schemathesis.Config.from_dict(
    {
        "checks": {
            "positive_data_acceptance": {
                "expected-statuses": [
                    "2xx",
                    "3xx",
                    "401",
                    "403",
                    "404",
                    "409",
                    "412",
                    "413",
                    "415",
                    "422",
                    "428",
                    "429",
                ],
            },
        },
        # Documents the service reports on rather than refuses, by design: a bulk upload accepts rows that are
        # not valid applications (each is reported `invalid` in the upload's results, 202), and the verifier
        # answers any JSON object with a verdict (`valid: false, reason: malformed`, 200). Invalid rows and
        # receipts are therefore no rejection failure on these two operations, and on these two alone.
        "operations": [
            {
                "include-operation-id": "create_bulk_upload",
                "checks": {"negative_data_rejection": {"expected-statuses": [*NEGATIVE_REJECTED, "202"]}},
            },
            {
                "include-operation-id": "verify_receipt",
                "checks": {"negative_data_rejection": {"expected-statuses": [*NEGATIVE_REJECTED, "200"]}},
            },
        ],
    }
)

FORMS = ("application/json", "application/x-www-form-urlencoded")
# Path parameters whose ids are those of the world; ids named in queries and bodies likewise.
ID_POOLS = {
    "application_id": "application_id",
    "attachment_id": "attachment_id",
    "endorsement_id": "endorsement_id",
    "batch_id": "batch_id",
    "call_id": "call_id",
    "copy_from_call_id": "call_id",
    "org_id": "org_id",
    "organization_id": "organization_id",
    "recommender_id": "recommender_id",
    "undertaking": "organization_id",
    "guarantor": "organization_id",
    "guidance": "organization_id",
    "user_id": "user_id",
    "key_id": "key_id",
    "webhook_id": "webhook_id",
    "upload_id": "upload_id",
}


def _swap_ids(value: Any, draw: Callable[[Any], Any], world: World, key: str | None = None) -> Any:
    """``value`` with ids replaced, at random, by ids of the world (by field name)."""
    if isinstance(value, dict):
        return {k: _swap_ids(v, draw, world, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_swap_ids(v, draw, world, key) for v in value]
    pool = world.ids.get(ID_POOLS.get(key or "", ""), [])
    if key == "participating":
        pool = world.ids["organization_id"]
    elif key == "url":
        pool = [f"https://{WEBHOOK_HOST}/smps"]
    elif key == "username":
        pool = [actor.username for actor in world.actors.values()]
    elif key == "password":
        pool = [PASSWORD]
    if isinstance(value, str) and pool and draw(st.booleans()):
        return draw(st.sampled_from(pool))
    return value


async def _seed(app: FastAPI) -> World:
    async with asgi_client(app) as client:
        return await build_world(app, client)


def test_every_operation_conforms_to_the_document(app: FastAPI) -> None:
    world = asyncio.run(_seed(app))
    schema = schemathesis.openapi.from_path(OPENAPI, config=CONFIG)
    schema.app = app
    failures: dict[str, str] = {}
    calls = 0

    def send(operation: schemathesis.APIOperation, case: schemathesis.Case, role: str | None, phase: str) -> None:
        nonlocal calls
        calls += 1
        headers = dict(world.actors[role].headers) if role else {}
        component = case.meta.components.get(ParameterLocation.HEADER) if case.meta is not None else None
        if component is not None and component.mode is GenerationMode.NEGATIVE:
            # Headers made invalid on purpose (an Authorization that breaks its format) are sent as made:
            # the role's credentials in their place would make the request valid, and the refusal
            # Schemathesis expects of it would never come.
            made = {name.lower() for name in case.headers or {}}
            headers = {name: value for name, value in headers.items() if name.lower() not in made}
        try:
            case.call_and_validate(headers=headers)
        except (Exception, BaseExceptionGroup) as exc:  # every failure is collected; the run goes on
            kinds = sorted(str(getattr(e, "title", type(e).__name__)) for e in getattr(exc, "exceptions", [exc]))
            key = f"{operation.label}: {', '.join(kinds)}"
            if key not in failures:
                failures[key] = f"[{phase}, {role or 'anonymous'}] {exc}"

    def existing_ids(case: schemathesis.Case, choose: Callable[[list[str]], str | None]) -> None:
        # A URL with a NUL character is refused before any route (a 400 every operation declares): a rule
        # of the whole API the parameters' schemas do not repeat, so valid requests carry none.
        for part in (case.path_parameters, case.query):
            for name, value in (part or {}).items():
                if isinstance(value, str):
                    part[name] = value.replace("\x00", "0")
                elif isinstance(value, list):
                    part[name] = [v.replace("\x00", "0") if isinstance(v, str) else v for v in value]
        for name in list(case.path_parameters or {}):
            pool = world.ids.get(ID_POOLS.get(name, ""), [])
            chosen = choose(pool) if pool else None
            if chosen is not None:
                case.path_parameters[name] = chosen

    def cover(operation: schemathesis.APIOperation) -> None:
        """Schemathesis' coverage phase: boundary values, missing and unexpected parts, other methods."""
        config = schema.config.generation_for(operation=operation)
        modes = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
        for n, case in enumerate(
            schema.iter_coverage_cases(operation, generation_modes=modes, generation_config=config)
        ):
            role = ROLES[n % len(ROLES)]
            if case.meta is not None and case.meta.generation.mode is GenerationMode.POSITIVE:
                existing_ids(case, lambda pool, n=n: pool[n % len(pool)])
            send(operation, case, role, "coverage")

    def fuzz(operation: schemathesis.APIOperation, mode: GenerationMode) -> None:
        takes_if_match = any(p.name.lower() == "if-match" for p in operation.iter_parameters())
        examples = EXAMPLES if mode is GenerationMode.POSITIVE else EXAMPLES // 2

        @hypothesis_settings(
            max_examples=examples,
            derandomize=SEED is None,
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @hypothesis_seed(SEED)
        @given(case=operation.as_strategy(generation_mode=mode), data=st.data())
        def run(case: schemathesis.Case, data: st.DataObject) -> None:
            role = data.draw(st.sampled_from(ROLES))
            if mode is GenerationMode.POSITIVE:
                existing_ids(
                    case, lambda pool: data.draw(st.sampled_from(pool)) if data.draw(st.integers(0, 3)) else None
                )
                if case.query:
                    case.query = _swap_ids(case.query, data.draw, world)
                if isinstance(case.body, dict | list) and case.media_type in FORMS:
                    case.body = _swap_ids(case.body, data.draw, world)
                if takes_if_match and data.draw(st.booleans()):
                    case.headers["If-Match"] = "*"  # the precondition holds, the request goes on to the rules
            send(operation, case, role, mode.value)

        try:
            run()
        except Unsatisfiable:
            if mode is GenerationMode.POSITIVE:
                raise
            # Nothing to negate (no parameters, no body): the positive run covered the operation.

    try:
        operations = [result.ok() for result in schema.get_all_operations()]
        for operation in sorted(operations, key=lambda op: (METHOD_ORDER[op.method.upper()], op.path)):
            cover(operation)
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                fuzz(operation, mode)
    finally:
        shutdown_lifespans()
    assert calls > 0
    assert not failures, (
        f"{len(failures)} kinds of failure in {calls} calls:\n"
        + "\n".join(failures)
        + "\n\n"
        + "\n\n".join(f"{k}\n{v}" for k, v in failures.items())
    )
