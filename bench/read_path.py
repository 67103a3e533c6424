"""Read one application (API-key auth, ~10 KB) vs the framework serving the same bytes; lists at 100k vs 10k rows.

python -m bench.read_path [--postgres ADMIN_URL]
"""

import sys
import tempfile
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson
import sqlalchemy as sa

from app.accounts.models import User
from app.accounts.service import create_api_key
from app.applications.models import Application
from app.core.db import make_database
from app.core.ids import new_id
from app.core.security import hash_password
from app.core.settings import Settings
from bench.common import build_database, cpu_seconds, scratch_postgres, server, server_pid, temp_sqlite_url, wrk


def measure(base: str, url: str, headers: dict[str, str] | None, seconds: int) -> tuple[float, float]:
    """Requests/s, and the server's CPU milliseconds per request (steadier when the machine is busy)."""
    pid = server_pid(base)
    before = cpu_seconds(pid)
    rps = wrk(url, headers, seconds)
    return rps, (cpu_seconds(pid) - before) * 1000 / (rps * seconds)


def _applicant_key(url: str, application_id: str) -> str:
    """An API key of an applicant of the application's undertaking unit (who sees it as its own)."""
    database = make_database(Settings(database_url=url))
    now = datetime.now(UTC)
    with database.transaction() as session:
        org = session.execute(sa.select(Application.undertaking_org_id).where(Application.id == application_id))
        user = User(
            id=new_id("usr"),
            username="bench_applicant",
            display_name="申报人",
            organization_id=org.scalar_one(),
            roles=["applicant"],
            password_hash=hash_password("bench-password"),
            created_at=now,
            updated_at=now,
        )
        session.add(user)
        session.flush()
        _, key = create_api_key(session, user.id, "bench", now)
    database.dispose()
    return key


def read_one(seconds: int = 4, url: str | None = None, rounds: int = 3) -> dict:
    """``GET /applications/{id}`` as a reviewer and as an applicant (API keys), against two references
    serving the same bytes: the floor (an ``async def`` endpoint returning a pre-encoded ``Response``:
    the framework with no work) and a plain endpoint returning the dict (FastAPI encoding it).

    The three servers run side by side and are measured in turn, ``rounds`` times over: each figure is
    its best round, so a slower spell of the machine weighs on every figure alike, not on one."""
    url = url or temp_sqlite_url()
    info = build_database(url, 200)
    application_id = info["visible_application_id"]
    callers = {"reviewer": info["reviewer_key"], "applicant": _applicant_key(url, application_id)}
    # At the default log level, one JSON line per request into a file, as an operator runs it.
    log = Path(tempfile.mkdtemp(prefix="smps-bench-log-")) / "access.log"
    with ExitStack() as stack:
        base = stack.enter_context(server("app.asgi:app", {"SMPS_DATABASE_URL": url}, log=log))
        target = f"{base}/api/v1/applications/{application_id}"
        bodies = {}
        for caller, key in callers.items():
            response = httpx.get(target, headers={"Authorization": f"Bearer {key}"})
            assert response.status_code == 200, response.text
            bodies[caller] = response.content
        payload = {"SMPS_BENCH_PAYLOAD": orjson.loads(bodies["reviewer"]) and bodies["reviewer"].decode()}
        floor = stack.enter_context(server("bench.floor_app:app", payload))
        bare = stack.enter_context(server("bench.bare_app:app", payload))
        runs: dict[str, tuple[str, str, dict[str, str] | None]] = {
            "floor": (floor, f"{floor}/constant", None),
            **{c: (base, target, {"Authorization": f"Bearer {k}"}) for c, k in callers.items()},
            "dict": (bare, f"{bare}/constant", None),
        }
        best: dict[str, tuple[float, float]] = {}
        for _ in range(rounds):
            for name, run in runs.items():
                rps, cpu = measure(*run, seconds)
                kept = best.get(name, (0.0, float("inf")))
                best[name] = (max(kept[0], rps), min(kept[1], cpu))
    lines = sum(1 for _ in log.open("rb"))
    assert lines >= 0.9 * seconds * sum(best[c][0] for c in callers), "a line for every request"
    (floor_rps, floor_cpu), (dict_rps, dict_cpu) = best["floor"], best["dict"]
    result: dict = {
        "name": "read_one_application",
        "bytes": len(bodies["reviewer"]),
        "rounds": rounds,
        "access_log_lines": lines,
        "floor_rps": floor_rps,
        "floor_cpu_ms_per_request": round(floor_cpu, 3),
        "dict_rps": dict_rps,
        "dict_cpu_ms_per_request": round(dict_cpu, 3),
        "target": ">= 0.40 of the floor",
    }
    for caller in callers:
        rps, cpu = best[caller]
        result[caller] = {
            "rps": rps,
            "cpu_ms_per_request": round(cpu, 3),
            "ratio_to_floor": round(rps / floor_rps, 3),
            "cpu_ratio_to_floor": round(floor_cpu / cpu, 3),
            "ratio_to_dict": round(rps / dict_rps, 3),
            "cpu_ratio_to_dict": round(dict_cpu / cpu, 3),
        }
    result["ratio"] = min(result[c]["ratio_to_floor"] for c in callers)
    return result


LIST_FILTERS = {
    "state": "state=provincial_review",
    "q": "state=provincial_review&q=1",
    "domain": "state=provincial_review&domain=1.2",
}


def list_scaling(
    seconds: int = 4, small: int = 10_000, large: int = 100_000, postgres: str | None = None, rounds: int = 3
) -> dict:
    """Requests/s of a list page at ``large`` rows ÷ at ``small`` rows, for each filter of LIST_FILTERS;
    on SQLite, or with ``postgres`` (an admin URL) in scratch databases of that server.

    Both databases are served side by side and measured in turn, ``rounds`` times over, each figure its
    best round (as ``read_one``): a slower spell of the machine weighs on both sizes alike."""
    figures: dict[str, dict[int, float]] = {name: {} for name in LIST_FILTERS}
    with ExitStack() as stack:
        targets = {}
        for n in (small, large):
            url = stack.enter_context(scratch_postgres(postgres)) if postgres else temp_sqlite_url()
            targets[n] = _list_targets(stack, url, n)
        for _ in range(rounds):
            for name in LIST_FILTERS:
                for n, (base, headers) in targets.items():
                    rps = wrk(f"{base}&{LIST_FILTERS[name]}", headers, seconds)
                    figures[name][n] = max(figures[name].get(n, 0.0), rps)
    ratios = {name: round(f[large] / f[small], 3) for name, f in figures.items()}
    return {
        "name": "list_applications",
        "backend": "postgresql" if postgres else "sqlite",
        "rounds": rounds,
        "rps": {name: {str(n): rps for n, rps in f.items()} for name, f in figures.items()},
        "ratios": ratios,
        "ratio": min(ratios.values()),
        "target": ">= 0.8 for every filter",
    }


def _list_targets(stack: ExitStack, url: str, n: int) -> tuple[str, dict[str, str]]:
    """A database of ``n`` applications served: the reviewer's list URL (without its filter) and headers."""
    info = build_database(url, n)
    # As a database of that size stands, not just filled: on PostgreSQL analysed and not being vacuumed;
    # on SQLite with the fill's write-ahead log checkpointed into the database file.
    postgres = url.startswith("postgresql")
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql("VACUUM (ANALYZE)" if postgres else "PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    headers = {"Authorization": f"Bearer {info['reviewer_key']}"}
    base = stack.enter_context(server("app.asgi:app", {"SMPS_DATABASE_URL": url}))
    target = f"{base}/api/v1/applications?page_size=50&recommender_id={info['recommender_id']}"
    for name, query in LIST_FILTERS.items():
        assert httpx.get(f"{target}&{query}", headers=headers).json()["items"], name
    return target, headers


if __name__ == "__main__":
    # python -m bench.read_path [--postgres postgresql://user@host:port/postgres]
    results = {"sqlite": read_one()}
    if "--postgres" in sys.argv:
        with scratch_postgres(sys.argv[sys.argv.index("--postgres") + 1]) as pg_url:
            results["postgresql"] = read_one(url=pg_url)
    print(orjson.dumps(results, option=orjson.OPT_INDENT_2).decode())
