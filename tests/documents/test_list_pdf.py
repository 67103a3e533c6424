"""The printable recommended list (推荐项目清单): rank order, seal room, tracking number and QR code on each page."""

import io
import re
import shutil
import subprocess
from pathlib import Path

import httpx
import orjson
import pdfplumber
import pytest
from fastapi import FastAPI
from PIL import Image

from app.batches import receipts
from app.fonts.faces import form_fonts
from tests.applications.cast import Cast
from tests.batches.helpers import act, cast_for, open_batch, put_items, recommended
from tests.conftest import Actor
from tests.documents.printed import overlapping_words

MM = 72 / 25.4
PAGE_W, PAGE_H = 841.89, 595.27
PDFTOPPM = shutil.which("pdftoppm") or "pdftoppm"
ZBARIMG = shutil.which("zbarimg") or "zbarimg"
TITLES = [f"济南市第{i:02d}号社区综合服务标准化试点项目（含“一网通办”与〔2022〕35号要求）" for i in range(1, 41)]


async def _list(app: FastAPI, client: httpx.AsyncClient, count: int) -> tuple[Cast, str, str]:
    """A province's open list of ``count`` recommended applications, ranked in reverse creation order."""
    cast = await cast_for(app, client)
    flows = [await recommended(client, cast, t) for t in TITLES[:count]]
    batch = await open_batch(client, cast)
    r = await put_items(client, batch, cast.reviewer, [f.id for f in reversed(flows)], batch.headers["etag"])
    assert r.status_code == 200, r.text
    return cast, batch.json()["id"], r.headers["etag"]


def _words(pdf: bytes) -> list[list[dict]]:
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        return [page.extract_words(keep_blank_chars=False, use_text_flow=True) for page in doc.pages]


def _glyphs() -> set[int]:
    fonts = form_fonts(None)
    return {code for chain in (fonts.body, fonts.title) for face in chain.faces for code in face.glyphs}


GLYPHS: set[int] = set()


def _rows(pdf: bytes) -> list[list[str]]:
    """The table's rows on every page (header rows left out), each cell's text without line breaks."""
    rows = []
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        for page in doc.pages:
            for table in page.extract_tables():
                cells = [[re.sub(r"\s+", "", c or "") for c in row] for row in table]
                rows += [row for row in cells if row[0] != "序号"]
    return rows


def _no_overlap(pdf: bytes) -> None:
    GLYPHS.update(_glyphs())
    # No two words overlap, the draft watermark (草稿, drawn over the page on purpose) aside.
    assert [o for o in overlapping_words(pdf) if not {o[1], o[2]} & {"草", "稿", "草稿"}] == []
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        for n, page in enumerate(doc.pages):
            assert (page.width, page.height) == pytest.approx((PAGE_W, PAGE_H), abs=0.5)
            chars = [c for c in page.chars if c["text"].strip() and c["size"] < 60]  # the watermark aside
            for c in chars:
                assert c["x0"] >= 18 * MM - 1 and c["x1"] <= PAGE_W - 18 * MM + 1, (n, c["text"])
                assert c["top"] >= 0 and c["bottom"] <= PAGE_H
                assert not c["fontname"].startswith(("Helvetica", "Times", "Courier")), c["fontname"]
                assert all(ord(ch) in GLYPHS for ch in c["text"]), (n, c["text"])  # drawn, not a .notdef box
            boxes = sorted((c["x0"], c["top"], c["x1"], c["bottom"], c["text"]) for c in chars)
            for i, a in enumerate(boxes):
                for b in boxes[i + 1 :]:
                    if b[0] >= a[2] - 0.5:
                        break
                    overlap_y = min(a[3], b[3]) - max(a[1], b[1])
                    assert overlap_y <= 0.5, (n, a, b)


def _image(pdf: bytes, tmp_path: Path, page: int, name: str) -> Image.Image:
    subprocess.run(
        [PDFTOPPM, "-r", "100", "-png", "-f", str(page), "-l", str(page), "-", str(tmp_path / name)],
        input=pdf,
        check=True,
        timeout=120,
    )
    (png,) = tmp_path.glob(f"{name}*.png")
    return Image.open(png)


async def test_a_submitted_list_prints_in_rank_order_with_seal_room_tracking_number_and_qr_on_each_page(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    cast, batch_id, etag = await _list(app, client, 30)
    assert (await act(client, batch_id, cast.reviewer, etag, "submit")).status_code == 200
    receipt = (await client.get(f"/api/v1/batches/{batch_id}/receipt", headers=cast.reviewer.headers)).json()
    url = f"/api/v1/batches/{batch_id}/recommended-list.pdf"
    r = await client.get(url, headers=cast.reviewer.headers)
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf", r.text[:300]
    pdf = r.content
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        pages = [page.extract_text() for page in doc.pages]
    assert len(pages) >= 3
    flat = [re.sub(r"\s+", "", p) for p in pages]
    everything = "".join(flat)
    assert "社会管理和公共服务综合标准化试点推荐项目清单" in flat[0]
    assert "第九批社会管理和公共服务综合标准化试点项目征集" in flat[0]
    assert "推荐单位（盖章）" in flat[-1] and "日期：2022年11月01日" in flat[-1]
    assert "草稿" not in everything
    for n, text in enumerate(flat, start=1):
        assert f"报送回执编号：{receipt['tracking_number']}" in text
        assert f"第{n}页共{len(pages)}页" in text
        assert "董艳" in text and "北京市东城区安定门外大街56号" in text
    # The rows in rank order: the titles in reverse creation order, each once.
    assert [row[:2] for row in _rows(pdf)] == [[str(i + 1), t] for i, t in enumerate(reversed(TITLES[:30]))]
    for header in ("序号", "项目名称", "承担单位", "申报领域", "试点期", "经费预算", "联系人"):
        assert header in flat[0] and header in flat[1]  # the header repeats on every page
    _no_overlap(pdf)

    # The seal room above the date line is blank paper, at least 40 mm.
    last = _words(pdf)[-1]
    seal = next(w for w in last if w["text"].startswith("推荐单位（盖章）"))
    date = next(w for w in last if w["text"].startswith("日期："))
    assert date["top"] - seal["bottom"] >= 40 * MM
    image = _image(pdf, tmp_path, len(pages), "last").convert("L")
    scale = 100 / 72
    room = image.crop(
        (
            int(18 * MM * scale),
            int((seal["bottom"] + 3) * scale),
            int((PAGE_W - 18 * MM) * scale),
            int((date["top"] - 3) * scale),
        )
    )
    assert min(room.getdata()) > 200
    # Ink where the title is: the glyphs are drawn, not blank boxes.
    first = _image(pdf, tmp_path, 1, "first").convert("L")
    title = next(w for w in _words(pdf)[0] if w["text"].startswith("社会管理"))
    band = first.crop(tuple(int(v * scale) for v in (title["x0"], title["top"], title["x1"], title["bottom"])))
    assert sum(1 for v in band.getdata() if v < 128) > band.size[0] * band.size[1] // 10
    (tmp_path / "list.pdf").write_bytes(pdf)  # for a look: pdftoppm -r 60 -png list.pdf page

    # Each page's QR code is the receipt's.
    for n in (1, len(pages)):
        png = tmp_path / f"qr{n}.png"
        _image(pdf, tmp_path, n, f"qr{n}-").save(png)
        decoded = subprocess.run([ZBARIMG, "--quiet", "--raw", "-Sqrcode.enable", str(png)], capture_output=True)
        assert decoded.returncode == 0, decoded.stderr
        assert orjson.loads(decoded.stdout.strip())["sha256"] == receipts.digest(receipt)

    # Cached like form.pdf: the same ETag, 304 on If-None-Match, and the office reads the same file.
    again = await client.get(url, headers={**cast.reviewer.headers, "If-None-Match": r.headers["etag"]})
    assert again.status_code == 304 and again.headers["etag"] == r.headers["etag"]
    office = await client.get(url, headers=cast.office.headers)
    assert office.status_code == 200 and office.content == pdf


async def test_an_open_list_prints_as_a_draft_for_its_recommender_only(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    cast, batch_id, _ = await _list(app, client, 2)
    url = f"/api/v1/batches/{batch_id}/recommended-list.pdf"
    r = await client.get(url, headers=cast.reviewer.headers)
    assert r.status_code == 200
    with pdfplumber.open(io.BytesIO(r.content)) as doc:
        text = re.sub(r"\s+", "", "".join(p.extract_text() for p in doc.pages))
    assert "草稿" in text and "报送回执编号" not in text and "日期：" in text
    (tmp_path / "draft.pdf").write_bytes(r.content)  # for a look
    _no_overlap(r.content)
    other = await cast_for(app, client, province="440000", area="440103")
    stranger: Actor = other.reviewer
    for actor in (cast.office, stranger, cast.applicant):
        assert (await client.get(url, headers=actor.headers)).status_code == 404
    assert (await client.get(url)).status_code == 401
