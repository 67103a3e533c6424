"""`smps serve --workers 1` (the default): the one process that serves counts its requests where `/metrics` reads.

uvicorn serves a single worker in the process that set up the metrics directory; the requests it
answers must reach the scrape as those of several workers do.
"""

import httpx

from tests.ops.scrape import request_count
from tests.races.live import Servers

TOKEN = "live-metrics-token-0123456789abcdef"


async def test_a_single_worker_scrape_counts_its_requests(servers: Servers) -> None:
    server = servers.start(workers=1, command="smps", SMPS_METRICS_TOKEN=TOKEN)
    with httpx.Client(base_url=server.url, timeout=30) as http:
        for _ in range(7):
            assert http.get("/readyz").status_code == 200
        r = http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200, r.text
    assert request_count(r.text, "GET", "/readyz", 200) == 7
