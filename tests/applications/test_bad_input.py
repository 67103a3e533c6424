"""Careless and hostile input: each answered with its documented problem, the store unchanged."""

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.applications.cast import Cast, Flow, make_cast
from tests.store import fingerprint

CASES: list[tuple[str, dict[str, Any], int, str, str]] = [
    # (name, overrides of a valid form, status, code, pointer of the first error)
    ("unknown domain area", {"domain": {"area": "9.9"}}, 422, "unknown_domain", "/domain/area"),
    ("sub-item of another area", {"domain": {"area": "1.1", "item": "3.4.1"}}, 422, "unknown_domain", "/domain/item"),
    ("malformed domain code", {"domain": {"area": "1-1"}}, 422, "invalid_format", "/domain/area"),
    (
        "other in a closed list",
        {"domain": {"area": "3.4", "other": "社区托育"}},
        422,
        "domain_not_open_ended",
        "/domain/other",
    ),
    (
        "bad phone",
        {"contact": {"name": "王芳", "phone": "12345", "email": "a@example.cn"}},
        422,
        "invalid_phone",
        "/contact/phone",
    ),
    (
        "bad email",
        {"contact": {"name": "王芳", "phone": "0531-82976850", "email": "not-an-email"}},
        422,
        "invalid_email",
        "/contact/email",
    ),
    (
        "period backwards",
        {"period": {"start": "2024-12-31", "end": "2023-01-01"}},
        422,
        "period_not_ordered",
        "/period/end",
    ),
    ("impossible date", {"period": {"start": "2023-02-30", "end": "2024-12-31"}}, 422, "invalid_date", "/period/start"),
    ("unknown field", {"secret_flag": True}, 422, "unknown_field", "/secret_flag"),
    (
        "unknown party",
        {"parties": {"guarantor": "org_doesnotexist"}},
        422,
        "unknown_organization",
        "/parties/guarantor",
    ),
    ("recommender not a recommender", {"recommender_id": "__guarantor__"}, 422, "not_a_recommender", "/recommender_id"),
    ("unknown section", {"sections": {"marketing": "…"}}, 422, "unknown_section", "/sections/marketing"),
    ("empty title", {"title": ""}, 422, "too_short", "/title"),
    ("over-long title", {"title": "长" * 201}, 422, "too_long", "/title"),
    ("control characters", {"title": "试点\x07名称"}, 422, "invalid_format", "/title"),
    ("wrong type", {"funding": {"amount_cny": "lots"}}, 422, "wrong_type", "/funding/amount_cny"),
    ("negative money", {"funding": {"amount_cny": -1}}, 422, "out_of_range", "/funding/amount_cny"),
    (
        "bad standard level",
        {"standards": [{"title": "x", "level": "galactic", "status": "existing"}]},
        422,
        "invalid_choice",
        "/standards/0/level",
    ),
]


def _resolve(cast: Cast, value: Any) -> Any:
    if value == "__guarantor__":
        return cast.guarantor
    if isinstance(value, dict):
        return {k: _resolve(cast, v) for k, v in value.items()}
    return value


@pytest.mark.parametrize(("name", "overrides", "status", "code", "pointer"), CASES, ids=[c[0] for c in CASES])
async def test_bad_form_is_refused_and_nothing_changes(
    app: FastAPI, client: httpx.AsyncClient, name: str, overrides: dict[str, Any], status: int, code: str, pointer: str
) -> None:
    cast = await make_cast(app, client)
    before = fingerprint(app)
    body = cast.form(**_resolve(cast, overrides))
    r = await client.post("/api/v1/applications", json=body, headers=cast.applicant.headers)
    assert r.status_code == status, r.text
    problem = r.json()
    assert r.headers["content-type"] == "application/problem+json"
    assert problem["code"] == "validation_failed"
    assert {"code": code, "pointer": pointer} in [
        {"code": e["code"], "pointer": e["pointer"]} for e in problem["errors"]
    ]
    assert fingerprint(app) == before


async def test_malformed_json(app: FastAPI, client: httpx.AsyncClient) -> None:
    cast = await make_cast(app, client)
    before = fingerprint(app)
    r = await client.post(
        "/api/v1/applications",
        content=b'{"title": "x",',
        headers={**cast.applicant.headers, "Content-Type": "application/json"},
    )
    assert r.status_code == 400 and r.json()["code"] == "malformed_json"
    assert fingerprint(app) == before


async def test_rejected_patch_and_transition_change_nothing(app: FastAPI, client: httpx.AsyncClient) -> None:
    cast = await make_cast(app, client)
    flow = Flow(client, cast)
    await flow.create()
    before = fingerprint(app)
    url = f"/api/v1/applications/{flow.id}"
    bad = await client.patch(
        url,
        json={"contact": {"name": "x", "phone": "110", "email": "a@b.cn"}},
        headers={**cast.applicant.headers, "If-Match": flow.etag},
    )
    assert bad.status_code == 422
    assert (await flow.act("submit")).status_code == 422  # no scan attached yet
    assert (await flow.act("reopen")).status_code == 409
    assert (await flow.act("fly")).status_code == 422
    assert fingerprint(app) == before


async def test_messages_are_bilingual_and_never_echo_input(app: FastAPI, client: httpx.AsyncClient) -> None:
    cast = await make_cast(app, client)
    probe = "<script>alert(1)</script>"
    body = cast.form(contact={"name": "王芳", "phone": probe, "email": "a@example.cn"})
    zh = await client.post("/api/v1/applications", json=body, headers=cast.applicant.headers)
    en = await client.post(
        "/api/v1/applications", json=body, headers={**cast.applicant.headers, "Accept-Language": "en"}
    )
    assert probe not in zh.text and probe not in en.text
    assert zh.json()["errors"][0]["code"] == en.json()["errors"][0]["code"] == "invalid_phone"
    assert zh.json()["errors"][0]["message"] != en.json()["errors"][0]["message"]
