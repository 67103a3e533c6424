"""Read one application (API-key auth, ~10 KB) vs a bare FastAPI endpoint of the same size; lists at 100k vs 10k rows."""

import httpx
import orjson

from bench.common import build_database, cpu_seconds, server, server_pid, temp_sqlite_url, wrk


def measure(base: str, url: str, headers: dict[str, str] | None, seconds: int) -> tuple[float, float]:
    """Requests/s, and the server's CPU milliseconds per request (steadier when the machine is busy)."""
    pid = server_pid(base)
    before = cpu_seconds(pid)
    rps = wrk(url, headers, seconds)
    return rps, (cpu_seconds(pid) - before) * 1000 / (rps * seconds)


def read_one(seconds: int = 8) -> dict:
    url = temp_sqlite_url()
    info = build_database(url, 200)
    headers = {"Authorization": f"Bearer {info['reviewer_key']}"}
    with server("app.asgi:app", {"SMPS_DATABASE_URL": url}) as base:
        target = f"{base}/api/v1/applications/{info['visible_application_id']}"
        body = httpx.get(target, headers=headers).content
        app_rps, app_cpu = measure(base, target, headers, seconds)
    with server("bench.bare_app:app", {"SMPS_BENCH_PAYLOAD": orjson.loads(body) and body.decode()}) as base:
        bare_rps, bare_cpu = measure(base, f"{base}/constant", None, seconds)
    return {
        "name": "read_one_application",
        "bytes": len(body),
        "app_rps": app_rps,
        "bare_rps": bare_rps,
        "ratio": round(app_rps / bare_rps, 3),
        "target": ">= 0.5",
        "app_cpu_ms_per_request": round(app_cpu, 3),
        "bare_cpu_ms_per_request": round(bare_cpu, 3),
        "cpu_ratio": round(bare_cpu / app_cpu, 3),
    }


def list_scaling(seconds: int = 8, small: int = 10_000, large: int = 100_000) -> dict:
    figures = {}
    for n in (small, large):
        url = temp_sqlite_url()
        info = build_database(url, n)
        headers = {"Authorization": f"Bearer {info['reviewer_key']}"}
        with server("app.asgi:app", {"SMPS_DATABASE_URL": url}) as base:
            target = f"{base}/api/v1/applications?page_size=50&recommender_id={info['recommender_id']}&state=provincial_review"
            assert len(httpx.get(target, headers=headers).json()["items"]) == 50
            figures[n] = wrk(target, headers, seconds)
    return {
        "name": "list_applications",
        f"rps_{small}": figures[small],
        f"rps_{large}": figures[large],
        "ratio": round(figures[large] / figures[small], 3),
        "target": ">= 0.8",
    }


if __name__ == "__main__":
    print(orjson.dumps(read_one(), option=orjson.OPT_INDENT_2).decode())
