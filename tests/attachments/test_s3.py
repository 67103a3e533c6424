"""The S3-compatible blob store, over HTTP against a moto server started by the test."""

import hashlib
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import boto3
import httpx
import pytest
import sqlalchemy as sa
from moto.server import ThreadedMotoServer
from pydantic import SecretStr

from app.attachments.blobstore import S3BlobStore, blob_store_of, new_key
from app.attachments.models import Attachment
from app.attachments.sweep import sweep_storage
from app.core.settings import Settings
from app.documents.form_cache import form_store_of
from app.main import create_app
from app.readpath.kept import KeptForms
from tests.applications.cast import make_cast
from tests.attachments import files
from tests.attachments.conftest import World
from tests.batches.helpers import recommended
from tests.tags import etag_of

BUCKET = "smps-attachments"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_settings(settings: Settings, s3_endpoint: str) -> Settings:
    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    if BUCKET not in [b["Name"] for b in client.list_buckets()["Buckets"]]:
        client.create_bucket(Bucket=BUCKET)
    return settings.model_copy(
        update={
            "blob_backend": "s3",
            "s3_endpoint_url": s3_endpoint,
            "s3_bucket": BUCKET,
            "s3_prefix": f"test-{new_key()[:8]}/",
            "s3_access_key_id": "testing",
            "s3_secret_access_key": SecretStr("testing"),
        }
    )


async def test_upload_download_delete_and_sweep_on_s3(s3_settings: Settings, clock: Any, world: World) -> None:
    app = create_app(s3_settings, clock=clock)
    big = files.BigPdf(20 * 1024 * 1024)  # above the multipart threshold
    data = b"".join(big.chunks())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        created = await client.post(
            f"/api/v1/applications/{world.application_id}/attachments",
            headers={
                **world.applicant.headers,
                "If-Match": await etag_of(client, world.application_id, world.applicant.headers),
            },
            data={"kind": "evidence"},
            files={"file": ("扫描件.pdf", data, "application/pdf")},
        )
        assert created.status_code == 201, created.text
        attachment = created.json()
        assert attachment["sha256"] == big.sha256 == hashlib.sha256(data).hexdigest()
        store = blob_store_of(app)
        assert isinstance(store, S3BlobStore)
        with app.state.database.reader() as session:
            key = session.execute(sa.select(Attachment.storage_key)).scalar_one()
        assert store.exists(key)
        assert list(store.temp_dir.iterdir()) == []  # the temporary file went once uploaded

        content = f"/api/v1/attachments/{attachment['id']}/content"
        whole = await client.get(content, headers=world.applicant.headers)
        assert whole.status_code == 200 and whole.content == data
        part = await client.get(content, headers={**world.applicant.headers, "Range": "bytes=1000-2999"})
        assert part.status_code == 206 and part.content == data[1000:3000]
        assert part.headers["content-range"] == f"bytes 1000-2999/{len(data)}"
        tail = await client.get(content, headers={**world.applicant.headers, "Range": "bytes=-10"})
        assert tail.content == data[-10:]

        # An object without a row (a crash between the upload and the commit) is swept.
        orphan = new_key()
        store.client.put_object(Bucket=BUCKET, Key=s3_settings.s3_prefix + orphan, Body=b"orphan")
        report = sweep_storage(app.state.database, store, grace=timedelta(0))
        assert report.removed_orphans == [orphan] and report.missing_files == []
        assert not store.exists(orphan) and store.exists(key)

        deleted = await client.delete(
            f"/api/v1/attachments/{attachment['id']}",
            headers={**world.applicant.headers, "If-Match": f'"{attachment["sha256"]}"'},
        )
        assert deleted.status_code == 204
        assert not store.exists(key)
    app.state.database.dispose()


async def test_a_frozen_form_is_kept_in_the_bucket_and_served_from_it(
    s3_settings: Settings, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = create_app(s3_settings, clock=clock)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        cast = await make_cast(app, client)
        flow = await recommended(client, cast, "济南市历下区政务服务标准化试点")
        url = f"/api/v1/applications/{flow.id}/form.pdf"
        first = await client.get(url, headers=cast.reviewer.headers)
        assert first.status_code == 200 and first.content.startswith(b"%PDF")
        store = form_store_of(app)
        assert isinstance(store, S3BlobStore) and store.prefix.endswith("forms/")
        (key,) = [blob.key for blob in store.list()]
        store.client.put_object(Bucket=BUCKET, Key=store.prefix + key, Body=first.content + b"%stored\n")
        at_hand = await client.get(url, headers=cast.applicant.headers)  # kept in memory by this process
        assert at_hand.status_code == 200 and at_hand.content == first.content
        monkeypatch.setattr(app.state.read_path, "forms", KeptForms(max_bytes=1024 * 1024))
        again = await client.get(url, headers=cast.applicant.headers)  # read from the bucket, not rendered
        assert again.status_code == 200 and again.content == first.content + b"%stored\n"
        assert again.headers["etag"] == first.headers["etag"]
        unchanged = await client.get(url, headers={**cast.reviewer.headers, "If-None-Match": first.headers["etag"]})
        assert unchanged.status_code == 304
    app.state.database.dispose()
