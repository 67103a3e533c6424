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
        (files.PNG + b"<html><script>alert(1)</script></html>", "tail.png", "unreadable_image"),
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
