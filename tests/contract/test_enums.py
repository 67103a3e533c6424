"""Closed values are enums in the document, and the enums hold every value the service uses."""

import json
from types import SimpleNamespace

import httpx
import jsonschema
import pytest
from fastapi import FastAPI

import app.main  # noqa: F401  (every router, hence every error class, is imported)
from app.core.errors import AppError
from app.core.event_types import EVENT_TYPES
from app.core.outbox import record_event
from app.openapi.problem_codes import _subclasses
from tests.conftest import ROOT_DIR
from tests.contract.world import build_world

DOCUMENT = json.loads((ROOT_DIR / "openapi" / "openapi.json").read_text())
SCHEMAS = DOCUMENT["components"]["schemas"]


def _enum(schema: dict) -> set[str]:
    if "enum" in schema or "const" in schema:
        return set(schema.get("enum", [schema.get("const")]))
    if "$ref" in schema:
        return _enum(SCHEMAS[schema["$ref"].rsplit("/", 1)[1]])
    return set().union(*(_enum(s) for s in schema.get("anyOf", []) + schema.get("allOf", []) + schema.get("oneOf", [])))


def test_every_problem_code_of_the_service_is_in_the_enum_with_its_meaning() -> None:
    code = SCHEMAS["Problem"]["properties"]["code"]
    declared = {kind.code for kind in _subclasses(AppError) if kind.__module__.startswith("app.")}
    assert len(declared) > 30
    assert declared <= set(code["enum"])
    for name in declared:
        assert f"- `{name}` (" in code["description"], name


def test_event_types_are_listed_and_nothing_else_is_emitted() -> None:
    union = SCHEMAS["EventPublic"]
    variants = [SCHEMAS[ref["$ref"].rsplit("/", 1)[1]] for ref in union["anyOf"]]
    # One variant per type, and the catch-all for the types added later (additive, docs/versioning.md).
    assert {v["properties"]["type"]["const"] for v in variants if v["title"] != "UnknownEvent"} == EVENT_TYPES
    assert SCHEMAS["UnknownEvent"]["properties"]["type"]["not"] == {"enum": sorted(EVENT_TYPES)}
    assert set(DOCUMENT["webhooks"]) == EVENT_TYPES | {"webhook.test", "unknown"}
    with pytest.raises(ValueError, match="undeclared event type"):
        record_event(None, "application.renamed", SimpleNamespace(id="app_x"), now=None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("schema", "member", "values"),
    [
        ("OrganizationPublic", "kind", {"market_supervision_bureau", "joint_office"}),
        ("OrganizationPublic", "recommender_kind", set()),
        ("BatchPublic", "state", {"open", "submitted", "acknowledged", "returned"}),
        ("BatchSummary", "state", {"open", "returned"}),
        ("BatchTransitionPublic", "to_state", {"submitted"}),
        ("RecommenderRow", "state", {"not_submitted", "acknowledged"}),
        ("BulkUploadPublic", "state", {"queued", "running", "finished", "failed"}),
        ("WebhookDeliveryPublic", "state", {"pending", "succeeded", "failed", "cancelled"}),
    ],
)
def test_closed_values_are_enums(schema: str, member: str, values: set[str]) -> None:
    enum = _enum(SCHEMAS[schema]["properties"][member])
    assert enum and values <= enum


async def test_each_event_matches_the_schema_of_its_type(app: FastAPI, client: httpx.AsyncClient) -> None:
    world = await build_world(app, client)
    validator = jsonschema.Draft202012Validator({"$ref": "#/components/schemas/EventPublic", **DOCUMENT})
    seen: set[str] = set()
    after = None
    while True:
        r = await client.get(
            "/api/v1/events",
            params={"page_size": 200, **({"after": after} if after else {})},
            headers=world.actors["admin"].headers,
        )
        assert r.status_code == 200
        page = r.json()
        for event in page["items"]:
            errors = [e.message for e in validator.iter_errors(event)]
            assert not errors, (event["type"], event["data"], errors[:3])
            seen.add(event["type"])
        if not page["items"]:
            break
        after = page["next_cursor"]
    assert {
        "application.created",
        "application.state_changed",
        "endorsement.recorded",
        "attachment.added",
        "batch.created",
        "batch.items_set",
        "batch.submitted",
    } <= seen, seen


def test_the_form_check_s_codes_are_the_enum_of_its_issues() -> None:
    # Every `report.error(pointer, "code", zh, en)` / `report.warn(…)` of the application package.
    import ast

    codes, computed = set(), []
    for path in sorted((ROOT_DIR / "app" / "applications").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("error", "warn")
                and len(node.args) >= 4
            ):
                code = node.args[1]
                if isinstance(code, ast.Constant):
                    codes.add(code.value)
                else:
                    computed.append((path.name, node.lineno))
    assert not computed and len(codes) > 15
    assert set(SCHEMAS["ValidationIssue"]["properties"]["code"]["enum"]) == codes


def test_the_problem_members_vocabularies_are_the_domain_s() -> None:
    from typing import get_args

    from app.accounts.models import Role
    from app.applications.schemas import StateName
    from app.batches.models import BatchState
    from app.core import problem_schema

    assert set(get_args(problem_schema.RoleName)) == {r.value for r in Role}
    assert set(get_args(problem_schema.StateName)) == set(get_args(StateName)) | {s.value for s in BatchState}
