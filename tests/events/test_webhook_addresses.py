"""Webhook targets: one resolution, every address checked, the connection pinned to a checked address.

The resolver is a stub (``app.events.addresses.resolve``), so names answer what each test needs,
DNS rebinding included; connections are recorded as the backend opens them.
"""

import ipaddress
from datetime import UTC, datetime, timedelta

import httpcore
import httpx
import pytest
from fastapi import FastAPI

from app.core.settings import Settings
from app.events import addresses
from app.events.addresses import IPAddress, PinnedBackend, PinnedTransport, is_public
from app.worker import Worker
from tests.conftest import Actor
from tests.events.conftest import emit
from tests.factories import make_org, make_user

HOSTILE = [
    "127.0.0.1",
    "10.0.0.1",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "0.0.0.0",
    "224.0.0.1",
    "255.255.255.255",
    "::1",
    "::",
    "fe80::1",
    "fc00::1",
    "fd12:3456::1",
    "ff02::1",
    "2001:db8::1",
    "100::1",
    "::ffff:127.0.0.1",
    "::ffff:8.8.8.8",  # IPv4-mapped (any)
    "::127.0.0.1",
    "::10.0.0.1",  # IPv4-compatible
    "::ffff:0:7f00:1",  # IPv4-translated
    "64:ff9b::7f00:1",
    "64:ff9b::a9fe:a9fe",  # NAT64 to loopback, to the metadata address
    "64:ff9b:1::7f00:1",  # NAT64, local use
    "2002:7f00:1::",
    "2002:a00:1::1",
    "2002:808:808::1",  # 6to4
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
    "2606:4700:10::5efe:a00:1",
    "2606:4700:10::200:5efe:7f00:1",  # ISATAP ids carrying private IPv4
]
PUBLIC = ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "2a00:1450:4001:80b::200e", "2606:4700:10::5efe:808:808"]


@pytest.mark.parametrize("address", HOSTILE)
def test_hostile_addresses_are_not_public(address: str) -> None:
    assert not is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are(address: str) -> None:
    assert is_public(ipaddress.ip_address(address))


@pytest.fixture
def resolver(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[list[str]]]:
    """Names → the answers the stub gives, one list per lookup (the last one repeats)."""
    answers: dict[str, list[list[str]]] = {}

    def resolve(host: str, port: int) -> list[IPAddress]:
        if host not in answers:
            raise OSError("no such name")
        queue = answers[host]
        current = queue.pop(0) if len(queue) > 1 else queue[0]
        return [ipaddress.ip_address(a) for a in current]

    monkeypatch.setattr(addresses, "resolve", resolve)
    return answers


def _body(url: str) -> dict:
    return {"url": url, "event_types": ["*"]}


@pytest.mark.parametrize(
    ("answers", "code"),
    [
        ([["93.184.216.34", "127.0.0.1"]], "address_not_allowed"),  # one bad answer spoils the name
        ([["2606:4700::1", "64:ff9b::a00:1"]], "address_not_allowed"),
        ([["::ffff:169.254.169.254"]], "address_not_allowed"),
        ([[]], "unresolvable_host"),
    ],
)
async def test_a_name_is_refused_when_any_of_its_addresses_is(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, resolver: dict, answers: list, code: str
) -> None:
    settings.webhook_allowed_hosts = ""
    resolver["hooks.example"] = answers
    user = make_user(app, make_org(app), "applicant")
    response = await client.post("/api/v1/webhooks", json=_body("https://hooks.example/in"), headers=user.headers)
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert (error["pointer"], error["code"]) == ("/url", code)
    unknown = await client.post("/api/v1/webhooks", json=_body("https://nowhere.example/in"), headers=user.headers)
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["code"] == "unresolvable_host"


class Recorder:
    """The backend's connect, recorded; reaches only ``reachable`` addresses (the test's receiver)."""

    def __init__(self, reachable: set[str]) -> None:
        self.connected: list[str] = []
        self.reachable = reachable

    def __call__(self, host: str, port: int, *args: object) -> httpcore.NetworkStream:
        self.connected.append(host)
        if host not in self.reachable:
            raise httpcore.ConnectError(f"unreachable in tests: {host}")
        return httpcore.SyncBackend().connect_tcp(host, port, *args)  # type: ignore[arg-type]


async def _subscribe(app: FastAPI, client: httpx.AsyncClient, url: str) -> tuple[str, Actor, httpx.Response]:
    """A unit, its applicant, and that applicant's webhook to ``url``."""
    unit = make_org(app)
    owner = make_user(app, unit, "applicant")
    created = await client.post("/api/v1/webhooks", json=_body(url), headers=owner.headers)
    assert created.status_code == 201, created.text
    return unit, owner, created


def _worker(app: FastAPI, settings: Settings, recorder: Recorder) -> Worker:
    backend = PinnedBackend(lambda: settings.webhook_allowed_hosts, connect=recorder)
    return Worker(app.state.database, settings, client=httpx.Client(transport=PinnedTransport(backend), timeout=10))


async def test_dns_rebinding_never_reaches_loopback(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, resolver: dict, receiver_factory
) -> None:  # type: ignore[no-untyped-def]
    """A name public when checked and 127.0.0.1 on the next lookup: nothing ever connects to 127.0.0.1."""
    receiver = receiver_factory()
    port = receiver.server.server_address[1]
    settings.webhook_allowed_hosts = ""
    # Subscription, first delivery, then every later lookup.
    resolver["rebind.example"] = [["93.184.216.34"], ["93.184.216.34"], ["127.0.0.1"]]
    unit, owner, created = await _subscribe(app, client, f"http://rebind.example:{port}/hook")
    emit(app, "organization.updated", unit, organization_id=unit)
    recorder = Recorder(reachable={"127.0.0.1"})  # a request would arrive, were 127.0.0.1 connected
    worker = _worker(app, settings, recorder)
    t0 = datetime.now(UTC)
    try:
        assert worker.run_once(t0).succeeded == 0
        # The first attempt's one lookup said public: the socket went there, to the address checked.
        assert recorder.connected == ["93.184.216.34"]
        assert worker.run_once(t0 + timedelta(seconds=5)).attempted == 1
    finally:
        worker.close()
    assert recorder.connected == ["93.184.216.34"] and receiver.requests == []
    [delivery] = (
        await client.get(f"/api/v1/webhooks/{created.json()['id']}/deliveries", headers=owner.headers)
    ).json()["items"]
    assert [a["error"] for a in delivery["attempts"]] == ["not_delivered", "address_not_allowed"]


async def test_the_connection_goes_to_the_checked_address_with_the_name_as_host(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, resolver: dict, receiver_factory
) -> None:  # type: ignore[no-untyped-def]
    receiver = receiver_factory()
    port = receiver.server.server_address[1]
    settings.webhook_allowed_hosts = "127.0.0.0/8"
    # Resolved once per connection: a second, different answer is never used for this one.
    resolver["pinned.example"] = [["127.0.0.1"], ["127.0.0.2"]]
    unit, owner, created = await _subscribe(app, client, f"http://pinned.example:{port}/hook")
    resolver["pinned.example"] = [["127.0.0.1"], ["127.0.0.2"]]
    emit(app, "organization.updated", unit, organization_id=unit)
    recorder = Recorder(reachable={"127.0.0.1"})
    worker = _worker(app, settings, recorder)
    try:
        assert worker.run_once(datetime.now(UTC)).succeeded == 1
    finally:
        worker.close()
    assert recorder.connected == ["127.0.0.1"]
    [(headers, _)] = receiver.requests
    assert headers["host"] == f"pinned.example:{port}"


async def test_the_next_checked_address_is_tried_when_one_fails(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, resolver: dict, receiver_factory
) -> None:  # type: ignore[no-untyped-def]
    receiver = receiver_factory()
    port = receiver.server.server_address[1]
    settings.webhook_allowed_hosts = "127.0.0.0/8, 93.184.216.34"
    resolver["two.example"] = [["93.184.216.34", "127.0.0.1"]]
    unit, owner, created = await _subscribe(app, client, f"http://two.example:{port}/hook")
    emit(app, "organization.updated", unit, organization_id=unit)
    recorder = Recorder(reachable={"127.0.0.1"})
    worker = _worker(app, settings, recorder)
    try:
        assert worker.run_once(datetime.now(UTC)).succeeded == 1
    finally:
        worker.close()
    assert recorder.connected == ["93.184.216.34", "127.0.0.1"] and len(receiver.requests) == 1


async def test_the_default_worker_client_is_pinned(app: FastAPI, settings: Settings) -> None:
    worker = Worker(app.state.database, settings)
    try:
        pool = worker.webhooks.client._transport._pool  # type: ignore[attr-defined]
        assert isinstance(pool._network_backend, PinnedBackend)
    finally:
        worker.close()
