"""Nullability is true: every request field the document marks nullable accepts `null`.

For each JSON request body with an example, each nullable member (at the top or inside an object the
example fills) is set to `null` and the body sent as every role, to the world's objects (a draft for the
application's own operations, If-Match `*`): no answer refuses that member, and none is a 5xx. Members
that cannot be cleared are not nullable in the document (and the service refuses their `null`).
"""

import asyncio
import json
from typing import Any

import httpx
from fastapi import FastAPI

from app import examples as ex
from app.core.errors import json_content
from tests.conftest import ROOT_DIR
from tests.contract.world import World, asgi_client, build_world

DOCUMENT = json.loads((ROOT_DIR / "openapi" / "openapi.json").read_text())
SCHEMAS = DOCUMENT["components"]["schemas"]
ROLES = ("applicant", "signatory", "reviewer", "office", "admin")


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = SCHEMAS[schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _nullable(schema: dict[str, Any]) -> bool:
    return any(branch.get("type") == "null" for branch in schema.get("anyOf", []))


def _object(schema: dict[str, Any]) -> dict[str, Any] | None:
    """The object schema of a member (through `$ref` and a nullable `anyOf`), if it is one."""
    for branch in [schema, *schema.get("anyOf", [])]:
        branch = _resolve(branch)
        if "properties" in branch:
            return branch
    return None


def nullable_members(schema: dict[str, Any], example: Any, pointer: str = "") -> list[str]:
    """Pointers of the nullable members of ``schema``, descending where ``example`` has an object."""
    schema = _resolve(schema)
    found = []
    for name, member in schema.get("properties", {}).items():
        if _nullable(member):
            found.append(f"{pointer}/{name}")
        inner = _object(member)
        if inner is not None and isinstance(example, dict) and isinstance(example.get(name), dict):
            found += nullable_members(inner, example[name], f"{pointer}/{name}")
    return found


def _with_null(body: dict[str, Any], pointer: str) -> dict[str, Any]:
    body = json.loads(json.dumps(body))
    *parents, last = pointer.strip("/").split("/")
    target = body
    for part in parents:
        target = target[part]
    target[last] = None
    return body


def _cases() -> list[tuple[str, str, str, dict[str, Any], str]]:
    cases = []
    for path, operations in DOCUMENT["paths"].items():
        for method, op in operations.items():
            content = json_content(op.get("requestBody", {}).get("content", {}))
            if not content or not content.get("examples"):
                continue
            example = next(iter(content["examples"].values()))["value"]
            for pointer in nullable_members(content["schema"], example):
                cases.append((method, path, op["operationId"], example, pointer))
    return cases


def _real_ids(world: World) -> dict[str, str]:
    cast = world.cast
    return {
        ex.CALL: cast.call_id,
        ex.RECOMMENDER: cast.recommender,
        ex.APPLICATION: world.applications["draft"],
        ex.UNDERTAKING: cast.undertaking,
        ex.PARTICIPATING: cast.participating,
        ex.GUARANTOR: cast.guarantor,
        ex.GUIDANCE: cast.guidance,
    }


def _real(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: _real(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_real(v, ids) for v in value]
    return ids.get(value, value) if isinstance(value, str) else value


def _url(path: str, world: World) -> str:
    values = {
        "application_id": world.applications["draft"],
        "call_id": world.ids["call_id"][0],
        "org_id": world.cast.recommender,
        "user_id": world.ids["user_id"][0],
        "batch_id": world.ids["batch_id"][0],
        "endorsement_id": world.ids["endorsement_id"][0],
    }
    return path.format(**values)


async def _refused_when_absent(
    client: httpx.AsyncClient, method: str, url: str, headers: dict[str, str], body: dict[str, Any], pointer: str
) -> bool:
    """A rule that needs the member (a reviewer's entry names its unit, a return its reason) refuses its
    absence as well: that is not about `null`."""
    body = json.loads(json.dumps(body))
    *parents, last = pointer.strip("/").split("/")
    target = body
    for part in parents:
        target = target[part]
    del target[last]
    r = await client.request(method.upper(), url, headers=headers, json=body)
    return r.status_code == 422 and pointer in [e.get("pointer") for e in r.json().get("errors", [])]


async def _refusals(app: FastAPI) -> tuple[int, list[str]]:
    refusals = []
    sent = 0
    async with asgi_client(app) as client:
        world = await build_world(app, client)
        ids = _real_ids(world)
        for method, path, operation_id, example, pointer in _cases():
            body = _with_null(_real(example, ids), pointer)
            for role in ROLES:
                headers = {**world.actors[role].headers, "If-Match": "*"}
                r: httpx.Response = await client.request(
                    method.upper(), url := _url(path, world), headers=headers, json=body
                )
                sent += 1
                if r.status_code >= 500:
                    refusals.append(f"{operation_id} {pointer} as {role}: {r.status_code}")
                elif r.headers.get("content-type", "").startswith("application/problem+json"):
                    pointers = [e.get("pointer") for e in r.json().get("errors", [])]
                    if pointer in pointers and not await _refused_when_absent(
                        client, method, url, headers, body, pointer
                    ):
                        refusals.append(f"{operation_id} {pointer} as {role}: {r.text}")
    return sent, refusals


def test_every_nullable_request_member_accepts_null(app: FastAPI) -> None:
    assert len(_cases()) > 20  # the examples reach the members: a document without them would pass vacuously
    sent, refusals = asyncio.run(_refusals(app))
    assert sent > 100
    assert not refusals, "\n".join(refusals)


def test_members_that_cannot_be_cleared_are_not_nullable() -> None:
    for component, name in (
        ("ApplicationPatch", "title"),
        ("OrganizationUpdate", "name"),
        ("OrganizationUpdate", "kind"),
    ):
        member = SCHEMAS[component]["properties"][name]
        assert not _nullable(member), (component, name)
        assert name not in SCHEMAS[component].get("required", [])
