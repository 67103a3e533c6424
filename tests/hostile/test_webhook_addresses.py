"""Webhook addresses that lead back inside, refused by a real `smps serve` (no allowed hosts set).

Names are resolved by the server's own resolver, which this process cannot stub; address literals need
no resolver, and the stubbed-resolver cases (DNS rebinding among them) are in
tests/events/test_webhook_addresses.py.
"""

import httpx
from fastapi import FastAPI

from tests.factories import make_org, make_user
from tests.races.live import LiveServer
from tests.store import fingerprint

HOSTILE_URLS = [
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]:8000/",
    "http://[64:ff9b::7f00:1]/",
    "http://[64:ff9b::a9fe:a9fe]/latest/meta-data",
    "http://[64:ff9b:1::a00:1]/",
    "http://[2002:7f00:1::]/",
    "http://[2002:a9fe:a9fe::1]/",
    "http://[::127.0.0.1]/",
    "http://[::ffff:0:7f00:1]/",
    "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",
    "http://[fe80::1]/",
    "http://[fd00::1]/",
    "http://[::]/",
    "http://127.1/",
    "http://0x7f000001/",
    "http://2130706433/",
    "http://0177.0.0.1/",
    "http://169.254.169.254/",
    "http://localhost:8000/",
    "https://[::1]:443/",
]


def test_hostile_webhook_addresses_are_refused_by_the_server(app: FastAPI, smps_server: LiveServer) -> None:
    user = make_user(app, make_org(app), "applicant")
    before = fingerprint(app)
    answered = {}
    with httpx.Client(base_url=smps_server.url, headers=user.headers, timeout=30) as http:
        for url in HOSTILE_URLS:
            response = http.post("/api/v1/webhooks", json={"url": url, "event_types": ["*"]})
            assert response.headers["content-type"] == "application/problem+json", (url, response.text)
            errors = response.json().get("errors") or [{}]
            answered[url] = (response.status_code, errors[0].get("pointer"), errors[0].get("code"))
    assert answered == {url: (422, "/url", "address_not_allowed") for url in HOSTILE_URLS}
    assert fingerprint(app) == before
    listed = httpx.get(f"{smps_server.url}/api/v1/webhooks", headers=user.headers, timeout=30)
    assert listed.status_code == 200 and listed.json()["items"] == []
