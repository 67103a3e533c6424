"""The electronic copy (package.zip): a BagIt bag that bagit-python and `smps package verify` accept, resumable."""

import io
import zipfile
from pathlib import Path
from typing import Any

import bagit
import httpx
import orjson
import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from fastapi import FastAPI

from app.accounts.models import User
from app.applications.models import Application
from app.attachments.blobstore import FileSystemBlobStore, S3BlobStore
from app.batches import receipts
from app.cli import main
from app.core.settings import Settings
from app.documents import deliver_router as router_module
from app.documents import package as package_module
from app.documents import package_stream as stream_module
from app.documents.form_cache import form_store_of
from app.documents.package import checksum_store_of
from app.documents.zipstream import digests_of
from app.main import create_app
from app.organizations.models import Organization
from tests.applications.cast import MINIMAL_PDF, Cast, Flow
from tests.attachments.test_s3 import s3_endpoint, s3_settings  # noqa: F401 — the moto server's fixtures
from tests.batches.helpers import act, cast_for, open_batch, put_items
from tests.conftest import FakeClock

TITLES = ("济南市历下区政务服务标准化试点", "青岛市/社区养老服务标准化试点：“一老一小”")


async def _with_files(client: httpx.AsyncClient, cast: Cast, title: str, files: list[tuple[str, str, bytes]]) -> Flow:
    """An application walked to recommended, with these attachments ``(kind, filename, bytes)`` besides its scan."""
    flow = Flow(client, cast)
    await flow.create(title=title, domain={"area": "1.1", "item": "1.1.3"})
    await flow.attach_scan()
    for kind, name, data in files:
        r = await client.post(
            f"/api/v1/applications/{flow.id}/attachments",
            headers={**cast.applicant.headers, "If-Match": flow.etag},
            files={"file": (name, data, "application/pdf")},
            data={"kind": kind},
        )
        assert r.status_code == 201, r.text
        await flow.get(cast.applicant)
    await flow.get(cast.applicant)
    assert (await flow.act("submit")).status_code == 200
    await flow.endorse_all()
    assert (await flow.review("recommend", "同意推荐")).status_code == 201
    return flow


def pdf_with(marker: bytes) -> bytes:
    """The minimal PDF with another page height (as many bytes: the cross-reference offsets hold)."""
    assert b"842]" in MINIMAL_PDF
    return MINIMAL_PDF.replace(b"842]", b"84" + marker + b"]")


async def submitted(app: FastAPI, client: httpx.AsyncClient, cast: Cast | None = None) -> tuple[Cast, str]:
    cast = cast or await cast_for(app, client)
    flows = [
        await _with_files(
            client,
            cast,
            TITLES[0],
            [("evidence", "证明.pdf", pdf_with(b"1")), ("evidence", "证明.PDF", pdf_with(b"3"))],
        ),
        await _with_files(client, cast, TITLES[1], [("other", "../../etc/passwd.pdf", pdf_with(b"5"))]),
    ]
    batch = await open_batch(client, cast)
    r = await put_items(client, batch, cast.reviewer, [f.id for f in flows], batch.headers["etag"])
    assert (await act(client, batch.json()["id"], cast.reviewer, r.headers["etag"], "submit")).status_code == 200
    return cast, batch.json()["id"]


def _extract(content: bytes, where: Path) -> Path:
    with zipfile.ZipFile(io.BytesIO(content)) as zf:
        zf.extractall(where)
        (root,) = {n.split("/", 1)[0] for n in zf.namelist()}
    return where / root


def _verify(path: Path, keys: Path) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(main, ["package", "verify", str(path), "--keys", str(keys)])
    return result.exit_code, orjson.loads(result.output) if result.output.startswith("{") else {"out": result.output}


def _member(content: bytes, name: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(content)) as zf:
        return zf.read(name)


def _tampered(content: bytes, member_suffix: str) -> bytes:
    """The archive again, with one byte of one member changed (and the ZIP's own CRC made to match)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.endswith(member_suffix):
                data = data[:20] + bytes([data[20] ^ 1]) + data[21:]
            dst.writestr(info, data)
    return out.getvalue()


async def test_the_package_is_a_bag_that_bagit_and_smps_package_verify_accept_and_tampering_fails(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cast, batch_id = await submitted(app, client)
    receipt = (await client.get(f"/api/v1/batches/{batch_id}/receipt", headers=cast.reviewer.headers)).json()
    r = await client.get(f"/api/v1/batches/{batch_id}/package.zip", headers=cast.reviewer.headers)
    assert r.status_code == 200, r.text[:300]
    assert r.headers["content-type"] == "application/zip" and r.headers["accept-ranges"] == "bytes"
    assert r.headers["etag"] == f'"{receipts.digest(receipt)}"'
    names = zipfile.ZipFile(io.BytesIO(r.content)).namelist()
    root = receipt["tracking_number"]
    assert names[0] == f"{root}/bagit.txt" and names[-1] == f"{root}/tagmanifest-sm3.txt"
    for expected in (
        "data/README.txt",
        "data/receipt.json",
        "data/推荐清单.pdf",
        "data/推荐清单.xlsx",
        f"data/001-{TITLES[0]}/申请书.pdf",
        f"data/001-{TITLES[0]}/application.json",
        f"data/001-{TITLES[0]}/申请书盖章扫描件/申请书扫描件.pdf",
        f"data/001-{TITLES[0]}/证明材料/证明.pdf",
        f"data/001-{TITLES[0]}/证明材料/证明-2.PDF",  # names differing in case only: the second renamed
        "data/002-青岛市_社区养老服务标准化试点：“一老一小”/其他材料/passwd.pdf",  # the / of the title replaced
        "manifest-sha256.txt",
        "manifest-sm3.txt",
        "tagmanifest-sha256.txt",
        "bag-info.txt",
    ):
        assert f"{root}/{expected}" in names, expected

    bag_dir = _extract(r.content, tmp_path / "x")
    bag = bagit.Bag(str(bag_dir))
    bag.validate()  # SHA-256, as bagit-python knows no SM3 by default ...
    monkeypatch.setattr(bagit, "CHECKSUM_ALGOS", {*bagit.CHECKSUM_ALGOS, "sm3"})
    bag = bagit.Bag(str(bag_dir))
    assert set(bag.algorithms) == {"sha256", "sm3"}
    bag.validate()  # ... and SM3 too, once it is told hashlib has it
    info = bag.info
    assert info["External-Identifier"] == root and info["Bagging-Date"] == "2022-11-01"
    assert info["Source-Organization"] == "山东省市场监督管理局"
    assert "第九批社会管理和公共服务综合标准化试点项目征集" in info["External-Description"]
    readme = (bag_dir / "data" / "README.txt").read_text("utf-8")
    for needed in ("bagit.py --validate", "smps receipt verify", "openssl", "董艳", "北京市东城区安定门外大街56号"):
        assert needed in readme
    assert orjson.loads((bag_dir / "data" / "receipt.json").read_bytes()) == receipt

    keys = tmp_path / "keys.json"
    keys.write_bytes((await client.get("/api/v1/receipt-keys")).content)
    package = tmp_path / "package.zip"
    package.write_bytes(r.content)
    code, result = _verify(package, keys)
    assert code == 0 and result["valid"] and result["tracking_number"] == root, result
    assert result["files"] == 13  # every file under data/

    # One attachment byte changed: bagit-python and smps package verify both refuse the bag.
    bad = tmp_path / "bad.zip"
    bad.write_bytes(_tampered(r.content, "证明-2.PDF"))
    code, result = _verify(bad, keys)
    assert code == 1 and result["failed_check"] == "payload" and "证明-2.PDF" in result["detail"], result
    with pytest.raises(bagit.BagValidationError):
        bagit.Bag(str(_extract(bad.read_bytes(), tmp_path / "y"))).validate()
    # A changed receipt: the manifests catch it.
    forged = tmp_path / "forged.zip"
    forged.write_bytes(_tampered(r.content, "receipt.json"))
    code, result = _verify(forged, keys)
    assert code == 1 and result["failed_check"] in ("payload", "receipt"), result
    # Usage: no keys given.
    assert CliRunner().invoke(main, ["package", "verify", str(package)]).exit_code == 2


async def test_a_download_is_byte_identical_and_resumes_with_range(app: FastAPI, client: httpx.AsyncClient) -> None:
    cast, batch_id = await submitted(app, client)
    url = f"/api/v1/batches/{batch_id}/package.zip"
    first = await client.get(url, headers=cast.reviewer.headers)
    again = await client.get(url, headers=cast.office.headers)
    assert again.status_code == 200 and again.content == first.content
    whole, etag = first.content, first.headers["etag"]
    for start in (0, 1, 100, len(whole) // 2, len(whole) - 22):
        part = await client.get(url, headers={**cast.reviewer.headers, "Range": f"bytes={start}-", "If-Range": etag})
        assert part.status_code == 206
        assert part.headers["content-range"] == f"bytes {start}-{len(whole) - 1}/{len(whole)}"
        assert part.content == whole[start:]
    middle = await client.get(url, headers={**cast.reviewer.headers, "Range": "bytes=1000-1999"})
    assert middle.status_code == 206 and middle.content == whole[1000:2000]
    # Another ETag in If-Range: the whole file again.
    stale = await client.get(url, headers={**cast.reviewer.headers, "Range": "bytes=10-", "If-Range": '"old"'})
    assert stale.status_code == 200 and stale.content == whole
    beyond = await client.get(url, headers={**cast.reviewer.headers, "Range": f"bytes={len(whole)}-"})
    assert beyond.status_code == 416 and beyond.headers["content-range"] == f"bytes */{len(whole)}"
    unchanged = await client.get(url, headers={**cast.reviewer.headers, "If-None-Match": etag})
    assert unchanged.status_code == 304


async def test_only_a_submitted_list_has_a_package_for_its_recommender_and_the_office(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    cast, batch_id = await submitted(app, client)
    url = f"/api/v1/batches/{batch_id}/package.zip"
    other = await cast_for(app, client, province="440000", area="440103")
    for actor, expected in (
        (cast.reviewer, 200),
        (cast.office, 200),
        (cast.admin, 403),
        (other.reviewer, 404),
        (cast.applicant, 404),
    ):
        assert (await client.get(url, headers=actor.headers)).status_code == expected, actor
    assert (await client.get(url)).status_code == 401
    open_list = (await open_batch(client, other)).json()["id"]
    r = await client.get(f"/api/v1/batches/{open_list}/package.zip", headers=other.reviewer.headers)
    assert r.status_code == 404 and r.json()["code"] == "package_not_available"


async def test_from_s3_the_package_streams_keeps_its_checksums_in_the_bucket_and_resumes(
    s3_settings: Settings,  # noqa: F811
    clock: FakeClock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = create_app(s3_settings, clock=clock)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        cast, batch_id = await submitted(app, client)
        url = f"/api/v1/batches/{batch_id}/package.zip"
        first = await client.get(url, headers=cast.reviewer.headers)
        assert first.status_code == 200
        sums = checksum_store_of(app)
        assert isinstance(sums, S3BlobStore) and sums.prefix.endswith("checksums/")
        assert len(list(sums.list())) == 5  # CRC-32 and SM3 of each attachment, kept beside it
        # Another process (nothing in memory) reads them from the bucket: the same bytes, resumable.
        monkeypatch.setattr(package_module, "_KEPT", package_module.BoundedLru(10))
        again = await client.get(url, headers=cast.office.headers)
        assert again.content == first.content
        tail = await client.get(url, headers={**cast.reviewer.headers, "Range": "bytes=777-"})
        assert tail.status_code == 206 and tail.content == first.content[777:]
        keys = tmp_path / "keys.json"
        keys.write_bytes((await client.get("/api/v1/receipt-keys")).content)
        (tmp_path / "p.zip").write_bytes(first.content)
        code, result = _verify(tmp_path / "p.zip", keys)
        assert code == 0, result
        bagit.Bag(str(_extract(first.content, tmp_path / "x"))).validate()
    app.state.database.dispose()


async def test_a_resumed_download_reads_only_the_attachments_from_its_range_on(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CRC-32 and SM3 are kept once computed: the bytes before the range are not read again."""
    cast, batch_id = await submitted(app, client)
    url = f"/api/v1/batches/{batch_id}/package.zip"
    whole = (await client.get(url, headers=cast.reviewer.headers)).content
    assert len(list(checksum_store_of(app).list())) == 5
    reads: list[tuple[str, int]] = []
    original = FileSystemBlobStore.read

    def counted(self: FileSystemBlobStore, key: str, start: int = 0, end: int | None = None) -> Any:
        if self.root.name != "checksums":
            reads.append((key, start))
        return original(self, key, start, end)

    original_views = package_module.mapped_views

    def counted_views(path: str, start: int = 0) -> Any:
        reads.append((Path(path).name, start))  # a blob's file is named by its key
        return original_views(path, start)

    monkeypatch.setattr(FileSystemBlobStore, "read", counted)
    monkeypatch.setattr(package_module, "mapped_views", counted_views)  # how the package reads attachments
    monkeypatch.setattr(package_module, "_KEPT", package_module.BoundedLru(10))  # as another process:
    monkeypatch.setattr(app.state, "package_caches", None)  # no checksum, size nor package map at hand
    start = len(whole) - 3000  # within the tag files: after every attachment
    tail = await client.get(url, headers={**cast.reviewer.headers, "Range": f"bytes={start}-"})
    assert tail.status_code == 206 and tail.content == whole[start:]
    assert {key for key, _ in reads} <= _form_keys(app), reads  # stored forms and lists only, no attachment
    reads.clear()
    again = await client.get(url, headers={**cast.reviewer.headers, "Range": "bytes=0-"})
    assert again.content == whole and len({key for key, _ in reads} - _form_keys(app)) == 5  # each read, once


def _form_keys(app: FastAPI) -> set[str]:
    from app.documents.form_cache import form_store_of

    return {blob.key for blob in form_store_of(app).list()}


async def test_a_later_download_states_its_length_and_gives_the_same_bytes(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """Once a package has been streamed whole its length is known: later downloads are not sent chunked."""
    cast, batch_id = await submitted(app, client)
    url = f"/api/v1/batches/{batch_id}/package.zip"
    first = await client.get(url, headers=cast.reviewer.headers)
    assert first.status_code == 200 and "content-length" not in first.headers  # made as it streams
    again = await client.get(url, headers=cast.reviewer.headers)
    assert again.status_code == 200 and again.headers["content-length"] == str(len(first.content))
    assert again.content == first.content
    tail = await client.get(
        url, headers={**cast.reviewer.headers, "Range": "bytes=100-", "If-Range": again.headers["etag"]}
    )
    assert tail.status_code == 206 and tail.content == first.content[100:]
    assert tail.headers["content-range"] == f"bytes 100-{len(first.content) - 1}/{len(first.content)}"


async def test_a_later_download_hashes_no_stored_form_again_and_remakes_the_workbook_only_when_it_changed(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A form's digests are kept by its stamp; the workbook is kept by what it prints, so it follows a change."""
    cast, batch_id = await submitted(app, client)
    url = f"/api/v1/batches/{batch_id}/package.zip"
    first = await client.get(url, headers=cast.reviewer.headers)
    hashed: list[int] = []

    def counted(data: bytes) -> Any:
        hashed.append(len(data))
        return digests_of(data)

    monkeypatch.setattr(package_module, "digests_of", counted)
    again = await client.get(url, headers=cast.reviewer.headers)
    assert again.content == first.content and hashed == []  # both 申请书 sent as stored, not hashed again
    with app.state.database.transaction() as session:
        application = session.execute(sa.select(Application).limit(1)).scalar_one()
        unit = session.get(Organization, application.undertaking_org_id)
        assert unit is not None
        unit.name = "更名后的承担单位"
        unit.version += 1  # as every edit does (``compare_and_set``): what says a kept package no longer holds
    renamed = await client.get(url, headers=cast.reviewer.headers)
    assert renamed.status_code == 200 and renamed.content != first.content
    with zipfile.ZipFile(io.BytesIO(renamed.content)) as zf:
        (sheet,) = [n for n in zf.namelist() if n.endswith("推荐清单.xlsx")]
        with zipfile.ZipFile(io.BytesIO(zf.read(sheet))) as xlsx:
            assert any("更名后的承担单位" in xlsx.read(n).decode() for n in xlsx.namelist() if n.endswith(".xml"))


async def test_a_later_download_replays_the_kept_map_making_nothing_and_any_range_comes_from_it(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A whole download leaves the package's map: later downloads and ranges read no document again."""
    cast, batch_id = await submitted(app, client)
    url = f"/api/v1/batches/{batch_id}/package.zip"
    whole = (await client.get(url, headers=cast.reviewer.headers)).content

    def refused(*args: Any) -> Any:
        raise AssertionError("a document was made for a kept package")

    monkeypatch.setattr(stream_module, "renderers", refused)
    monkeypatch.setattr(router_module, "read_facts", refused)
    again = await client.get(url, headers=cast.reviewer.headers)
    assert again.status_code == 200 and again.content == whole
    assert again.headers["content-length"] == str(len(whole))
    for first, last in ((0, 0), (100, 5000), (len(whole) // 2, len(whole) - 1), (len(whole) - 10, len(whole) + 99)):
        part = await client.get(url, headers={**cast.reviewer.headers, "Range": f"bytes={first}-{last}"})
        assert part.status_code == 206 and part.content == whole[first : last + 1], (first, last)
    beyond = await client.get(url, headers={**cast.reviewer.headers, "Range": f"bytes={len(whole)}-"})
    assert beyond.status_code == 416 and beyond.headers["content-range"] == f"bytes */{len(whole)}"


async def test_a_kept_map_is_not_used_once_a_stored_form_is_gone_or_what_it_prints_changed(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """Clearing the forms directory is safe at any time; a reviewer renamed is printed in the next download."""
    cast, batch_id = await submitted(app, client)
    url = f"/api/v1/batches/{batch_id}/package.zip"
    whole = (await client.get(url, headers=cast.reviewer.headers)).content
    store = form_store_of(app)
    for blob in list(store.list()):
        store.delete(blob.key)
    again = await client.get(url, headers=cast.reviewer.headers)
    assert again.status_code == 200 and again.content == whole  # the forms made again, the same bytes
    with app.state.database.transaction() as session:
        reviewer = session.get(User, cast.reviewer.user_id)
        assert reviewer is not None
        reviewer.display_name, reviewer.version = "改名的审核人", reviewer.version + 1  # as every edit does
    renamed = await client.get(url, headers=cast.reviewer.headers)
    assert renamed.status_code == 200 and renamed.content != whole
    with zipfile.ZipFile(io.BytesIO(renamed.content)) as zf:
        forms = [n for n in zf.namelist() if n.endswith("申请书.pdf")]
        assert forms and all(zf.read(n) != _member(whole, n) for n in forms)  # each form prints the new name
