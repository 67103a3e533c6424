"""Two users in one browser profile read the same application through Chromium's HTTP cache: each sees
their own `allowed_actions`. Chromium revalidates a cached response whose `Vary: Authorization` does not
match with the tag it kept (another user's); that tag names the other user's representation, so the
server answers 200 with this user's body, never 304.

Debian's chromium (`/usr/bin/chromium`, installed by .ci/run), driven with the Python playwright package
over its own executable: no browser download. What was sent and answered on the wire is read from the
DevTools protocol (the conditional headers the cache adds, and the raw status before the cache hides a
304)."""

import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from playwright.async_api import async_playwright

from app.core.settings import Settings
from tests.applications.cast import Flow, make_cast
from tests.races.live import LiveServer

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

FETCH = """async ([url, key]) => {
  const r = await fetch(url, {headers: {Authorization: `Bearer ${key}`}});
  return {status: r.status, etag: r.headers.get("ETag"), body: await r.json()};
}"""


class Wire:
    """The requests to one URL as the network saw them, by DevTools request id."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.sent: dict[str, dict[str, str]] = {}
        self.status: dict[str, int] = {}
        self.order: list[str] = []

    def request(self, event: dict[str, Any]) -> None:
        if event["request"]["url"] == self.url:
            self.order.append(event["requestId"])

    def headers(self, event: dict[str, Any]) -> None:
        self.sent[event["requestId"]] = {k.lower(): v for k, v in event["headers"].items()}

    def response(self, event: dict[str, Any]) -> None:
        self.status[event["requestId"]] = event["statusCode"]

    def last(self) -> tuple[dict[str, str], int]:
        request_id = self.order[-1]
        return self.sent.get(request_id, {}), self.status[request_id]


@pytest.fixture
def server(settings: Settings, tmp_path: Path):  # type: ignore[no-untyped-def]
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is needed (.ci/run installs it)")
    live = LiveServer(settings, tmp_path / "server.log")
    yield live
    live.stop()


async def test_no_user_is_shown_another_users_cached_actions(
    app: FastAPI, client: httpx.AsyncClient, server: LiveServer
) -> None:
    cast = await make_cast(app, client)
    flow = Flow(client, cast)
    await flow.create()
    await flow.attach_scan()
    assert (await flow.act("submit")).status_code == 200  # now the signatories see it too
    server.start()
    url = f"{server.url}/api/v1/applications/{flow.id}"
    applicant, signatory = cast.applicant.api_key, cast.undertaking_signatory.api_key

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            context = await browser.new_context()  # one profile, one HTTP cache
            page = await context.new_page()
            await page.goto(f"{server.url}/healthz")  # same origin as the API: no CORS in the way
            wire = Wire(url)
            devtools = await context.new_cdp_session(page)
            devtools.on("Network.requestWillBeSent", wire.request)
            devtools.on("Network.requestWillBeSentExtraInfo", wire.headers)
            devtools.on("Network.responseReceivedExtraInfo", wire.response)
            await devtools.send("Network.enable")

            async def read(key: str) -> tuple[dict[str, Any], dict[str, str], int]:
                seen = await page.evaluate(FETCH, [url, key])
                await page.wait_for_timeout(200)  # the DevTools events of the request arrive
                sent, status = wire.last()
                return seen, sent, status

            mine, _, status = await read(applicant)
            assert mine["status"] == 200 and status == 200
            # Read again: the cache revalidates with the tag it kept, and the server says 304: the cache is at work.
            again, sent, status = await read(applicant)
            assert sent.get("if-none-match") == mine["etag"] and status == 304
            assert again["body"] == mine["body"]

            theirs, sent, status = await read(signatory)
            assert theirs["body"]["allowed_actions"] != mine["body"]["allowed_actions"]  # two representations
            assert theirs["etag"] != mine["etag"]
            assert status == 200, "a revalidation with another user's tag must not be answered 304"
            direct = httpx.get(url, headers={"Authorization": f"Bearer {signatory}"})
            assert theirs["body"] == direct.json()  # what the signatory is shown is the signatory's own

            back, sent, status = await read(applicant)
            assert status == 200 and back["body"] == mine["body"]  # and the applicant gets theirs back
        finally:
            await browser.close()
