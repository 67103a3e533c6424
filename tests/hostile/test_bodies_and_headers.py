"""Oversized bodies and headers against `smps serve`: refused before they are read, memory flat.

The payloads come from generators and go out through a raw socket that stops sending once the server
answers (bench/hostile.py), so the tests stay small and bounded in time whatever the server does.
"""

import httpx

from bench.hostile import Answer, MiB, huge_header, json_body_chunked, json_body_declared, measure
from tests.races.live import LiveServer

SIZE = 200 * MiB
MAX_GROWTH_MIB = 64


def pid_of(server: LiveServer) -> int:
    """With one worker `smps serve` serves in its own process (no supervisor)."""
    assert server.process is not None
    return server.process.pid


def assert_problem(answer: Answer, status: int, code: str) -> None:
    assert answer.status == status, answer.raw[:500]
    assert answer.header("content-type") == "application/problem+json"
    assert answer.json()["code"] == code


def test_anonymous_200_mib_json_body_is_refused_before_it_is_read(smps_server: LiveServer) -> None:
    answer, growth = measure(smps_server.url, pid_of(smps_server), json_body_declared(SIZE), timeout=60)
    assert_problem(answer, 413, "payload_too_large")
    assert answer.header("connection") == "close"
    assert answer.sent_bytes < SIZE  # answered while the body was still coming
    assert growth < MAX_GROWTH_MIB


def test_anonymous_200_mib_chunked_json_body_is_cut_at_the_limit(smps_server: LiveServer) -> None:
    answer, growth = measure(smps_server.url, pid_of(smps_server), json_body_chunked(SIZE), timeout=60)
    assert_problem(answer, 413, "payload_too_large")
    assert answer.sent_bytes < SIZE
    assert growth < MAX_GROWTH_MIB


def test_64_mib_header_is_refused_or_the_connection_closed(smps_server: LiveServer) -> None:
    answer, growth = measure(smps_server.url, pid_of(smps_server), huge_header(64 * MiB), timeout=60)
    assert answer.status in (431, None), answer.raw[:500]  # never a parsed request
    if answer.status == 431:
        assert_problem(answer, 431, "headers_too_large")
    assert answer.sent_bytes < 64 * MiB
    assert growth < MAX_GROWTH_MIB
    # The server goes on serving.
    assert httpx.get(f"{smps_server.url}/healthz", timeout=10).status_code == 200


def test_headers_under_the_cap_pass_on_one_kept_alive_connection(smps_server: LiveServer) -> None:
    """The cap counts one header section at a time: several large (legal) ones in a row all pass."""
    with httpx.Client(base_url=smps_server.url, timeout=10) as http:
        for size in (40 * 1024, 40 * 1024, 60 * 1024):
            assert http.get("/healthz", headers={"X-Padding": "a" * size}).status_code == 200
        too_big = http.get("/healthz", headers={"X-Padding": "a" * (65 * 1024)})
    assert too_big.status_code == 431 and too_big.json()["code"] == "headers_too_large"
