"""The ETag of an application as a caller sees it: the If-Match of a write (an upload, for one)."""

import httpx


async def etag_of(
    client: httpx.AsyncClient, application_id: str, headers: dict[str, str], base: str = "/api/v1"
) -> str:
    r = await client.get(f"{base}/applications/{application_id}", headers=headers)
    assert r.status_code == 200, r.text
    return r.headers["etag"]


def etag_of_sync(client: httpx.Client, base_url: str, application_id: str, headers: dict[str, str]) -> str:
    r = client.get(f"{base_url}/api/v1/applications/{application_id}", headers=headers)
    assert r.status_code == 200, r.text
    return r.headers["etag"]
