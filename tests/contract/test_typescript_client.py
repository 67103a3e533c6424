"""A TypeScript client on the committed document, as a frontend team would build it: types from
openapi-typescript, calls with openapi-fetch, `tsc --strict` clean with no casts and no `any`
(contract/ts/). Its compile-time probes show the types catch a mistyped decision, state or action and a
missing If-Match; its program walks the main flow against a live server loaded with the demo data, uploading files through
openapi-fetch like any other body (contract/generate-types.mjs types binary parts as Blob)."""

import json
import os
import re
from pathlib import Path

import pytest

from app.core.event_types import EVENT_TYPES
from app.core.settings import Settings
from app.demo import create_demo
from tests.attachments import files
from tests.contract.consumer_tools import CONTRACT_DIR, DOCUMENT, npx
from tests.races.live import LiveServer

# The consumers' tools judge the document, not the database: this runs once, in the SQLite pass.
pytestmark = pytest.mark.backend_independent

TS_DIR = CONTRACT_DIR / "ts"
SOURCES = sorted(TS_DIR.glob("*.ts"))
PROBES = 36


@pytest.fixture(scope="module")
def compiled() -> None:
    generated = npx("node", "generate-types.mjs", str(DOCUMENT), str(TS_DIR / "schema.d.ts"))
    assert generated.returncode == 0, generated.stdout + generated.stderr
    check = npx("tsc", "--strict", "--noEmit", "-p", str(TS_DIR))
    assert check.returncode == 0, check.stdout + check.stderr
    emit = npx("tsc", "-p", str(TS_DIR))
    assert emit.returncode == 0, emit.stdout + emit.stderr


def test_the_client_has_no_casts_and_no_any() -> None:
    written = [p for p in SOURCES if not p.name.endswith(".d.ts")]
    assert {p.name for p in written} == {"walk.ts", "probes.ts"}
    for path in written:
        code = re.sub(r"//.*", "", path.read_text())  # comments may say anything
        assert not re.search(r"\bany\b", code), path.name
        assert not re.search(r"\bas\s+(const|unknown|[A-Z{\[(])", code), path.name  # `x as T`
        assert not re.search(r"\)!|\w!\.", code), path.name  # non-null assertions


def test_the_probes_catch_what_they_say(compiled: None) -> None:
    # tsc passed, so every `@ts-expect-error` met an error (an unused one fails the compilation).
    probes = (TS_DIR / "probes.ts").read_text()
    assert probes.count("// @ts-expect-error") == PROBES
    for mistake in (
        '"recommended"',
        '"approved"',
        '"agreed"',
        '"provincial-review"',
        '"sumbit"',
        '"aprove"',
        "If-Match header is required",
        "If-Match header is required to upload an attachment",
        '"basic_situaton"',
        '"name" is not a member of an application row',
        "a tracking number alone is not a receipt",
        # what the service answers: each closed vocabulary of a response
        '"agreed"',
        '"offline"',
        '"verified"',
        '"in_review"',
        '"PDF"',
        '"application/x-pdf"',
        '"apikey"',
        '"approver"',
        '"not_allowed"',
        '"bad_signature"',
        '"acknowledged"',
        '"xls"',
        '"Bearer"',
        'event.subject_type === "batch"',
        '"member"',
        "the file part is the file's content",
    ):
        assert mistake in probes


def test_a_page_with_an_unknown_event_type_type_checks(compiled: None) -> None:
    # tsc passed on `tolerates`: an EventPage holding a type this document does not list is still an
    # EventPage (an `UnknownEvent`), and a known type still narrows to its own data.
    probes = (TS_DIR / "probes.ts").read_text()
    assert "export function tolerates(" in probes and 'type: "application.archived"' in probes
    assert "application.archived" not in EVENT_TYPES


def test_the_client_walks_the_flow(compiled: None, settings: Settings, tmp_path: Path) -> None:
    demo = tmp_path / "demo.json"
    demo.write_text(json.dumps(create_demo(settings)))
    scan, page = tmp_path / "scan.pdf", tmp_path / "page.pdf"
    scan.write_bytes(files.pdf(pages=2))
    page.write_bytes(files.pdf(pages=1))
    server = LiveServer(settings, tmp_path / "server.log").start()
    try:
        env = {
            **os.environ,
            "SMPS_URL": server.url,
            "SMPS_DEMO": str(demo),
            "SMPS_SCAN": str(scan),
            "SMPS_PAGE": str(page),
        }
        run = npx("node", str(TS_DIR / "dist" / "walk.js"), env=env, timeout=120)
    finally:
        server.stop()
    assert run.returncode == 0, run.stdout + run.stderr + server.log_tail()
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["state"] == "approved" and result["tracking_number"]
