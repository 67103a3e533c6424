"""Images are decoded whole before they are accepted: first bytes of a PNG or JPEG are not enough."""

import httpx
import pytest
from fastapi import FastAPI

from app.attachments import sniff
from tests.attachments import files
from tests.attachments.conftest import World
from tests.attachments.test_upload import files_on_disk, rows, upload


@pytest.mark.parametrize(
    ("content", "filename", "reason"),
    [
        (files.PNG_HEADER_HTML, "photo.png", "unreadable_image"),
        (files.JPEG_HEADER_HTML, "photo.jpg", "unreadable_image"),
        (files.PNG[:-30], "cut.png", "unreadable_image"),
        (files.JPEG[:-40], "cut.jpg", "unreadable_image"),
        (files.PNG + b"<html><script>alert(1)</script></html>", "tail.png", "trailing_data"),
        (files.png_declaring(8000, 8000), "bomb.png", "image_too_large"),
        (files.png_declaring(100, 100), "empty.png", "unreadable_image"),
    ],
    ids=[
        "html_behind_png_header",
        "html_behind_jpeg_header",
        "truncated_png",
        "truncated_jpeg",
        "data_after_iend",
        "64_megapixels",
        "no_pixel_data",
    ],
)
async def test_an_image_that_does_not_decode_whole_is_refused(
    client: httpx.AsyncClient, app: FastAPI, world: World, settings, content: bytes, filename: str, reason: str
) -> None:
    response = await upload(client, world, content, filename=filename, kind="evidence")
    assert response.status_code == 415, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "unsupported_media_type" and response.json()["reason"] == reason
    assert rows(app) == [] and files_on_disk(settings) == []


async def test_real_pictures_are_accepted(client: httpx.AsyncClient, world: World) -> None:
    for content, filename, file_type in [
        (files.image("png", (1200, 900)), "现场.png", "png"),
        (files.image("jpeg", (2000, 1500)), "现场.jpg", "jpeg"),
    ]:
        response = await upload(client, world, content, filename=filename, kind="evidence")
        assert response.status_code == 201, response.text
        assert response.json()["file_type"] == file_type


def test_the_pixel_limit_is_below_pillows_own_bomb_threshold() -> None:
    from PIL import Image

    assert Image.MAX_IMAGE_PIXELS is not None and sniff.MAX_IMAGE_PIXELS < Image.MAX_IMAGE_PIXELS


_HTML = b"<html><body><script>alert(document.cookie)</script></body></html>"
_END_MARKERS = {"png": b"\x00\x00\x00\x00IEND\xaeB`\x82", "jpeg": b"\xff\xd9"}


@pytest.mark.parametrize("file_type", ["png", "jpeg"])
@pytest.mark.parametrize("payload", ["html", "zip", "html_then_end_marker"])
async def test_an_image_with_a_payload_behind_its_end_is_refused(
    client: httpx.AsyncClient, app: FastAPI, world: World, settings, file_type: str, payload: str
) -> None:
    """A picture that decodes whole but carries an HTML page or a ZIP after its end marker (a polyglot) is
    refused with 415 ``trailing_data`` — also when the tail itself ends with a copy of the end marker —
    and nothing is stored."""
    picture = files.image(file_type, (320, 240))
    tail = {"html": _HTML, "zip": files.plain_zip(), "html_then_end_marker": _HTML + _END_MARKERS[file_type]}[payload]
    response = await upload(client, world, picture + tail, filename=f"photo.{file_type}", kind="evidence")
    assert response.status_code == 415, response.text
    assert response.json()["reason"] == "trailing_data"
    assert rows(app) == [] and files_on_disk(settings) == []


@pytest.mark.parametrize(
    ("tail", "accepted"),
    [(b"", True), (b"\r\n  \n", True), (_HTML, False), (b"\n" + files.plain_zip(), False)],
    ids=["nothing", "whitespace", "html", "zip"],
)
async def test_a_pdf_is_refused_with_data_after_its_last_eof_beyond_whitespace(
    client: httpx.AsyncClient, app: FastAPI, world: World, settings, tail: bytes, accepted: bool
) -> None:
    """Only white space may follow a PDF's last ``%%EOF``: anything else is 415 ``trailing_data``."""
    response = await upload(client, world, files.pdf() + tail, filename="form.pdf", kind="evidence")
    if accepted:
        assert response.status_code == 201, response.text
        return
    assert response.status_code == 415, response.text
    assert response.json()["reason"] == "trailing_data"
    assert rows(app) == [] and files_on_disk(settings) == []


def test_a_progressive_jpeg_with_restart_markers_ends_where_its_eoi_is() -> None:
    """The segment walk follows progressive scans and restart intervals to the real EOI (no false refusal)."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (257, 129), (10, 200, 30)).save(out, "JPEG", progressive=True, restart_marker_blocks=1)
    data = out.getvalue()
    import mmap
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "p.jpg"
        path.write_bytes(data)
        sniff.check_image(path, "jpeg")
        path.write_bytes(data + _HTML)
        with pytest.raises(sniff.Refused, match="trailing_data"):
            sniff.check_image(path, "jpeg")
        with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
            assert sniff._jpeg_end(mapped) == len(data)


async def test_image_decodes_at_once_are_limited_per_process(
    client: httpx.AsyncClient, app: FastAPI, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Six pictures uploaded at once with ``max_concurrent_file_checks`` 2: every one is checked and
    stored, never more than two checks (decodes holding every pixel) at a time."""
    import asyncio
    import threading

    from app.attachments import service

    app.state.settings = app.state.settings.model_copy(update={"max_concurrent_file_checks": 2})
    running, most = 0, 0
    lock = threading.Lock()
    real = service.detect

    def counted(*args):  # type: ignore[no-untyped-def]
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        try:
            return real(*args)
        finally:
            with lock:
                running -= 1

    monkeypatch.setattr(service, "detect", counted)
    pictures = [files.image("png", (900 + i, 700)) for i in range(6)]
    # If-Match "*": each upload moves the application's version, and all six are meant to be stored.
    headers = {**world.applicant.headers, "If-Match": "*"}
    responses = await asyncio.gather(
        *[
            client.post(
                f"/api/v1/applications/{world.application_id}/attachments",
                headers=headers,
                data={"kind": "evidence"},
                files={"file": (f"p{i}.png", p, "application/octet-stream")},
            )
            for i, p in enumerate(pictures)
        ]
    )
    assert [r.status_code for r in responses] == [201] * 6, [r.text for r in responses]
    assert 1 <= most <= 2
