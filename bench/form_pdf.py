"""A frozen application's form.pdf once rendered (served from the blob store) vs its JSON read, side by side."""

import tempfile

import httpx
import orjson
import sqlalchemy as sa

from app.applications.models import Application
from app.core.db import make_database
from app.core.settings import Settings
from bench.common import build_database, server, temp_sqlite_url, wrk
from bench.read_path import measure


def run(seconds: int = 8) -> dict:
    url = temp_sqlite_url()
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
        json_rps, json_cpu = measure(base, json_url, headers, seconds)
        pdf_rps, pdf_cpu = measure(base, pdf_url, headers, seconds)
        conditional_rps = wrk(pdf_url, {**headers, "If-None-Match": first.headers["etag"]}, seconds)
    return {
        "name": "form_pdf_stored",
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
    print(orjson.dumps(run(), option=orjson.OPT_INDENT_2).decode())
