"""Checks on rendered pages: ink under the text layer (pdftoppm images), words that do not overlap."""

import io
import re
import shutil
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pdfplumber
from fastapi import FastAPI
from PIL import Image

from app.core.settings import Settings
from app.main import create_app
from app.organizations.models import Organization
from tests.batches.helpers import act, cast_for, open_batch, put_items, recommended

# Not skipped when missing: .ci/run installs poppler-utils and the fonts.
PDFTOPPM = shutil.which("pdftoppm") or "pdftoppm"
DROID = Path("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf")
UMING = Path("/usr/share/fonts/truetype/arphic/uming.ttc")
MICROHEI = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
DPI = 150
# A character whose absence is the bug this guards against: digits, Latin letters, the marks and quotes;
# and what the text layer holds for a character drawn without a glyph (NUL, U+FFFD).
CHECKED = re.compile(r"[0-9A-Za-z■□“”\x00\ufffd]")


@asynccontextmanager
async def service(settings: Settings, clock: Any, **update: Any) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    application = create_app(settings.model_copy(update=update), clock=clock)
    try:
        transport = httpx.ASGITransport(app=application, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            yield application, client
    finally:
        application.state.database.dispose()


@dataclass
class Printed:
    form: httpx.Response
    receipt: httpx.Response
    tracking_number: str
    credit_code: str
    phone: str


async def submitted_list(app: FastAPI, client: httpx.AsyncClient) -> Printed:
    """A list of two recommended applications submitted with a receipt: the first one's form and the receipt."""
    cast = await cast_for(app, client)
    first = await recommended(client, cast, "济南市历下区政务服务标准化试点")
    second = await recommended(client, cast, "青岛市社区养老服务标准化试点")
    batch = await open_batch(client, cast)
    r = await put_items(client, batch, cast.reviewer, [first.id, second.id], batch.headers["etag"])
    r = await act(client, batch.json()["id"], cast.reviewer, r.headers["etag"], "submit")
    assert r.status_code == 200, r.text
    form = await client.get(f"/api/v1/applications/{first.id}/form.pdf", headers=cast.reviewer.headers)
    receipt = await client.get(f"/api/v1/batches/{batch.json()['id']}/receipt.pdf", headers=cast.reviewer.headers)
    with app.state.database.reader() as session:
        unit = session.get(Organization, cast.undertaking)
        assert unit is not None and unit.credit_code
        credit_code = unit.credit_code
    return Printed(form, receipt, r.json()["tracking_number"], credit_code, cast.form()["contact"]["phone"])


def blank_characters(pdf: bytes, tmp_path: Path) -> list[tuple[int, str, str]]:
    """(page, character, its word) for every digit, Latin letter, mark or quote that leaves no ink where
    the text layer puts it, on every page rendered by pdftoppm."""
    out = tmp_path / f"ink-{len(list(tmp_path.iterdir()))}"
    out.mkdir()
    subprocess.run([PDFTOPPM, "-r", str(DPI), "-gray", "-png", "-", str(out / "p")], input=pdf, check=True, timeout=300)
    images = sorted(out.glob("p*.png"), key=lambda p: int(re.findall(r"\d+", p.stem)[-1]))
    blank = []
    scale = DPI / 72
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        assert len(images) == len(document.pages)
        for number, (page, png) in enumerate(zip(document.pages, images, strict=True), start=1):
            image = Image.open(png).convert("L")
            checked = 0
            for word in page.extract_words():
                for ch in (c for c in page.chars if _inside(c, word) and CHECKED.match(c["text"])):
                    # The character's box less a tenth on each side, clear of its neighbours and of rules.
                    dx, dy = (ch["x1"] - ch["x0"]) / 10, (ch["bottom"] - ch["top"]) / 10
                    box = (
                        round((ch["x0"] + dx) * scale),
                        round((ch["top"] + dy) * scale),
                        round((ch["x1"] - dx) * scale),
                        round((ch["bottom"] - dy) * scale),
                    )
                    checked += 1
                    if ch["text"] in "\x00\ufffd" or min(image.crop(box).getdata()) > 192:  # type: ignore[type-var]
                        blank.append((number, ch["text"], word["text"]))
            assert checked, f"page {number}: nothing checked"
    return blank


def _inside(ch: dict[str, Any], word: dict[str, Any]) -> bool:
    return (
        ch["x0"] >= word["x0"] - 0.01
        and ch["x1"] <= word["x1"] + 0.01
        and ch["top"] >= word["top"] - 0.01
        and ch["bottom"] <= word["bottom"] + 0.01
    )


def overlapping_words(pdf: bytes) -> list[tuple[int, str, str]]:
    """(page, word, word) for any two words whose boxes overlap, on every page. Words are taken in the
    order they are drawn, so text drawn over other text stays two words rather than one interleaved."""
    found = []
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        for number, page in enumerate(document.pages, start=1):
            words = sorted(page.extract_words(use_text_flow=True), key=lambda w: w["x0"])
            for i, a in enumerate(words):
                for b in words[i + 1 :]:
                    if b["x0"] >= a["x1"] - 0.1:
                        break
                    if min(a["bottom"], b["bottom"]) - max(a["top"], b["top"]) > 0.1:
                        found.append((number, a["text"], b["text"]))
    return found
