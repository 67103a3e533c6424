"""Deadlines on the wire of `smps serve`: trickling heads and bodies, idle and excess connections.

The server runs with short settings (2 s for the headers, 1 KiB per 2 s for a body, 1 s of keep-alive);
each slow client has a budget ten times longer and stops on its own, so a server without deadlines fails
the test (the budget runs out first) instead of hanging it. Meanwhile other clients are served.
"""

import threading

import httpx
import pytest

from bench.trickle import Trickled, closed_by_peer, idle_connections, trickle, trickling_body, trickling_headers
from tests.races.live import LiveServer, Servers

SHORT = {
    "SMPS_HEADER_TIMEOUT_SECONDS": "2",
    "SMPS_BODY_TIMEOUT_SECONDS": "2",
    "SMPS_BODY_MIN_BYTES": "1024",
    "SMPS_KEEP_ALIVE_SECONDS": "1",
}
BUDGET = 20.0  # ten times the deadlines: a server that never cuts the client runs this out


@pytest.fixture
def short_server(servers: Servers) -> LiveServer:
    return servers.start(workers=1, command="smps", **SHORT)


def assert_timed_out(result: Trickled) -> None:
    assert result.closed_by_server, "the server let the slow client run out its budget"
    answer = result.answer
    assert answer.status == 408, answer.raw[:500]
    assert answer.header("content-type") == "application/problem+json"
    assert answer.header("connection") == "close"
    assert answer.json()["code"] == "request_timeout"


def served_meanwhile(url: str, slow: threading.Thread) -> int:
    """Requests other clients got answered (200) while the slow client was connected."""
    answered = 0
    with httpx.Client(base_url=url, timeout=10) as http:
        while slow.is_alive() or answered == 0:
            assert http.get("/healthz").status_code == 200
            answered += 1
    return answered


def run_slow(target: object, *args: object) -> tuple[threading.Thread, list[Trickled]]:
    out: list[Trickled] = []
    thread = threading.Thread(target=lambda: out.append(target(*args)))  # type: ignore[operator]
    thread.start()
    return thread, out


def test_trickling_headers_get_408_while_others_are_served(short_server: LiveServer) -> None:
    head, drip = trickling_headers()
    thread, out = run_slow(trickle, short_server.url, head, drip, 0.2, BUDGET)
    assert served_meanwhile(short_server.url, thread) >= 1
    thread.join()
    assert_timed_out(out[0])


def test_trickling_body_gets_408_while_others_are_served(short_server: LiveServer) -> None:
    # The token endpoint reads anonymous bodies: a form that arrives at 5 bytes a second.
    head, drip = trickling_body("/api/v1/auth/token", "application/x-www-form-urlencoded", 4000)
    thread, out = run_slow(trickle, short_server.url, head, drip, 0.2, BUDGET)
    assert served_meanwhile(short_server.url, thread) >= 1
    thread.join()
    assert_timed_out(out[0])
    assert out[0].answer.json()["status"] == 408


def test_a_body_at_a_fair_rate_is_read_whole(short_server: LiveServer) -> None:
    """The minimum rate cuts trickles only: 4 KiB a second for three windows passes."""
    form = b"username=nobody&password=" + b"x" * (12 * 1024)

    def paced() -> object:
        for i in range(0, len(form), 4096):
            yield form[i : i + 4096]
            threading.Event().wait(1)

    response = httpx.post(
        f"{short_server.url}/api/v1/auth/token",
        content=paced(),  # type: ignore[arg-type]
        headers={"content-type": "application/x-www-form-urlencoded", "content-length": str(len(form))},
        timeout=BUDGET,
    )
    assert response.status_code == 401  # read to its end and judged: a wrong password


def test_silent_and_idle_kept_alive_connections_are_closed(short_server: LiveServer) -> None:
    (silent,) = idle_connections(short_server.url, 1)
    with silent:
        assert closed_by_peer(silent, BUDGET)  # nothing of a request came: closed without an answer
    (kept,) = idle_connections(short_server.url, 1)
    with kept:
        kept.sendall(b"GET /healthz HTTP/1.1\r\nHost: smps\r\n\r\n")
        kept.settimeout(BUDGET)
        assert kept.recv(65536).startswith(b"HTTP/1.1 200")
        assert closed_by_peer(kept, BUDGET)  # the keep-alive timeout ends it
        assert kept.recv(65536) == b""


def test_open_connections_are_bounded_per_process(servers: Servers) -> None:
    server = servers.start(workers=1, command="smps", SMPS_MAX_CONNECTIONS="20", SMPS_HEADER_TIMEOUT_SECONDS="60")
    held = idle_connections(server.url, 20)
    try:
        (extra,) = idle_connections(server.url, 1)
        with extra:
            extra.settimeout(BUDGET)
            answer = extra.recv(65536)
        assert answer.startswith(b"HTTP/1.1 503"), answer[:300]
        assert b'"code": "too_many_connections"' in answer
    finally:
        for sock in held:
            sock.close()
    # Once the held connections are gone, new ones are served again.
    with httpx.Client(base_url=server.url, timeout=10) as http:
        for _ in range(50):
            if (response := http.get("/healthz")).status_code == 200:
                break
        assert response.status_code == 200
