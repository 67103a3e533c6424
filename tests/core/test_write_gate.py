"""No route holds the write gate while it waits for its client (app.core.deps: the one rule).

A request's body is received in full, and its costly checks done, before the write gate or a write
transaction is taken; requests that only read (GET, and ``@reads_only`` POSTs such as receipt
verification) never take it, and their authentication records an API key's use without waiting.
"""

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from app.core.deps import write_slot, writers_admitted
from tests.attachments.conftest import make_application
from tests.conftest import Actor
from tests.factories import make_org, make_user, seeded_org

# Guards against a hang, not a timing threshold: a request that waits for the gate held by a paused
# trickle would wait for ever (the trickle resumes only after it).
HANG = 60


@pytest.fixture
def owner(app: FastAPI) -> tuple[Actor, str]:
    """An applicant and a draft application of theirs (attachments are read only for a real application)."""
    unit = make_org(app)
    applicant = make_user(app, unit, "applicant")
    application_id = make_application(
        app, undertaking_org_id=unit, created_by=applicant.user_id, recommender_id=seeded_org(app, "370000")
    )
    return applicant, application_id


def _write_operations(app: FastAPI) -> list[tuple[str, str, str]]:
    """(method, path with made-up ids, content type) of every operation that may write."""
    found = []
    for path, operations in app.openapi()["paths"].items():
        for method, operation in operations.items():
            if method not in ("post", "put", "patch", "delete"):
                continue
            content = operation.get("requestBody", {}).get("content", {})
            media = next(iter(content), "application/json")
            found.append((method.upper(), re.sub(r"\{[^}]+\}", "x1", path), media))
    return found


class Trickle:
    """A body sent a little at a time; at every pull after the first, how many requests hold the gate."""

    def __init__(self, chunks: list[bytes], pause: asyncio.Event | None = None) -> None:
        self.chunks, self.pause = chunks, pause
        self.seen: list[int] = []
        self.waiting = asyncio.Event()

    async def stream(self, app: FastAPI) -> AsyncIterator[bytes]:
        yield self.chunks[0]
        for chunk in self.chunks[1:]:
            # The application asked for more: it is awaiting its client now.
            self.seen.append(writers_admitted(app.state.database))
            self.waiting.set()
            if self.pause is not None:
                await self.pause.wait()
            await asyncio.sleep(0)
            yield chunk


def _body(media: str, *, attachment: bool = False) -> tuple[list[bytes], dict[str, str]]:
    if media == "multipart/form-data":
        parts = [
            b'--b0undary\r\nContent-Disposition: form-data; name="mode"\r\n\r\nvalid_rows\r\n',
            b'--b0undary\r\nContent-Disposition: form-data; name="file"; filename="rows.csv"\r\n\r\n',
            "项目名称,征集批次\r\n".encode(),
            "试点,第九批\r\n".encode(),
            b"\r\n--b0undary--\r\n",
        ]
        if attachment:
            parts[0] = b'--b0undary\r\nContent-Disposition: form-data; name="kind"\r\n\r\nevidence\r\n'
        return parts, {"Content-Type": "multipart/form-data; boundary=b0undary"}
    if media == "application/x-www-form-urlencoded":
        return [b"username=a", b"&password=", b"b"], {"Content-Type": media}
    return [b'{"rows": [', b'{"title": "', "慢".encode() * 10, b'"}', b"]}"], {"Content-Type": "application/json"}


async def test_no_write_route_holds_the_gate_while_its_body_trickles_in(
    app: FastAPI, client: httpx.AsyncClient, owner: tuple[Actor, str]
) -> None:
    """Every POST/PUT/PATCH/DELETE of the OpenAPI document, its body sent in pieces: whenever the
    application waits for the next piece, no request holds the write gate."""
    actor, application_id = owner
    operations = _write_operations(app)
    assert ("POST", "/api/v1/bulk-uploads", "application/json") in operations
    awaited_client = []
    for method, path, media in operations:
        chunks, headers = _body(media, attachment=path.endswith("/attachments"))
        trickle = Trickle(chunks)
        path = path.replace("/applications/x1/", f"/applications/{application_id}/")
        await client.request(
            method, path, content=trickle.stream(app), headers={**actor.headers, **headers, "If-Match": "*"}
        )
        assert set(trickle.seen) <= {0}, f"{method} {path} held the write gate while awaiting its client"
        if trickle.seen:
            awaited_client.append(path)
    # The routes that read their bodies themselves were among those that awaited the client.
    assert "/api/v1/bulk-uploads" in awaited_client
    assert f"/api/v1/applications/{application_id}/attachments" in awaited_client


@pytest.mark.parametrize("media", ["application/json", "multipart/form-data"])
async def test_a_trickling_bulk_body_delays_no_one_elses_write(
    app: FastAPI, client: httpx.AsyncClient, media: str
) -> None:
    """One applicant's bulk upload paused mid-body: another user's write (creating an API key) completes
    meanwhile; then the upload completes too."""
    slow, other = (make_user(app, make_org(app), "applicant") for _ in range(2))
    pause = asyncio.Event()
    chunks, headers = _body(media)
    trickle = Trickle(chunks, pause)
    upload = asyncio.create_task(
        client.post("/api/v1/bulk-uploads", content=trickle.stream(app), headers={**slow.headers, **headers})
    )
    await asyncio.wait_for(trickle.waiting.wait(), HANG)
    created = await asyncio.wait_for(
        client.post("/api/v1/api-keys", json={"name": "另一个人"}, headers=other.headers), HANG
    )
    assert created.status_code == 201, created.text
    assert not upload.done()  # the upload still waits for its body: the other write went first
    pause.set()
    done = await asyncio.wait_for(upload, HANG)
    assert done.status_code == 202, done.text


async def test_verifying_a_receipt_takes_no_write_gate(app: FastAPI, client: httpx.AsyncClient) -> None:
    """POST /receipts/verify only reads: it answers while another request holds the write gate."""
    actor = make_user(app, make_org(app), "applicant")
    async with write_slot(app.state.database):
        response = await asyncio.wait_for(
            client.post("/api/v1/receipts/verify", json=_receipt(), headers=actor.headers), HANG
        )
    assert response.status_code in (200, 422), response.text


def _receipt() -> dict[str, Any]:
    return {"receipt_id": "rcp_x", "signature": {"alg": "Ed25519", "key_id": "k", "value": "AA=="}}


@pytest.mark.parametrize("path", ["/api/v1/me", "/api/v1/applications"])
async def test_a_read_records_key_use_without_waiting_for_the_write_lock(
    app: FastAPI, client: httpx.AsyncClient, path: str
) -> None:
    """A GET whose API key's use is due answers while another connection holds the database's write lock
    (SQLite) or the key's row (PostgreSQL); its use is recorded by a later read."""
    from app.accounts.models import ApiKey

    actor = make_user(app, make_org(app), "applicant")
    database = app.state.database
    holder = database.write_engine.connect()
    try:
        transaction = holder.begin()  # SQLite: BEGIN IMMEDIATE, the write lock
        holder.execute(sa.select(ApiKey.id).where(ApiKey.user_id == actor.user_id).with_for_update())
        response = await asyncio.wait_for(client.get(path, headers=actor.headers), HANG)
        assert response.status_code == 200, response.text
        transaction.rollback()
    finally:
        holder.close()
    with database.reader() as session:
        assert (
            session.execute(sa.select(ApiKey.last_used_at).where(ApiKey.user_id == actor.user_id)).scalar_one() is None
        )
    assert (await client.get(path, headers=actor.headers)).status_code == 200
    with database.reader() as session:
        used = session.execute(sa.select(ApiKey.last_used_at).where(ApiKey.user_id == actor.user_id)).scalar_one()
    assert used is not None
