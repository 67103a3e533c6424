"""A frozen application's form.pdf once rendered (served from the blob store) vs its JSON read, side by side.

python -m bench.form_pdf [--postgres ADMIN_URL]
"""

import sys
import tempfile

import httpx
import orjson
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from app.applications.models import Application
from app.core.db import make_database
from app.core.settings import Settings
from bench.common import build_database, scratch_postgres, server, temp_sqlite_url, wrk
from bench.read_path import measure


def run(seconds: int = 4, url: str | None = None, rounds: int = 3) -> dict:
    """The stored form.pdf's req/s ÷ the JSON read's, measured in turn ``rounds`` times, each its best."""
    url = url or temp_sqlite_url()
    info = build_database(url, 200)
    app_id = info["visible_application_id"]
    database = make_database(Settings(database_url=url))
    with database.transaction() as session:  # frozen as at submission: the form cannot change any more
        session.execute(sa.update(Application).where(Application.id == app_id).values(content_digest="ab" * 32))
    database.dispose()
    headers = {"Authorization": f"Bearer {info['reviewer_key']}"}
    env = {"SMPS_DATABASE_URL": url, "SMPS_STORAGE_DIR": tempfile.mkdtemp(prefix="smps-bench-files-")}
    with server("app.asgi:app", env) as base:
        json_url, pdf_url = f"{base}/api/v1/applications/{app_id}", f"{base}/api/v1/applications/{app_id}/form.pdf"
        first = httpx.get(pdf_url, headers=headers, timeout=120)
        assert first.status_code == 200 and first.content.startswith(b"%PDF"), first.text[:300]
        best = {"json": (0.0, float("inf")), "pdf": (0.0, float("inf"))}
        for _ in range(rounds):
            for name, target in (("json", json_url), ("pdf", pdf_url)):
                rps, cpu = measure(base, target, headers, seconds)
                best[name] = (max(best[name][0], rps), min(best[name][1], cpu))
        conditional_rps = wrk(pdf_url, {**headers, "If-None-Match": first.headers["etag"]}, seconds)
    (json_rps, json_cpu), (pdf_rps, pdf_cpu) = best["json"], best["pdf"]
    return {
        "name": "form_pdf_stored",
        "backend": make_url(url).get_backend_name(),
        "rounds": rounds,
        "pdf_bytes": len(first.content),
        "json_rps": json_rps,
        "pdf_rps": pdf_rps,
        "ratio": round(pdf_rps / json_rps, 3),
        "target": ">= 0.5",
        "conditional_304_rps": conditional_rps,
        "json_cpu_ms_per_request": round(json_cpu, 3),
        "pdf_cpu_ms_per_request": round(pdf_cpu, 3),
    }


if __name__ == "__main__":
    # python -m bench.form_pdf [--postgres postgresql://user@host:port/postgres]
    results = [run()]
    if "--postgres" in sys.argv:
        with scratch_postgres(sys.argv[sys.argv.index("--postgres") + 1]) as pg_url:
            results.append(run(url=pg_url))
    print(orjson.dumps(results, option=orjson.OPT_INDENT_2).decode())
