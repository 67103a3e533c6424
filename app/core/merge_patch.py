"""RFC 7396 JSON Merge Patch: the body of every ``PATCH``.

A patch is a JSON object laid over the resource: a member set to an object merges into the member of
the same name, a member set to ``null`` is removed (cleared), anything else replaces. The merged
document is then validated by the same model as before, so a problem's pointer (``/contact/phone``)
names the same place in the patch as in the merged document.

``application/merge-patch+json`` is the patch's media type; ``application/json`` is taken as a
synonym (and a body without a Content-Type as JSON), anything else is 415 ``unsupported_media_type``.
"""

from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

import orjson
from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from app.core.errors import (
    JSON,
    MERGE_PATCH,
    FieldError,
    MalformedJson,
    ValidationFailed,
    is_json,
    unsupported_media_type,
)
from app.core.i18n import Text


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396 §2, MergePatch(Target, Patch): the patched value (neither argument is changed)."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for name, value in patch.items():
        if value is None:
            result.pop(name, None)
        else:
            result[name] = merge_patch(result.get(name), value)
    return result


def whole_members(current: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """The patch as whole top-level members: an object merged into the current member of its name
    (its nested nulls removing), ``null`` kept (the member is cleared). Applying these members one by
    one, replacing or clearing, is the merge patch."""
    return {name: None if value is None else merge_patch(current.get(name), value) for name, value in patch.items()}


@dataclass(frozen=True, slots=True)
class ReceivedPatch:
    """The body of a merge-patch request, read before the request takes the database (the body may
    arrive slowly), judged after the caller is: a caller without credentials gets 401, not a word on
    their body."""

    patch: dict[str, Any] | None
    problem: Exception | None

    def object(self) -> dict[str, Any]:
        """The patch object: 415 for a body that is not JSON, 400 for JSON that does not parse, 422
        (pointer ``""``) for JSON that is not an object."""
        if self.problem is not None:
            raise self.problem
        assert self.patch is not None
        return self.patch


async def read_merge_patch(request: Request) -> ReceivedPatch:
    if not is_json(request.headers.get("content-type")):
        return ReceivedPatch(None, unsupported_media_type())
    try:
        patch = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        return ReceivedPatch(None, MalformedJson(Text("请求体不是有效的 JSON", "The request body is not valid JSON")))
    if not isinstance(patch, dict):
        problem = RequestValidationError([{"type": "dict_type", "loc": ("body",), "msg": "", "input": None}])
        return ReceivedPatch(None, problem)
    return ReceivedPatch(patch, None)


MergePatch = Annotated[ReceivedPatch, Depends(read_merge_patch)]
M = TypeVar("M", bound=BaseModel)


def validated(model: type[M], members: dict[str, Any]) -> M:
    """``members`` validated by ``model`` as a request body (422 with pointers into it); the fields set
    are the members present."""
    try:
        return model.model_validate(members)
    except ValidationError as exc:
        raise RequestValidationError([{**error, "loc": ("body", *error["loc"])} for error in exc.errors()]) from None


PATCH_BODY = (
    "An RFC 7396 JSON Merge Patch: members sent replace, objects merge, `null` removes. Sent as "
    "`application/merge-patch+json`; `application/json` is taken as a synonym."
)
# The models whose merge patches the document describes, by the patch component's name.
_PATCHES: dict[str, type[BaseModel]] = {}


def request_body(model: type[BaseModel], *, description: str | None = None) -> dict[str, Any]:
    """The ``openapi_extra`` of a route whose body is read by ``MergePatch`` and validated, once merged,
    by ``model``: the patch's schema (``document_patches`` derives it from the model's) under both
    media types."""
    name = model.__name__.removesuffix("Update") + "Patch"
    _PATCHES[name] = model
    content = {"schema": {"$ref": f"#/components/schemas/{name}"}}
    # The patch's own media type only (`application/json` is taken as a synonym, and said so): generated
    # clients make one body type of it, and send it as JSON.
    body: dict[str, Any] = {"required": True, "content": {MERGE_PATCH: content}}
    body["description"] = description or PATCH_BODY
    return {"requestBody": body}


def _partial(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    """The schema of a patch of a value of ``schema``: an object's members all optional, the optional
    ones nullable (null removes), each itself a patch; anything else as it is (replaced whole)."""
    if "anyOf" in schema:
        return {**schema, "anyOf": [_partial(s, components) for s in schema["anyOf"]]}
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        target = components.get(name, {})
        if target.get("type") != "object" or "properties" not in target:
            return schema
        patch_name = name + "Patch"
        if patch_name not in components:
            components[patch_name] = {}  # before recursing: a model that contains itself
            components[patch_name] = _partial(target, components)
        return {"$ref": f"#/components/schemas/{patch_name}"}
    if schema.get("type") != "object" or "properties" not in schema:
        return schema
    out = {key: value for key, value in schema.items() if key not in ("required", "properties", "title")}
    # A required member may be left out of a patch (it stays) but not removed; an optional one may be.
    required = set(schema.get("required", ()))
    out["properties"] = {
        name: _partial(member, components) if name in required else _nullable(_partial(member, components))
        for name, member in schema["properties"].items()
    }
    description = schema.get("description", "")
    out["description"] = (description + "\n\n" if description else "") + (
        "As a merge patch (RFC 7396): members sent replace, objects merge, `null` removes."
    )
    return out


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    if any(s.get("type") == "null" for s in schema.get("anyOf", [])):
        return schema
    keep: dict[str, Any] = {key: schema[key] for key in ("description", "title") if key in schema}
    inner = {key: value for key, value in schema.items() if key not in keep}
    return {"anyOf": [inner, {"type": "null"}], **keep}


def document_patches(schema: dict[str, Any]) -> None:
    """The patch components named by the merge-patch routes: each model's schema (its own components
    added where missing) made partial, nested objects too."""
    components = schema["components"]["schemas"]
    for name, model in _PATCHES.items():
        whole = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for component, definition in whole.pop("$defs", {}).items():
            components.setdefault(component, definition)
        # The top level as the model says: it already takes what may be cleared, and null where it may.
        members = {
            key: _partial({k: v for k, v in member.items() if k != "default"}, components)
            for key, member in whole["properties"].items()
        }
        patch = {**whole, "title": name, "properties": members}
        components[name] = patch
    # Every other PATCH reads its body as FastAPI does (flat members: replacing or clearing each is the
    # merge patch): its body is declared as the patch media type too.
    for operations in schema["paths"].values():
        body = operations.get("patch", {}).get("requestBody", {})
        content = body.get("content", {})
        if JSON in content and MERGE_PATCH not in content:
            content[MERGE_PATCH] = content.pop(JSON)
        if MERGE_PATCH in content:
            body.setdefault("description", PATCH_BODY)


def refuse_nulls(body: BaseModel, *names: str) -> None:
    """422 naming each member among ``names`` that the patch sets to ``null`` (it cannot be removed)."""
    cleared = [name for name in names if name in body.model_fields_set and getattr(body, name) is None]
    if cleared:
        raise ValidationFailed(
            errors=[FieldError(f"/{name}", "required", Text("不能清空", "Cannot be removed")) for name in cleared]
        )
