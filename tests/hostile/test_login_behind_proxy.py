"""`smps serve` believes X-Forwarded-For only from SMPS_TRUSTED_PROXIES (uvicorn's forwarded_allow_ips)."""

import httpx
from fastapi import FastAPI

from tests.factories import PASSWORD, make_org, make_user
from tests.races.live import Servers


def _login(url: str, username: str, password: str, forwarded_for: str) -> int:
    response = httpx.post(
        f"{url}/api/v1/auth/token",
        data={"username": username, "password": password},
        headers={"X-Forwarded-For": forwarded_for},
        timeout=30,
    )
    return response.status_code


def test_forwarded_for_is_believed_only_from_a_trusted_proxy(app: FastAPI, servers: Servers) -> None:
    user = make_user(app, make_org(app), "applicant")
    # This test's connections come from 127.0.0.1: a trusted proxy for the first server, not the second.
    behind = servers.start(workers=1, command="smps", SMPS_TRUSTED_PROXIES="127.0.0.1")
    assert [_login(behind.url, user.username, "wrong-password", "192.0.2.1") for _ in range(5)] == [401] * 5
    assert _login(behind.url, user.username, PASSWORD, "192.0.2.1") == 429
    assert _login(behind.url, user.username, PASSWORD, "192.0.2.2") == 200  # another client behind the proxy
    behind.stop()
    direct = servers.start(workers=1, command="smps")
    other = make_user(app, make_org(app), "applicant")
    assert [_login(direct.url, other.username, "wrong-password", f"192.0.2.{n}") for n in range(5)] == [401] * 5
    assert _login(direct.url, other.username, PASSWORD, "192.0.2.99") == 429  # the header changed nothing
