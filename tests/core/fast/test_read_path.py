"""``GET /applications/{id}`` on its lean route keeps the contract and the rules on credentials."""

from datetime import UTC, datetime

import httpx
import sqlalchemy as sa
from fastapi import FastAPI, Request, Response

from app.accounts.models import ApiKey, User
from app.core.fast.routes import lean_route
from tests.applications.cast import Flow, make_cast


async def test_answers_as_the_contract_says(app, client) -> None:
    cast = await make_cast(app, client)
    flow = Flow(client, cast)
    created = await flow.create()
    url = f"/api/v1/applications/{flow.id}"
    r = await client.get(url, headers=cast.applicant.headers)
    assert r.status_code == 200
    moments = ("created_at", "updated_at")  # the same instants, written with another offset on create
    assert {k: v for k, v in r.json().items() if k not in moments} == {
        k: v for k, v in created.items() if k not in moments
    }
    assert r.headers["etag"] == flow.etag and r.headers["content-type"] == "application/json"
    assert r.headers["cache-control"] == "private, no-cache" and r.headers.get("x-request-id")
    assert r.headers["vary"] == "Authorization"
    again = await client.get(url, headers={**cast.applicant.headers, "If-None-Match": flow.etag})
    assert again.status_code == 304 and again.headers["etag"] == flow.etag and again.content == b""
    hidden = await client.get(url, headers=cast.stranger.headers)  # a draft is its unit's alone
    assert hidden.status_code == 404 and hidden.json()["code"] == "not_found"
    assert hidden.headers["content-type"].startswith("application/problem+json")
    anonymous = await client.get(url)
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"] == "Bearer"
    too_long = await client.get("/api/v1/applications/" + "a" * 33, headers=cast.applicant.headers)
    assert too_long.status_code == 422 and too_long.json()["code"] == "validation_failed"
    assert too_long.json()["errors"][0]["pointer"] == "path:/application_id"


async def test_key_use_is_recorded_and_revocation_or_deactivation_refused_at_once(app, client) -> None:
    cast = await make_cast(app, client)
    flow = Flow(client, cast)
    await flow.create()
    url = f"/api/v1/applications/{flow.id}"
    key_of = sa.select(ApiKey).where(ApiKey.user_id == cast.applicant.user_id)
    with app.state.database.writer() as session, session.begin():
        session.execute(sa.update(ApiKey).where(ApiKey.user_id == cast.applicant.user_id).values(last_used_at=None))
    assert (await client.get(url, headers=cast.applicant.headers)).status_code == 200
    with app.state.database.reader() as session:
        assert session.execute(key_of).scalar_one().last_used_at is not None
    with app.state.database.writer() as session, session.begin():
        session.execute(
            sa.update(ApiKey).where(ApiKey.user_id == cast.applicant.user_id).values(revoked_at=datetime.now(UTC))
        )
    refused = await client.get(url, headers=cast.applicant.headers)
    assert refused.status_code == 401 and refused.json()["code"] == "not_authenticated"
    assert (await client.get(url, headers=cast.reviewer.headers)).status_code in (200, 404)
    with app.state.database.writer() as session, session.begin():
        session.execute(sa.update(User).where(User.id == cast.reviewer.user_id).values(is_active=False))
    assert (await client.get(url, headers=cast.reviewer.headers)).status_code == 401


async def test_a_lean_route_leaves_what_it_does_not_judge_to_fastapi() -> None:
    app = FastAPI()

    async def lean(request: Request) -> Response | None:
        name = request.path_params["name"]
        return Response(b"lean:" + name.encode()) if name != "other" else None

    async def standard(name: str, n: int = 0) -> dict[str, str | int]:
        return {"name": name, "n": n}

    app.router.add_api_route("/{name}", standard, methods=["GET"], route_class_override=lean_route(lean))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        assert (await client.get("/x")).content == b"lean:x"
        assert (await client.get("/other?n=2")).json() == {"name": "other", "n": 2}
        assert (await client.get("/other?n=z")).status_code == 422
    assert "/{name}" in app.openapi()["paths"]
