"""A client that goes away in the middle of its bulk body is a client disconnect, not a server error."""

import logging
from typing import Any

import pytest
from fastapi import FastAPI

from tests.factories import make_org, make_user


async def test_a_client_gone_mid_body_is_no_500_and_leaves_no_traceback(
    app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    """The body stops after its first piece with ``http.disconnect``: the request ends as interrupted
    (400, for whoever still listens), logged on one INFO line — no 500, no ERROR, no stack trace."""
    actor = make_user(app, make_org(app), "applicant")
    messages = iter(
        [
            {"type": "http.request", "body": b'{"rows": [{"title": "', "more_body": True},
            {"type": "http.disconnect"},
        ]
    )
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return next(messages)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/v1/bulk-uploads",
        "raw_path": b"/api/v1/bulk-uploads",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", b"application/json"),
            (b"authorization", f"Bearer {actor.api_key}".encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "app": app,
    }
    with caplog.at_level(logging.DEBUG, logger="smps"):
        await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    assert start["status"] == 400
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert any("disconnected" in r.getMessage() and r.levelno == logging.INFO for r in caplog.records)
