"""One JSON line per request: the fields operators search by, never a credential or form content."""

import io
import logging

import httpx
import orjson
import pytest
from fastapi import FastAPI

from app.core.settings import Settings
from app.main import create_app
from tests.applications.cast import Flow, make_cast
from tests.conftest import FakeClock

FIELDS = {"time", "level", "logger", "message", "request_id", "method", "route", "status", "duration_ms", "user_id"}


@pytest.fixture
def app(settings: Settings, clock: FakeClock):  # type: ignore[no-untyped-def]
    application = create_app(settings.model_copy(update={"log_level": "info"}), clock=clock)
    yield application
    application.state.database.dispose()


class Written:
    """What the service's JSON handler writes, captured (the handler's stream is fixed when the app starts)."""

    def __init__(self) -> None:
        self.stream = io.StringIO()

    def readouterr(self) -> "Written":
        self.err, self.stream = self.stream.getvalue(), io.StringIO()
        for handler in logging.getLogger("smps").handlers:
            if isinstance(handler, logging.StreamHandler):
                handler.setStream(self.stream)
        return self


@pytest.fixture
def capsys(app: FastAPI) -> Written:  # after the app: it installs the handler
    written = Written()
    written.readouterr()
    return written


def access_lines(capsys: Written) -> list[dict]:
    return [
        line
        for line in (orjson.loads(text) for text in capsys.readouterr().err.splitlines() if text.startswith("{"))
        if line.get("logger") == "smps.access"
    ]


async def test_a_request_logs_one_line_with_its_route_status_and_user(
    app: FastAPI, client: httpx.AsyncClient, capsys: Written
) -> None:
    cast = await make_cast(app, client)
    flow = Flow(client, cast)
    await flow.create()
    capsys.readouterr()
    r = await client.get(
        f"/api/v1/applications/{flow.id}", headers={**cast.applicant.headers, "X-Request-ID": "req-0001-abcd"}
    )
    assert r.status_code == 200
    (line,) = access_lines(capsys)
    assert set(line) == FIELDS
    assert line["method"] == "GET"
    assert line["route"] == "/api/v1/applications/{application_id}"
    assert line["status"] == 200
    assert line["request_id"] == "req-0001-abcd" == r.headers["x-request-id"]
    assert line["user_id"] == cast.applicant.user_id
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert line["level"] == "INFO"


async def test_no_credential_or_form_content_reaches_the_log(
    app: FastAPI, client: httpx.AsyncClient, capsys: Written
) -> None:
    cast = await make_cast(app, client)
    capsys.readouterr()
    form = cast.form(title="机密标题-不应出现在日志里")
    r = await client.post(
        "/api/v1/applications?secret_query=q-should-not-appear", json=form, headers=cast.applicant.headers
    )
    assert r.status_code == 201
    r = await client.post(
        "/api/v1/auth/token", data={"username": cast.applicant.username, "password": "password-should-not-appear"}
    )
    assert r.status_code in (200, 401)
    bad = await client.get("/api/v1/me", headers={"Authorization": "Bearer smps_not-a-real-key-should-not-appear"})
    assert bad.status_code == 401
    text = capsys.readouterr().err
    lines = [orjson.loads(t) for t in text.splitlines() if t.startswith("{")]
    assert [(x["method"], x["route"], x["status"]) for x in lines if x["logger"] == "smps.access"] == [
        ("POST", "/api/v1/applications", 201),
        ("POST", "/api/v1/auth/token", r.status_code),
        ("GET", "/api/v1/me", 401),
    ]
    for secret in (
        cast.applicant.api_key,
        "Bearer",
        "password-should-not-appear",
        "smps_not-a-real-key-should-not-appear",
        "机密标题",
        "q-should-not-appear",
    ):
        assert secret not in text


async def test_the_level_setting_silences_request_lines(settings: Settings, clock: FakeClock) -> None:
    application = create_app(settings.model_copy(update={"log_level": "warning"}), clock=clock)
    capsys = Written().readouterr()
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://t") as client:
            assert (await client.get("/healthz")).status_code == 200
        assert access_lines(capsys) == []
        assert logging.getLogger("smps").level == logging.WARNING
    finally:
        application.state.database.dispose()
