"""The printed 申请书: every field the schema allows prints, set like an official form, checked on the rendered pages."""

import io
import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pdfplumber
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from PIL import Image
from pypdf import PdfReader
from sqlmodel import col

from app.accounts.models import ApiKey
from app.applications.models import Application
from app.core.settings import Settings
from app.organizations.models import Organization
from app.readpath.kept import KeptForms
from tests.applications.cast import Cast, Flow, make_cast
from tests.batches.helpers import recommended
from tests.documents.forms import CODE, maximal_flow

A4_WIDTH, A4_HEIGHT = 595.27, 841.89
MM = 72 / 25.4


def _lines(pdf: bytes) -> list[str]:
    """The text lines of every page, without the page footers (digest and page number)."""
    return [
        line
        for page in PdfReader(io.BytesIO(pdf)).pages
        for line in page.extract_text().splitlines()
        if not line.startswith("内容摘要") and not re.fullmatch(r"第 \d+ 页", line)
    ]


def _flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


async def _recommended_form(app: FastAPI, client: httpx.AsyncClient) -> tuple[Cast, Flow, str]:
    """A recommended (frozen) application and the URL of its form."""
    cast = await make_cast(app, client)
    flow = await recommended(client, cast, "济南市历下区政务服务标准化试点")
    return cast, flow, f"/api/v1/applications/{flow.id}/form.pdf"


async def test_a_maximum_size_application_prints_whole_with_room_for_seals(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    flow, opinions = await maximal_flow(app, client)
    r = await client.get(f"/api/v1/applications/{flow.id}/form.pdf", headers=flow.cast.reviewer.headers)
    assert r.status_code == 200, r.text[:500]
    reader = PdfReader(io.BytesIO(r.content))
    assert len(reader.pages) > 100
    lines = _lines(r.content)
    text = "\n".join(lines)
    flat = _flat(text)

    # Each opinion printed once, whole; the paper sign-off keeps its opinion beside the note on the scan.
    for opinion in opinions.values():
        assert flat.count(_flat(opinion)) == 1
    assert flat.count("纸质签署，见盖章页扫描件") == 1
    assert "同意。" not in flat
    # No line break inside a code, a bracketed number or an amount: each is whole on one line.
    assert text.count(CODE) == flat.count(_flat(CODE)) > 1000
    assert text.count("〔2023〕5号") == flat.count("〔2023〕5号") > 100
    assert "100,000,000,000 元" in text

    with pdfplumber.open(io.BytesIO(r.content)) as pdf:
        cover = " ".join(w["text"] for w in pdf.pages[0].extract_words())
        assert "申报单位（盖章）：" in cover and "日期：" in cover and "申 请 书" in cover
        opinions_from = next(i for i, page in enumerate(reader.pages) if "各方意见" in page.extract_text())
        pages = [*range(0, 6), *range(opinions_from, len(pdf.pages))]
        seals = 0
        for number in pages:
            page = pdf.pages[number]
            assert (page.width, page.height) == pytest.approx((A4_WIDTH, A4_HEIGHT), abs=0.5)
            # Nothing runs outside the page box, nor (the footer aside) outside the margins.
            for ch in page.chars:
                assert ch["x0"] >= 25 * MM - 1 and ch["x1"] <= A4_WIDTH - 25 * MM + 1, (number, ch["text"])
                assert ch["top"] >= 0 and ch["bottom"] <= A4_HEIGHT
            words = page.extract_words()
            for seal in (w for w in words if w["text"] == "（盖章）"):
                above = max(w["bottom"] for w in words if w["bottom"] < seal["top"])
                assert seal["top"] - above >= 40 * MM, (number, seal["top"] - above)
                seals += 1
        assert seals == len(opinions)
        last = len(pdf.pages)

    # Rendered as images: the seal room of an opinion box is blank paper.
    subprocess.run(
        ["pdftoppm", "-r", "50", "-png", "-f", str(last), "-l", str(last), "-", str(tmp_path / "p")],
        input=r.content,
        check=True,
        timeout=120,
    )
    (png,) = tmp_path.glob("p*.png")
    with pdfplumber.open(io.BytesIO(r.content)) as pdf:
        words = pdf.pages[last - 1].extract_words()
    seal = next(w for w in words if w["text"] == "（盖章）")
    above = max(w["bottom"] for w in words if w["bottom"] < seal["top"])
    image = Image.open(png).convert("L")
    assert image.size == pytest.approx((A4_WIDTH * 50 / 72, A4_HEIGHT * 50 / 72), abs=1)
    scale = 50 / 72
    room = image.crop(
        (
            int((25 * MM + 3) * scale),
            int((above + 4) * scale),
            int((A4_WIDTH - 25 * MM - 3) * scale),
            int((seal["top"] - 4) * scale),
        )
    )
    assert room.size[1] >= 40 * MM * scale - 6 and min(room.getdata()) > 200


async def test_a_frozen_form_is_rendered_once_and_served_from_the_store(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    cast, flow, url = await _recommended_form(app, client)
    forms = settings.storage_dir / "forms" / "blobs"

    first = await client.get(url, headers=cast.reviewer.headers)
    assert first.status_code == 200 and first.headers["etag"]
    stored = [p for p in forms.rglob("*") if p.is_file()]
    assert len(stored) == 1 and stored[0].read_bytes() == first.content
    text = "\n".join(_lines(first.content))
    assert "1,200,000 元" in text and "■ 同意推荐" in text and "同意。同意申报" not in text

    # Served from what this process keeps at hand, then, in a process that has not seen it, from the
    # store: what is stored is what comes back.
    stored[0].write_bytes(first.content + b"%stored\n")
    at_hand = await client.get(url, headers=cast.applicant.headers)
    assert at_hand.status_code == 200 and at_hand.content == first.content
    monkeypatch.setattr(app.state.read_path, "forms", KeptForms(max_bytes=1024 * 1024))
    again = await client.get(url, headers=cast.applicant.headers)
    assert again.status_code == 200 and again.content.endswith(b"%stored\n")
    assert again.headers["etag"] == first.headers["etag"]
    unchanged = await client.get(url, headers={**cast.reviewer.headers, "If-None-Match": first.headers["etag"]})
    assert unchanged.status_code == 304 and unchanged.content == b""

    # Something printed changes after freezing (a party's name): a new file, never the stale one.
    with app.state.database.transaction() as session:
        session.get(Organization, cast.guarantor).name = "济南市历下区人民政府办公室"
    renamed = await client.get(url, headers={**cast.reviewer.headers, "If-None-Match": first.headers["etag"]})
    assert renamed.status_code == 200 and renamed.headers["etag"] != first.headers["etag"]
    assert "济南市历下区人民政府办公室" in "".join(_lines(renamed.content))
    assert len([p for p in forms.rglob("*") if p.is_file()]) == 2


async def test_a_form_frozen_again_with_other_parties_prints_and_follows_them(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    # The organizations a form names are kept per application with the content digest they were read
    # from; content frozen anew (another digest) names other parties, and the stamp follows them.
    cast, flow, url = await _recommended_form(app, client)
    first = await client.get(url, headers=cast.reviewer.headers)
    assert (await client.get(url, headers=cast.reviewer.headers)).headers["etag"] == first.headers["etag"]
    other = cast.stranger.organization_id
    with app.state.database.transaction() as session:
        application = session.get(Application, flow.id)
        application.content = {**application.content, "parties": {**application.content["parties"], "guarantor": other}}
        application.content_digest = "cd" * 32
    moved = await client.get(url, headers=cast.reviewer.headers)
    assert moved.status_code == 200 and moved.headers["etag"] != first.headers["etag"]
    assert "青岛市市北区人民政府" in "".join(_lines(moved.content))
    again = await client.get(url, headers=cast.reviewer.headers)
    assert again.headers["etag"] == moved.headers["etag"]
    with app.state.database.transaction() as session:
        session.get(Organization, other).name = "青岛市市北区人民政府办公室"
    renamed = await client.get(url, headers=cast.reviewer.headers)
    assert renamed.headers["etag"] != moved.headers["etag"]
    assert "青岛市市北区人民政府办公室" in "".join(_lines(renamed.content))


async def test_a_draft_form_is_rendered_each_time_and_not_stored(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    cast = await make_cast(app, client)
    flow = Flow(client, cast)
    await flow.create(funding={"amount_cny": 1234567, "sources": "区财政（2024年度预算）"})
    url = f"/api/v1/applications/{flow.id}/form.pdf"
    r = await client.get(url, headers=cast.applicant.headers)
    assert r.status_code == 200
    assert "1,234,567 元" in "\n".join(_lines(r.content))
    assert "（未冻结）" in PdfReader(io.BytesIO(r.content)).pages[0].extract_text()  # the footer: no digest yet
    assert not any(p.is_file() for p in (settings.storage_dir / "forms").rglob("*"))
    r = await client.patch(
        f"/api/v1/applications/{flow.id}",
        json={"title": "济南市历下区便民服务标准化试点"},
        headers={**cast.applicant.headers, "If-Match": flow.etag},
    )
    assert r.status_code == 200, r.text
    edited = await client.get(url, headers={**cast.applicant.headers, "If-None-Match": "*"})
    assert edited.status_code == 304
    edited = await client.get(url, headers=cast.applicant.headers)
    assert edited.status_code == 200 and "便民服务" in "".join(_lines(edited.content))


async def test_a_frozen_form_follows_the_application_version_and_answers_304_otherwise(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    cast, flow, url = await _recommended_form(app, client)
    first = await client.get(url, headers=cast.reviewer.headers)
    again = await client.get(url, headers=cast.reviewer.headers)
    assert again.content == first.content and again.headers["etag"] == first.headers["etag"]
    assert (
        await client.get(url, headers={**cast.reviewer.headers, "If-None-Match": first.headers["etag"]})
    ).status_code == 304

    # Every sign-off, review and batch step moves the version: the stored file is not served for it.
    with app.state.database.transaction() as session:
        session.get(Application, flow.id).version += 1
    moved = await client.get(url, headers={**cast.reviewer.headers, "If-None-Match": first.headers["etag"]})
    assert moved.status_code == 200 and moved.headers["etag"] != first.headers["etag"]
    assert moved.content.startswith(b"%PDF")
    forms = settings.storage_dir / "forms" / "blobs"
    assert len([p for p in forms.rglob("*") if p.is_file()]) == 2


async def test_the_lean_form_route_keeps_the_contract_on_bad_input_and_credentials(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    cast, flow, url = await _recommended_form(app, client)
    assert (await client.get(url, headers=cast.reviewer.headers)).status_code == 200  # stored from now on
    stored = await client.get(url, headers=cast.reviewer.headers)
    assert stored.status_code == 200 and stored.headers["content-type"] == "application/pdf"
    assert stored.headers["cache-control"] == "private, no-cache" and stored.headers.get("x-request-id")
    long_tag = await client.get(url, headers={**cast.reviewer.headers, "If-None-Match": '"' + "a" * 1100 + '"'})
    assert long_tag.status_code == 422 and long_tag.json()["code"] == "validation_failed"
    too_long = await client.get("/api/v1/applications/" + "a" * 33 + "/form.pdf", headers=cast.reviewer.headers)
    assert too_long.status_code == 422 and too_long.json()["errors"][0]["pointer"] == "path:/application_id"
    assert (await client.get(url)).status_code == 401
    hidden = await client.get(url, headers=cast.stranger.headers)
    assert hidden.status_code == 404 and hidden.json()["code"] == "not_found"
    with app.state.database.transaction() as session:
        session.execute(
            sa.update(ApiKey).where(col(ApiKey.user_id) == cast.reviewer.user_id).values(revoked_at=datetime.now(UTC))
        )
    refused = await client.get(url, headers=cast.reviewer.headers)
    assert refused.status_code == 401 and refused.json()["code"] == "not_authenticated"


@pytest.mark.postgresql_only
async def test_on_postgresql_a_stored_form_for_a_kept_key_is_stamped_on_the_event_loop(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    cast, flow, url = await _recommended_form(app, client)
    first = await client.get(url, headers=cast.reviewer.headers)  # rendered and stored; the key kept
    assert first.status_code == 200

    def in_a_thread(*args: object, **kwargs: object) -> None:
        raise AssertionError("the stamp of a kept key is read on the loop")

    monkeypatch.setattr(app.state.database.server_reader, "run_in_thread", in_a_thread)
    again = await client.get(url, headers=cast.reviewer.headers)
    assert again.status_code == 200 and again.content == first.content
    assert again.headers["etag"] == first.headers["etag"]
    same = await client.get(url, headers={**cast.reviewer.headers, "If-None-Match": first.headers["etag"]})
    assert same.status_code == 304
    # The stamp read on the loop covers the parties' organizations too (read from the form's JSON).
    with app.state.database.transaction() as session:
        session.get(Organization, cast.guarantor).name = "济南市历下区人民政府办公室"
    renamed = await client.get(url, headers={**cast.reviewer.headers, "If-None-Match": first.headers["etag"]})
    assert renamed.status_code == 200 and renamed.headers["etag"] != first.headers["etag"]
    assert "济南市历下区人民政府办公室" in "".join(_lines(renamed.content))
