"""What other packages call (digests, required kinds, membership), names, and the storage sweep."""

import os
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from fastapi import FastAPI

from app.applications.attached import attachment_belongs, attachment_digests, missing_required_kinds
from app.attachments.blobstore import FileSystemBlobStore, new_key
from app.attachments.models import Attachment
from app.attachments.sniff import sanitize_filename
from app.attachments.sweep import sweep_storage
from app.core.settings import Settings
from app.reference.models import Call
from tests.attachments import files
from tests.attachments.conftest import World, make_application
from tests.tags import etag_of


async def attach(
    client: httpx.AsyncClient, world: World, kind: str, pages: int, application_id: str | None = None
) -> dict:
    response = await client.post(
        f"/api/v1/applications/{application_id or world.application_id}/attachments",
        headers={
            **world.applicant.headers,
            "If-Match": await etag_of(client, application_id or world.application_id, world.applicant.headers),
        },
        data={"kind": kind},
        files={"file": (f"{kind}.pdf", files.pdf(pages=pages), "application/pdf")},
    )
    assert response.status_code == 201, response.text
    return response.json()


async def test_functions_for_the_workflow(client: httpx.AsyncClient, app: FastAPI, world: World) -> None:
    with app.state.database.reader() as session:
        call = session.execute(sa.select(Call).where(Call.key == "9th-batch")).scalar_one()
        assert missing_required_kinds(session, call, world.application_id) == ["application_form_scan"]
        assert attachment_digests(session, world.application_id) == []
    a = await attach(client, world, "evidence", 1)
    b = await attach(client, world, "application_form_scan", 2)
    other = make_application(
        app, undertaking_org_id=world.applicant.organization_id, created_by=world.applicant.user_id
    )
    c = await attach(client, world, "application_form_scan", 3, application_id=other)
    with app.state.database.reader() as session:
        assert missing_required_kinds(session, call, world.application_id) == []
        digests = attachment_digests(session, world.application_id)
        assert digests == sorted(
            [{"id": x["id"], "kind": x["kind"], "sha256": x["sha256"]} for x in (a, b)], key=lambda d: d["id"]
        )
        assert attachment_belongs(session, world.application_id, a["id"])
        assert attachment_belongs(session, world.application_id, a["id"], kind="evidence")
        assert not attachment_belongs(session, world.application_id, a["id"], kind="paper_endorsement")
        assert not attachment_belongs(session, world.application_id, c["id"])
        assert not attachment_belongs(session, world.application_id, "att_missing")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("C:\\Users\\王芳\\Desktop\\申报书.pdf", "申报书.pdf"),
        ("..", "attachment"),
        ("", "attachment"),
        (".hidden.pdf", "hidden.pdf"),
        ("a\x00b\x1fc\u202ed.pdf", "abcd.pdf"),
        ("  spaced   out  .pdf ", "spaced out .pdf"),
        ("长" * 300 + ".pdf", "长" * 196 + ".pdf"),
        ("x" * 300, "x" * 200),
    ],
)
def test_sanitize_filename(raw: str, expected: str) -> None:
    assert sanitize_filename(raw) == expected


def _age(path: os.PathLike[str], seconds: float) -> None:
    past = time.time() - seconds
    os.utime(path, (past, past))


async def test_sweep_removes_orphans_and_reports_missing_files(
    client: httpx.AsyncClient, app: FastAPI, world: World, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept = await attach(client, world, "evidence", 1)
    lost = await attach(client, world, "evidence", 2)
    store = FileSystemBlobStore(settings.storage_dir)
    with app.state.database.reader() as session:
        keys = dict(session.execute(sa.select(Attachment.id, Attachment.storage_key)).all())
    store.delete(keys[lost["id"]])  # a row whose file went missing
    old_orphan, new_orphan = new_key(), new_key()
    for key in (old_orphan, new_orphan):
        path = store.path(key)
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(b"left by a crash between the rename and the commit")
    _age(store.path(old_orphan), 7200)
    old_temp, new_temp = store.temp_dir / f"{new_key()}.part", store.temp_dir / f"{new_key()}.part"
    old_temp.write_bytes(b"half an upload")
    new_temp.write_bytes(b"an upload in flight")
    _age(old_temp, 7200)
    _age(store.path(keys[kept["id"]]), 7200)  # old, but its row names it

    dry = sweep_storage(app.state.database, store, grace=timedelta(hours=1), dry_run=True)
    assert dry.removed_orphans == [old_orphan] and store.path(old_orphan).exists()
    report = sweep_storage(app.state.database, store, grace=timedelta(hours=1), now=datetime.now(UTC))
    assert report.removed_temporary == [old_temp.name] and report.removed_orphans == [old_orphan]
    assert report.missing_files == [{"attachment_id": lost["id"], "application_id": world.application_id}]
    assert not old_temp.exists() and new_temp.exists()
    assert not store.path(old_orphan).exists() and store.path(new_orphan).exists()
    assert store.path(keys[kept["id"]]).exists()

    # The command line runs the same sweep from the environment's settings.
    from app.cli import main

    monkeypatch.setenv("SMPS_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("SMPS_STORAGE_DIR", str(settings.storage_dir))
    result = CliRunner().invoke(main, ["storage", "sweep", "--grace-seconds", "0"])
    assert result.exit_code == 1  # a row misses its file
    assert new_temp.name in result.output and new_orphan in result.output and lost["id"] in result.output
    assert not new_temp.exists() and not store.path(new_orphan).exists()


def test_periodic_sweep_runs_until_stopped(app: FastAPI, settings: Settings) -> None:
    from app.attachments.sweep import start_periodic_sweep

    store = FileSystemBlobStore(settings.storage_dir)
    orphan = store.temp_dir / f"{new_key()}.part"
    orphan.write_bytes(b"abandoned")
    _age(orphan, 7200)
    stop = start_periodic_sweep(app.state.database, store, grace=timedelta(hours=1), interval=timedelta(seconds=0.05))
    try:
        deadline = time.monotonic() + 10
        while orphan.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not orphan.exists()
    finally:
        stop()
