"""Concurrent writers never starve the thread pool (in process, with the pool cut down to one thread).

Regression: a request's dependencies, endpoint and response run in the shared thread pool one step
after another, and a transaction waiting for a lock waits inside a pool thread. With every thread so
waiting, the request holding the lock got none for its next step: on SQLite (lock taken when it
authenticates) the waiters failed after the 30 s busy timeout with 500 "database is locked" (seen with
50 concurrent submissions against uvicorn's 40 threads); on PostgreSQL (a row lock) they would wait for
ever. Requests beyond a limit now wait for their write transaction on the event loop, holding no thread.
"""

import asyncio

import anyio.to_thread
import httpx
from fastapi import FastAPI

from tests.applications.cast import Flow
from tests.factories import make_user
from tests.races.live import live_cast, one_winner


async def test_concurrent_reviews_with_a_single_pool_thread_one_wins(app: FastAPI, client: httpx.AsyncClient) -> None:
    cast = await live_cast(app, client)
    second_reviewer = make_user(app, cast.recommender, "reviewer")
    flow = Flow(client, cast)
    await flow.to_review()
    for reviewer in (cast.reviewer, second_reviewer):  # their keys' last use is recorded now, not in the race
        assert (await flow.get(reviewer)).status_code == 200
    etag = flow.etag

    async def recommend(i: int) -> httpx.Response:
        reviewer = cast.reviewer if i % 2 else second_reviewer
        return await client.post(
            f"/api/v1/applications/{flow.id}/reviews",
            json={"decision": "recommend"},
            headers={**reviewer.headers, "If-Match": etag},
        )

    limiter = anyio.to_thread.current_default_thread_limiter()
    tokens = limiter.total_tokens
    limiter.total_tokens = 1
    try:
        responses = await asyncio.wait_for(asyncio.gather(*(recommend(i) for i in range(12))), timeout=20)
    finally:
        limiter.total_tokens = tokens
    one_winner(list(responses), 201)
    history = (await client.get(f"/api/v1/applications/{flow.id}/transitions", headers=cast.reviewer.headers)).json()[
        "items"
    ]
    assert [t["action"] for t in history].count("recommend") == 1
