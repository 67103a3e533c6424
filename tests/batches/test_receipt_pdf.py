"""The printable receipt (报送回执): an A4 page whose QR code decodes to the JSON receipt's data."""

import shutil
import subprocess
from pathlib import Path

import httpx
import orjson
from fastapi import FastAPI
from pypdf import PdfReader

from app.batches import receipts
from tests.batches.helpers import act, cast_for, open_batch, put_items, recommended

# Not skipped when missing: .ci/run installs poppler-utils and zbar-tools.
PDFTOPPM = shutil.which("pdftoppm") or "pdftoppm"
ZBARIMG = shutil.which("zbarimg") or "zbarimg"


async def test_the_receipt_pdf_carries_the_receipt_and_a_qr_code_to_check_it(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    cast = await cast_for(app, client)
    flows = [
        await recommended(client, cast, t) for t in ("济南市历下区政务服务标准化试点", "青岛市社区养老服务标准化试点")
    ]
    batch = await open_batch(client, cast)
    r = await put_items(client, batch, cast.reviewer, [f.id for f in flows], batch.headers["etag"])
    assert (await act(client, batch.json()["id"], cast.reviewer, r.headers["etag"], "submit")).status_code == 200
    batch_id = batch.json()["id"]
    receipt = (await client.get(f"/api/v1/batches/{batch_id}/receipt", headers=cast.reviewer.headers)).json()

    pdf = await client.get(f"/api/v1/batches/{batch_id}/receipt.pdf", headers=cast.reviewer.headers)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    (tmp_path / "receipt.pdf").write_bytes(pdf.content)
    reader = PdfReader(tmp_path / "receipt.pdf")
    page = reader.pages[0]
    assert (
        len(reader.pages) == 1
        and round(float(page.mediabox.width)) == 595
        and round(float(page.mediabox.height)) == 842
    )
    text = page.extract_text().replace(" ", "").replace("\n", "")
    digest = receipts.digest(receipt)
    for expected in (
        "报送回执",
        receipt["tracking_number"],
        "北京时间",
        "2022年11月01日",
        "济南市历下区政务服务标准化试点",
        receipt["items"][1]["content_digest"],
        digest,
        *(s["kid"] for s in receipt["signatures"]),
    ):
        assert expected in text, expected

    rendered = subprocess.run(
        [PDFTOPPM, "-png", "-r", "150", "-f", "1", "-l", "1", "receipt.pdf", "page"],
        cwd=tmp_path,
        capture_output=True,
        timeout=120,
    )
    assert rendered.returncode == 0, rendered.stderr
    image = next(tmp_path.glob("page*.png"))
    decoded = subprocess.run(
        [ZBARIMG, "--quiet", "--raw", "-Sqrcode.enable", str(image)], capture_output=True, timeout=120
    )
    assert decoded.returncode == 0, decoded.stderr
    qr = orjson.loads(decoded.stdout.strip())
    assert qr == {
        "tracking_number": receipt["tracking_number"],
        "sha256": digest,
        "verify": str(client.base_url).rstrip("/") + "/api/v1/receipt-keys",
    }


async def test_no_receipt_pdf_before_submission_nor_for_others(app: FastAPI, client: httpx.AsyncClient) -> None:
    cast = await cast_for(app, client)
    batch = await open_batch(client, cast)
    r = await client.get(f"/api/v1/batches/{batch.json()['id']}/receipt.pdf", headers=cast.reviewer.headers)
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    r = await client.get(f"/api/v1/batches/{batch.json()['id']}/receipt.pdf", headers=cast.applicant.headers)
    assert r.status_code == 404


async def test_the_recommended_list_files_name_the_receipt_and_its_kids(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    import io
    from csv import reader as csv_reader

    import openpyxl

    cast = await cast_for(app, client)
    flow = await recommended(client, cast, "济南市历下区政务服务标准化试点")
    batch = await open_batch(client, cast)
    r = await put_items(client, batch, cast.reviewer, [flow.id], batch.headers["etag"])
    assert (await act(client, batch.json()["id"], cast.reviewer, r.headers["etag"], "submit")).status_code == 200
    base = f"/api/v1/batches/{batch.json()['id']}"
    receipt = (await client.get(f"{base}/receipt", headers=cast.reviewer.headers)).json()
    kids = [s["kid"] for s in receipt["signatures"]]
    sheet = await client.get(f"{base}/recommended-list.xlsx", headers=cast.reviewer.headers)
    footer = openpyxl.load_workbook(io.BytesIO(sheet.content)).active.oddFooter.left.text
    assert receipt["tracking_number"] in footer and all(k in footer for k in kids)
    csv = await client.get(f"{base}/recommended-list.csv", headers=cast.reviewer.headers)
    last = list(csv_reader(io.StringIO(csv.content.decode("utf-8-sig"))))[-1]
    assert (
        len(last) == 1 and last[0].startswith("回执 " + receipt["tracking_number"]) and all(k in last[0] for k in kids)
    )
