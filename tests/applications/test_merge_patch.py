"""Every PATCH is an RFC 7396 JSON Merge Patch: nested objects merge, `null` removes, the merged
document is validated as a whole with pointers at the patch's members."""

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.core.merge_patch import merge_patch
from tests.applications.cast import Flow, make_cast
from tests.store import fingerprint

MERGE = "application/merge-patch+json"

# RFC 7396 Appendix A, every row: (target, patch, result).
APPENDIX_A = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
]


@pytest.mark.parametrize(("target", "patch", "result"), APPENDIX_A)
def test_rfc_7396_appendix_a(target: Any, patch: Any, result: Any) -> None:
    before = repr(target)
    assert merge_patch(target, patch) == result
    assert repr(target) == before  # the target is not changed in place


async def _patch(flow: Flow, body: Any, content_type: str = MERGE) -> httpx.Response:
    r = await flow.client.patch(
        f"/api/v1/applications/{flow.id}",
        content=body if isinstance(body, bytes) else httpx.Request("POST", "/", json=body).content,
        headers={**flow.cast.applicant.headers, "If-Match": flow.etag, "Content-Type": content_type},
    )
    if r.status_code == 200:
        flow.etag = r.headers["etag"]
    return r


async def test_a_section_patched_keeps_the_other_sections(app: FastAPI, client: httpx.AsyncClient) -> None:
    flow = Flow(client, await make_cast(app, client))
    created = await flow.create()
    r = await _patch(flow, {"sections": {"objectives": "C"}})
    assert r.status_code == 200, r.text
    assert r.json()["sections"] == {**created["sections"], "objectives": "C"}


async def test_null_removes_a_section(app: FastAPI, client: httpx.AsyncClient) -> None:
    flow = Flow(client, await make_cast(app, client))
    created = await flow.create()
    r = await _patch(flow, {"sections": {"objectives": None}})
    assert r.status_code == 200, r.text
    expected = {k: v for k, v in created["sections"].items() if k != "objectives"}
    assert r.json()["sections"] == expected


async def test_a_contact_phone_alone_keeps_name_and_email(app: FastAPI, client: httpx.AsyncClient) -> None:
    flow = Flow(client, await make_cast(app, client))
    await flow.create()
    r = await _patch(flow, {"contact": {"phone": "0531-86081234"}}, "application/json")
    assert r.status_code == 200, r.text
    assert r.json()["contact"] == {"name": "王芳", "phone": "0531-86081234", "email": "wangfang@example.cn"}


async def test_a_required_nested_member_cannot_be_removed(app: FastAPI, client: httpx.AsyncClient) -> None:
    flow = Flow(client, await make_cast(app, client))
    await flow.create()
    before = fingerprint(app)
    r = await _patch(flow, {"contact": {"name": None}})
    assert r.status_code == 422, r.text
    assert [e["pointer"] for e in r.json()["errors"]] == ["/contact/name"]
    assert fingerprint(app) == before


async def test_a_bad_nested_value_is_named_by_its_pointer(app: FastAPI, client: httpx.AsyncClient) -> None:
    flow = Flow(client, await make_cast(app, client))
    await flow.create()
    r = await _patch(flow, {"contact": {"phone": "12"}, "funding": {"amount_cny": True}})
    assert r.status_code == 422, r.text
    assert sorted(e["pointer"] for e in r.json()["errors"]) == ["/contact/phone", "/funding/amount_cny"]


async def test_null_clears_a_member_and_the_title_cannot_be_cleared(app: FastAPI, client: httpx.AsyncClient) -> None:
    flow = Flow(client, await make_cast(app, client))
    await flow.create()
    r = await _patch(flow, {"funding": None, "period": {"end": "2025-06-30"}})
    assert r.status_code == 200, r.text
    assert r.json()["funding"] is None
    assert r.json()["period"] == {"start": "2023-01-01", "end": "2025-06-30"}
    r = await _patch(flow, {"title": None})
    assert r.status_code == 422, r.text
    assert [e["pointer"] for e in r.json()["errors"]] == ["/title"]


async def test_lists_are_replaced_whole(app: FastAPI, client: httpx.AsyncClient) -> None:
    flow = Flow(client, await make_cast(app, client))
    await flow.create()
    row = {"code": None, "title": "新标准", "level": "local", "status": "to_be_drafted"}
    r = await _patch(flow, {"standards": [row]})
    assert r.status_code == 200, r.text
    assert r.json()["standards"] == [row]


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        (b'{"title": "x"}', "text/plain", 415, "unsupported_media_type"),
        (b"title=x", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
        (b'{"title": ', MERGE, 400, "malformed_json"),
        (b'["title"]', MERGE, 422, "validation_failed"),
    ],
)
async def test_a_patch_that_is_not_a_json_object(
    app: FastAPI, client: httpx.AsyncClient, body: bytes, content_type: str, status: int, code: str
) -> None:
    flow = Flow(client, await make_cast(app, client))
    await flow.create()
    before = fingerprint(app)
    r = await _patch(flow, body, content_type)
    assert (r.status_code, r.json()["code"]) == (status, code), r.text
    assert fingerprint(app) == before


def test_the_document_declares_the_patch_media_type_on_every_patch(app: FastAPI) -> None:
    document = app.openapi()
    patches = [ops["patch"] for ops in document["paths"].values() if "patch" in ops]
    assert len(patches) >= 4
    for operation in patches:
        body = operation["requestBody"]
        assert set(body["content"]) == {MERGE}, operation["operationId"]  # application/json: a synonym
        assert "application/json" in body["description"]
    schemas = document["components"]["schemas"]
    contact = schemas["ApplicationPatch"]["properties"]["contact"]
    assert {"$ref": "#/components/schemas/ContactPatch"} in contact["anyOf"]
    assert "required" not in schemas["ContactPatch"]


async def _merge(client: httpx.AsyncClient, url: str, headers: dict[str, str], etag: str, body: Any) -> httpx.Response:
    return await client.patch(
        url,
        content=httpx.Request("POST", "/", json=body).content,
        headers={**headers, "If-Match": etag, "Content-Type": MERGE},
    )


async def test_the_flat_patches_clear_what_may_be_cleared_and_refuse_the_rest(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    cast = await make_cast(app, client)
    admin, office = cast.admin.headers, cast.office.headers
    call_url = f"/api/v1/calls/{cast.call_id}"
    tag = (await client.get(call_url)).headers["etag"]
    refused = await _merge(client, call_url, office, tag, {"deadline": None, "reason": "清空截止时间"})
    assert (refused.status_code, [e["pointer"] for e in refused.json()["errors"]]) == (422, ["/deadline"])
    cleared = await _merge(client, call_url, office, tag, {"quota_per_recommender": None, "reason": "不限名额"})
    assert cleared.status_code == 200 and cleared.json()["quota_per_recommender"] is None, cleared.text

    org_url = f"/api/v1/organizations/{cast.recommender}"
    tag = (await client.get(org_url, headers=admin)).headers["etag"]
    refused = await _merge(client, org_url, admin, tag, {"name": None})
    assert (refused.status_code, [e["pointer"] for e in refused.json()["errors"]]) == (422, ["/name"])
    cleared = await _merge(client, org_url, admin, tag, {"name_en": None, "internal_deadline": None})
    assert cleared.status_code == 200 and cleared.json()["name_en"] is None, cleared.text

    user_url = f"/api/v1/users/{cast.stranger.user_id}"
    users = (await client.get("/api/v1/users", headers=admin, params={"page_size": 500})).json()["items"]
    version = next(u["version"] for u in users if u["id"] == cast.stranger.user_id)
    refused = await _merge(client, user_url, admin, f'"{version}"', {"display_name": None, "roles": None})
    assert refused.status_code == 422, refused.text
    assert sorted(e["pointer"] for e in refused.json()["errors"]) == ["/display_name", "/roles"]
    renamed = await _merge(client, user_url, admin, f'"{version}"', {"display_name": "新名字"})
    assert renamed.status_code == 200 and renamed.json()["display_name"] == "新名字", renamed.text
