"""`GET /` (and `GET /api/v1`): a small JSON index whose links all lead somewhere."""

import httpx

from tests.conftest import ROOT_DIR

EXPECTED_LINKS = {
    "docs": "/docs",
    "redoc": "/redoc",
    "openapi": "/openapi.json",
    "health": "/healthz",
    "readiness": "/readyz",
    "api": "/api/v1",
}


async def test_the_root_is_an_index_whose_links_answer(client: httpx.AsyncClient) -> None:
    r = await client.get("/")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    body = r.json()
    assert body["name"] == "smps" and body["version"]
    assert body["links"] == EXPECTED_LINKS
    for name, link in body["links"].items():
        assert (await client.get(link)).status_code == 200, name
    assert (await client.get("/api/v1")).json() == body


def test_the_index_is_in_the_openapi_document_with_its_model() -> None:
    import json

    document = json.loads((ROOT_DIR / "openapi" / "openapi.json").read_text())
    ok = document["paths"]["/"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/ServiceIndex"}
    assert set(document["components"]["schemas"]["IndexLinks"]["properties"]) == set(EXPECTED_LINKS)
