"""One JSON line per request: the fields operators search by, never a credential or form content."""

import asyncio
import io
import logging

import httpx
import orjson
import pytest
from fastapi import FastAPI

from app.core.settings import Settings
from app.main import create_app
from app.web.logging import GATHER_SECONDS, JsonLines
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
        handlers = logging.getLogger("smps").handlers
        for handler in handlers:
            handler.flush()  # the lines of the loop's current turn too
        self.err, self.stream = self.stream.getvalue(), io.StringIO()
        for handler in handlers:
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


async def test_lines_on_the_loop_go_out_together_and_warnings_at_once() -> None:
    stream = io.StringIO()
    handler = JsonLines(stream)
    logger = logging.getLogger("smps.test_gathering")
    logger.handlers[:], logger.propagate, logger.level = [handler], False, logging.INFO
    try:
        logger.info("first")
        logger.info("second")
        assert stream.getvalue() == ""  # gathered on the loop's thread
        await asyncio.sleep(GATHER_SECONDS * 2)
        assert [orjson.loads(t)["message"] for t in stream.getvalue().splitlines()] == ["first", "second"]
        logger.info("third")
        logger.warning("a warning")  # at once, after what was gathered
        assert [orjson.loads(t)["message"] for t in stream.getvalue().splitlines()][2:] == ["third", "a warning"]
        logger.info("fourth")
        await asyncio.to_thread(logger.info, "from a thread")  # no loop there: at once, after the gathered
        assert [orjson.loads(t)["message"] for t in stream.getvalue().splitlines()][4:] == ["fourth", "from a thread"]
        logger.info("fifth")
        handler.flush()
        assert orjson.loads(stream.getvalue().splitlines()[-1])["message"] == "fifth"
    finally:
        logger.handlers[:] = []


def test_a_line_gathered_on_a_loop_now_closed_goes_out_with_the_next_loop() -> None:
    stream = io.StringIO()
    handler = JsonLines(stream)

    async def write(line: str) -> None:
        handler.write_line(line)

    asyncio.run(write('{"n":1}'))  # its flush was due on a loop that is gone
    assert stream.getvalue() == ""

    async def write_and_wait(line: str) -> None:
        handler.write_line(line)
        await asyncio.sleep(GATHER_SECONDS * 2)

    asyncio.run(write_and_wait('{"n":2}'))
    assert stream.getvalue().splitlines() == ['{"n":1}', '{"n":2}']


async def test_request_lines_go_through_logging_when_it_is_set_up_otherwise(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    extra = Keep()
    access = logging.getLogger("smps.access")
    access.addHandler(extra)  # a second handler: the line is a record, for both
    try:
        assert (await client.get("/healthz")).status_code == 200
    finally:
        access.removeHandler(extra)
    (record,) = records
    assert record.levelno == logging.INFO and record.getMessage() == "request"
    assert record.__dict__["fields"]["route"] == "/healthz" and record.__dict__["fields"]["status"] == 200
