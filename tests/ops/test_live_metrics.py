"""`smps serve --workers 2`: one scrape adds up both workers, and a killed worker's live gauges go."""

import asyncio
import os
import signal
import time
from pathlib import Path

import httpx
from prometheus_client.multiprocess import MultiProcessCollector

from tests.ops.scrape import request_count, value
from tests.races.live import LiveServer, Servers

TOKEN = "live-metrics-token-0123456789abcdef"
SCRAPER = {"Authorization": f"Bearer {TOKEN}"}


def per_worker_counts(directory: Path, route: str) -> dict[int, float]:
    """Requests to ``route`` as each worker's own file holds them."""
    counts: dict[int, float] = {}
    for path in directory.glob("histogram_*.db"):
        pid = int(path.stem.rsplit("_", 1)[1])
        total = 0.0
        for metric in MultiProcessCollector.merge([str(path)], accumulate=True):
            for sample in metric.samples:
                if sample.name.endswith("_count") and sample.labels.get("route") == route:
                    total += sample.value
        counts[pid] = total
    return counts


async def spread(url: str, n: int) -> None:
    """``n`` requests at once, each on a connection of its own, so both workers accept some."""

    async def one() -> None:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            assert (await http.get("/readyz")).status_code == 200

    await asyncio.gather(*(one() for _ in range(n)))


def wait_for_restart(server: LiveServer, workers: int) -> None:
    deadline = time.monotonic() + 60
    while server._workers_started() < workers and time.monotonic() < deadline:
        time.sleep(0.1)
    assert server._workers_started() >= workers, server.log_tail()


async def test_a_scrape_adds_up_both_workers(servers: Servers, tmp_path: Path) -> None:
    directory = tmp_path / "metrics"
    directory.mkdir()
    (directory / "counter_999999.db").write_bytes(b"left by an earlier start")
    server = servers.start(workers=2, command="smps", SMPS_METRICS_TOKEN=TOKEN, PROMETHEUS_MULTIPROC_DIR=str(directory))
    assert not (directory / "counter_999999.db").exists(), "an earlier start's files are cleared"

    sent = 0
    for _ in range(20):  # until the kernel has handed connections to both workers
        await spread(server.url, 20)
        sent += 20
        counts = per_worker_counts(directory, "/readyz")
        if len([c for c in counts.values() if c]) == 2:
            break
    assert len([c for c in counts.values() if c]) == 2, counts
    # A request is counted as its handling ends, just after its answer went out: the last may lag.
    deadline = time.monotonic() + 5
    while sum(counts.values()) < sent and time.monotonic() < deadline:
        time.sleep(0.05)
        counts = per_worker_counts(directory, "/readyz")
    assert sum(counts.values()) == sent

    with httpx.Client(base_url=server.url, headers=SCRAPER, timeout=30) as http:
        for _ in range(4):  # whichever worker answers, the totals are the same
            r = http.get("/metrics")
            assert r.status_code == 200, r.text
            assert request_count(r.text, "GET", "/readyz", 200) == sent
            assert value(r.text, "smps_http_requests_in_flight") == 1  # the scrape itself
        assert http.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 401

        # A worker killed outright: uvicorn starts another; its requests stay counted, its live gauges go.
        dead = next(iter(counts))
        assert (directory / f"gauge_livesum_{dead}.db").exists()
        os.kill(dead, signal.SIGKILL)
        wait_for_restart(server, 3)
        r = http.get("/metrics")
        assert r.status_code == 200
        assert request_count(r.text, "GET", "/readyz", 200) == sent
        assert not (directory / f"gauge_livesum_{dead}.db").exists()
        assert value(r.text, "smps_http_requests_in_flight") == 1
