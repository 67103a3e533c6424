"""Printed documents are right with whatever fonts the machine has: every digit and Latin letter leaves
ink, nothing overlaps, and a character no font has is a 503 that names it, never a blank."""

import ast
import io
import shutil
import threading
from pathlib import Path

import pytest
from pypdf import PdfReader

from app.core.settings import Settings
from app.documents.font_report import PRINTED
from app.fonts import faces as fonts
from tests.applications.cast import Flow, make_cast
from tests.documents.printed import (
    DROID,
    MICROHEI,
    UMING,
    blank_characters,
    overlapping_words,
    service,
    submitted_list,
)


@pytest.fixture(autouse=True)
def fresh_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test chooses its faces afresh, and leaves no choice behind for the others."""
    monkeypatch.setattr(fonts, "_chosen", {})


CONFIGURATIONS = {
    # Only Droid Sans Fallback, as on a fresh Debian machine with Ghostscript: DejaVu (if any) and the
    # bundled faces draw what it lacks.
    "droid": {"cjk_font": DROID, "cjk_title_font": DROID},
    # The same with nothing but what ships with the service behind it (no DejaVu).
    "droid, bundled faces only": {"cjk_font": DROID, "cjk_title_font": DROID, "bundled_only": True},
    # The recommended faces (fonts-arphic-uming, fonts-wqy-microhei).
    "recommended": {"cjk_font": UMING, "cjk_title_font": MICROHEI},
}


@pytest.mark.parametrize("configuration", list(CONFIGURATIONS))
async def test_every_digit_and_latin_letter_leaves_ink_and_no_words_overlap(
    settings: Settings, clock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, configuration: str
) -> None:  # type: ignore[no-untyped-def]
    update = dict(CONFIGURATIONS[configuration])
    if update.pop("bundled_only", False):
        monkeypatch.setattr(fonts, "BODY_FALLBACKS", fonts.BODY_FALLBACKS[-1:])
        monkeypatch.setattr(fonts, "TITLE_FALLBACKS", fonts.TITLE_FALLBACKS[-1:])
    async with service(settings, clock, **update) as (app, client):
        printed = await submitted_list(app, client)
        ready = (await client.get("/readyz")).json()
    assert printed.form.status_code == 200, printed.form.text
    assert printed.receipt.status_code == 200, printed.receipt.text
    families = {face["family"] for face in ready["fonts"]["body"]}
    assert ready["fonts"]["covers_printed"] and ready["fonts"]["missing"] == []
    assert ("Droid Sans Fallback" in families) == (configuration != "recommended")
    assert ("DejaVu Serif" in families) != (configuration == "droid, bundled faces only")

    form = "".join(page.extract_text() for page in PdfReader(io.BytesIO(printed.form.content)).pages)
    receipt = "".join(page.extract_text() for page in PdfReader(io.BytesIO(printed.receipt.content)).pages)
    for expected in (printed.credit_code, printed.phone, printed.tracking_number, "wangfang@example.cn"):
        assert expected in form, expected
    assert printed.tracking_number in receipt and "/api/v1/receipt-keys" in receipt
    assert "■" in form and "GB/T 32169.1-2015" in form

    for pdf in (printed.form.content, printed.receipt.content):
        assert blank_characters(pdf, tmp_path) == []
        assert overlapping_words(pdf) == []


async def test_the_footer_prints_the_receipt_number_over_the_page_number(
    settings: Settings, clock, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    import pdfplumber

    async with service(settings, clock, cjk_font=UMING, cjk_title_font=MICROHEI) as (app, client):
        printed = await submitted_list(app, client)
    with pdfplumber.open(io.BytesIO(printed.form.content)) as pdf:
        assert len(pdf.pages) > 1
        for number, page in enumerate(pdf.pages, start=1):
            words = page.extract_words(use_text_flow=True)
            receipt = next(w for w in words if w["text"] == f"报送回执编号：{printed.tracking_number}")
            page_number = next(w for w in words if w["text"] == "页" and w["top"] > page.height - 25 * 72 / 25.4)
            assert receipt["bottom"] < page_number["top"], number


def _no_font_anywhere(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(fonts, "BODY_CANDIDATES", (str(tmp_path / "later.ttf"),))
    monkeypatch.setattr(fonts, "TITLE_CANDIDATES", (str(tmp_path / "later.ttf"),))


async def test_no_chinese_font_answers_503_naming_the_fonts_tried_and_readyz_says_so(
    settings: Settings, clock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    _no_font_anywhere(monkeypatch, tmp_path)
    async with service(settings, clock) as (app, client):
        cast = await make_cast(app, client)
        flow = Flow(client, cast)
        await flow.create()
        r = await client.get(f"/api/v1/applications/{flow.id}/form.pdf", headers=cast.applicant.headers)
        assert r.status_code == 503 and r.json()["code"] == "font_unavailable"
        assert r.json()["fonts_tried"] == [str(tmp_path / "later.ttf")] and "fonts-arphic-uming" in r.json()["detail"]
        ready = await client.get("/readyz")
        assert ready.status_code == 200 and ready.json()["status"] == "ready"
        assert ready.json()["fonts"] == {
            "available": False,
            "body": [],
            "title": [],
            "covers_printed": False,
            "missing": [],
            "recommended": UMING.is_file() and MICROHEI.is_file(),
        }

        # Installed while the service runs: taken at once, as none was found before.
        shutil.copy(DROID, tmp_path / "later.ttf")
        r = await client.get(f"/api/v1/applications/{flow.id}/form.pdf", headers=cast.applicant.headers)
        assert r.status_code == 200 and r.content.startswith(b"%PDF")
        assert (await client.get("/readyz")).json()["fonts"]["body"][0]["family"] == "Droid Sans Fallback"


async def test_a_form_stored_before_better_fonts_were_installed_is_not_served_after(
    settings: Settings, clock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    _no_font_anywhere(monkeypatch, tmp_path)
    shutil.copy(DROID, tmp_path / "later.ttf")
    monkeypatch.setattr(fonts, "RECHECK_SECONDS", 0.0)  # the re-check every 30 s, without waiting for it
    async with service(settings, clock) as (app, client):
        printed = await submitted_list(app, client)
        before = printed.form
        assert before.status_code == 200
        url = str(before.request.url)
        headers = {"Authorization": before.request.headers["Authorization"]}
        again = await client.get(url, headers=headers)
        assert again.headers["etag"] == before.headers["etag"] and again.content == before.content

        # A better face installed where the search looks first: the stored form is not served again.
        better = tmp_path / "uming.ttc"
        shutil.copy(UMING, better)
        monkeypatch.setattr(fonts, "BODY_CANDIDATES", (str(better), str(tmp_path / "later.ttf")))
        after = await client.get(url, headers=headers)
        assert after.status_code == 200 and after.headers["etag"] != before.headers["etag"]
        assert b"UMing" in after.content and b"UMing" not in before.content


async def test_a_character_no_font_has_answers_503_naming_it(
    settings: Settings, clock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    # Droid alone, without the Latin and marks faces behind it: digits and letters have no glyph.
    monkeypatch.setattr(fonts, "BODY_FALLBACKS", ())
    monkeypatch.setattr(fonts, "TITLE_FALLBACKS", ())
    monkeypatch.setattr(fonts, "MARKS", str(tmp_path / "none.ttf"))
    async with service(settings, clock, cjk_font=DROID, cjk_title_font=DROID) as (app, client):
        printed = await submitted_list(app, client)
        ready = (await client.get("/readyz")).json()
    for r in (printed.form, printed.receipt):
        assert r.status_code == 503 and r.json()["code"] == "font_unavailable", r.text[:300]
        assert {"U+0030", "U+0041"} <= set(r.json()["characters"]) and r.json()["fonts_tried"] == [str(DROID)]
        assert "U+0030" in r.json()["detail"]
    assert "U+25A0" in printed.form.json()["characters"]
    assert ready["fonts"]["covers_printed"] is False and {"U+0030", "U+25A0"} <= set(ready["fonts"]["missing"])


def test_the_printed_character_set_holds_every_character_of_the_templates() -> None:
    """``/readyz`` checks the faces against ``PRINTED``: it must hold what the templates print."""
    app = Path(fonts.__file__).parents[1]
    found = set()
    for module in ("documents/form.py", "documents/pdf.py", "documents/facts.py", "batches/receipt_pdf.py"):
        for node in ast.walk(ast.parse((app / module).read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                found |= {ch for ch in node.value if ch.isprintable()}
    assert found - set(PRINTED) == set()


def test_make_run_names_the_packages_of_the_official_look_when_they_are_absent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.documents import font_hint

    assert font_hint.hint(None) == ""  # installed here (.ci/run)
    monkeypatch.setattr(font_hint, "RECOMMENDED", {str(tmp_path / "uming.ttc"): "fonts-arphic-uming"})
    monkeypatch.setattr(font_hint, "BODY_CANDIDATES", (str(tmp_path / "uming.ttc"), str(DROID)))
    monkeypatch.setattr(font_hint, "TITLE_CANDIDATES", (str(DROID),))
    line = font_hint.hint(None)
    assert line.count("\n") == 0 and "fonts-arphic-uming" in line and "DroidSansFallbackFull.ttf" in line
    assert font_hint.hint(DROID) == ""  # a font named in SMPS_CJK_FONT is the operator's choice
    monkeypatch.setattr(font_hint, "BODY_CANDIDATES", (str(tmp_path / "uming.ttc"),))
    assert "503 font_unavailable" in font_hint.hint(None)


@pytest.mark.parametrize("preload", [True, False])
async def test_the_faces_are_chosen_when_the_service_starts_unless_told_not_to(
    tmp_path: Path, database_url: str, preload: bool
) -> None:
    """``SMPS_PRELOAD_FONTS``: the first PDF does not wait for the fonts to load."""
    from app.main import create_app

    settings = Settings(
        database_url=database_url, storage_dir=tmp_path, cjk_font=UMING, cjk_title_font=MICROHEI, preload_fonts=preload
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        for thread in [t for t in threading.enumerate() if t.name == "fonts"]:
            thread.join(timeout=60)  # loading in the background: the service answers meanwhile
        assert ((UMING, MICROHEI) in fonts._chosen) == preload
