"""Paper copies: the application form as PDF, the recommended list as XLSX and CSV."""

import io
from pathlib import Path

import httpx
import openpyxl
from fastapi import FastAPI
from pypdf import PdfReader

from app.core.settings import Settings
from app.main import create_app
from tests.batches.helpers import act, cast_for, open_batch, put_items, recommended


async def test_form_pdf_and_recommended_list(app: FastAPI, client: httpx.AsyncClient) -> None:
    cast = await cast_for(app, client)
    first = await recommended(client, cast, "济南市历下区政务服务标准化试点")
    second = await recommended(client, cast, "济南市槐荫区医疗卫生服务标准化试点", area="3.1", item=None)
    batch = await open_batch(client, cast)
    r = await put_items(client, batch, cast.reviewer, [second.id, first.id], batch.headers["etag"])
    r = await act(client, batch.json()["id"], cast.reviewer, r.headers["etag"], "submit")
    assert r.status_code == 200, r.text
    tracking = r.json()["tracking_number"]

    form = await client.get(f"/api/v1/applications/{first.id}/form.pdf", headers=cast.reviewer.headers)
    assert form.status_code == 200, form.text
    assert form.headers["content-type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(form.content)).pages)
    assert "济南市历下区政务服务标准化试点" in text
    with app.state.database.reader() as session:
        from app.organizations.models import Organization

        for org in (cast.undertaking, cast.participating, cast.guarantor, cast.guidance, cast.recommender):
            assert session.get(Organization, org).name in text
    assert "基本情况" in text and tracking in text and "同意推荐" in text
    hidden = await client.get(f"/api/v1/applications/{first.id}/form.pdf", headers=cast.other_reviewer.headers)
    assert hidden.status_code == 404

    sheet = await client.get(f"/api/v1/batches/{batch.json()['id']}/recommended-list.xlsx", headers=cast.office.headers)
    assert sheet.status_code == 200, sheet.text
    ws = openpyxl.load_workbook(io.BytesIO(sheet.content)).active
    rows = list(ws.iter_rows(values_only=True))
    assert "推荐清单" in rows[0][0] and rows[1][0] == "序号"
    assert [(r[0], r[1]) for r in rows[2:]] == [
        (1, "济南市槐荫区医疗卫生服务标准化试点"),
        (2, "济南市历下区政务服务标准化试点"),
    ]
    assert rows[3][3].startswith("1.1.3") and ws.page_setup.orientation == "landscape"

    csv = await client.get(f"/api/v1/batches/{batch.json()['id']}/recommended-list.csv", headers=cast.reviewer.headers)
    assert csv.status_code == 200 and csv.content.startswith("\ufeff".encode())
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert lines[1].startswith('1,"济南市槐荫区') and lines[2].startswith('2,"济南市历下区')
    other = await client.get(
        f"/api/v1/batches/{batch.json()['id']}/recommended-list.csv", headers=cast.other_reviewer.headers
    )
    assert other.status_code == 404


async def test_no_font_answers_503(settings: Settings, clock, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    application = create_app(settings.model_copy(update={"cjk_font": tmp_path / "missing.ttf"}), clock=clock)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://t") as client:
            cast = await cast_for(application, client)
            flow = await recommended(client, cast, "济南市历下区政务服务标准化试点")
            r = await client.get(f"/api/v1/applications/{flow.id}/form.pdf", headers=cast.reviewer.headers)
            assert r.status_code == 503 and r.json()["code"] == "font_unavailable"
    finally:
        application.state.database.dispose()
