"""JSON numbers and booleans are validated strictly: no `true` → 1, no `1` → true, no "1200" → 1200.

Every request model with a number or a boolean field is covered; dates, ids and enums still parse
from JSON strings, and query parameters keep their string parsing.
"""

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.applications.cast import Cast, Flow, make_cast
from tests.store import fingerprint


def assert_wrong_type(response: httpx.Response, pointer: str) -> None:
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "validation_failed"
    assert {"pointer": pointer, "code": "wrong_type"} in [
        {k: e[k] for k in ("pointer", "code")} for e in problem["errors"]
    ], problem


@pytest.mark.parametrize("amount", [True, "1200", 1200.5], ids=["true", "string", "fraction"])
async def test_funding_amount_must_be_a_json_integer(app: FastAPI, client: httpx.AsyncClient, amount: Any) -> None:
    cast = await make_cast(app, client)
    before = fingerprint(app)
    response = await client.post(
        "/api/v1/applications", json=cast.form(funding={"amount_cny": amount}), headers=cast.applicant.headers
    )
    assert_wrong_type(response, "/funding/amount_cny")
    assert fingerprint(app) == before


@pytest.mark.parametrize("attested", [1, "true"], ids=["one", "string"])
async def test_attestation_must_be_a_json_boolean(app: FastAPI, client: httpx.AsyncClient, attested: Any) -> None:
    cast = await make_cast(app, client)
    before = fingerprint(app)
    eligibility = [{"condition": 1, "attested": attested}, {"condition": "2", "attested": True}]
    response = await client.post(
        "/api/v1/applications", json=cast.form(eligibility=eligibility), headers=cast.applicant.headers
    )
    assert_wrong_type(response, "/eligibility/0/attested")
    assert_wrong_type(response, "/eligibility/1/condition")
    assert fingerprint(app) == before


async def test_a_patch_is_as_strict(app: FastAPI, client: httpx.AsyncClient) -> None:
    cast = await make_cast(app, client)
    flow = Flow(client, cast)
    await flow.create()
    before = fingerprint(app)
    response = await client.patch(
        f"/api/v1/applications/{flow.id}",
        json={"funding": {"amount_cny": "1200"}},
        headers={**cast.applicant.headers, "If-Match": '"1"'},
    )
    assert_wrong_type(response, "/funding/amount_cny")
    assert fingerprint(app) == before


async def test_strings_still_parse_where_json_has_no_type(app: FastAPI, client: httpx.AsyncClient) -> None:
    """Dates, ids and enums come as JSON strings; the strict fields take their JSON types."""
    cast = await make_cast(app, client)
    response = await client.post(
        "/api/v1/applications",
        headers=cast.applicant.headers,
        json=cast.form(funding={"amount_cny": 0}, eligibility=[{"condition": 1, "attested": False}]),
    )
    assert response.status_code == 201, response.text
    stored = response.json()
    assert stored["funding"]["amount_cny"] == 0 and stored["eligibility"][0]["attested"] is False
    assert stored["period"]["start"] == "2023-01-01"


def _other_models(cast: Cast) -> list[tuple[str, str, str, dict[str, Any], str]]:
    """(role, method, url, body, pointer) for every other request model with a number or a boolean."""
    return [
        (
            "reviewer",
            "PUT",
            "/api/v1/batches/{batch}/items",
            {"items": [{"application_id": "app_x", "rank": "1"}]},
            "/items/0/rank",
        ),
        ("admin", "PATCH", f"/api/v1/users/{cast.stranger.user_id}", {"is_active": 0}, "/is_active"),
        (
            "office",
            "POST",
            "/api/v1/organizations",
            {
                "name": "某单位",
                "credit_code": "11370102MB2834567X",
                "province_code": "370000",
                "kind": "government_agency",
                "accept_failed_check_character": "true",
            },
            "/accept_failed_check_character",
        ),
        (
            "office",
            "POST",
            "/api/v1/calls",
            {
                "key": "tenth-batch",
                "name": "第十批",
                "name_en": "10th",
                "notice_number": "标委办〔2025〕1号",
                "issue_date": "2025-01-01",
                "deadline": "2025-06-30T23:59:59+08:00",
                "quota_per_recommender": True,
            },
            "/quota_per_recommender",
        ),
        (
            "office",
            "PATCH",
            f"/api/v1/calls/{cast.call_id}",
            {"reason": "延期", "quota_per_recommender": "5"},
            "/quota_per_recommender",
        ),
    ]


@pytest.mark.parametrize(
    "index", range(5), ids=["batch_rank", "user_is_active", "organization_flag", "call_quota", "call_update_quota"]
)
async def test_every_other_model_is_strict(app: FastAPI, client: httpx.AsyncClient, index: int) -> None:
    cast = await make_cast(app, client)
    role, method, url, body, pointer = _other_models(cast)[index]
    if "{batch}" in url:
        created = await client.post("/api/v1/batches", json={"call_id": cast.call_id}, headers=cast.reviewer.headers)
        assert created.status_code == 201, created.text
        url = url.format(batch=created.json()["id"])
    actor = getattr(cast, role)
    before = fingerprint(app)
    response = await client.request(method, url, json=body, headers={**actor.headers, "If-Match": '"1"'})
    assert_wrong_type(response, pointer)
    assert fingerprint(app) == before


async def test_query_parameters_keep_their_string_parsing(app: FastAPI, client: httpx.AsyncClient) -> None:
    cast = await make_cast(app, client)
    response = await client.get("/api/v1/applications", params={"page_size": "5"}, headers=cast.applicant.headers)
    assert response.status_code == 200, response.text
