"""The web portal (portal/, built by Vite into ``static/``) served at ``/portal/``: its hashed assets as
files, every other path the single page's index.html (the portal routes in the browser), each answer
with a strict Content-Security-Policy (nothing but this origin; downloads open as blob: URLs)."""

from pathlib import Path

from fastapi import APIRouter, HTTPException
from starlette.responses import FileResponse, RedirectResponse, Response

STATIC_DIR = Path(__file__).parent / "static"
PREFIX = "/portal"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; "
    "frame-src blob:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}

router = APIRouter(include_in_schema=False)


@router.get(PREFIX)
def portal_root() -> Response:
    return RedirectResponse(f"{PREFIX}/", status_code=308)


@router.get(PREFIX + "/{path:path}")
def portal(path: str) -> Response:
    index = STATIC_DIR / "index.html"
    if not index.is_file():
        raise HTTPException(404)
    if path.startswith("assets/"):
        asset = (STATIC_DIR / path).resolve()
        if not asset.is_relative_to(STATIC_DIR.resolve()) or not asset.is_file():
            raise HTTPException(404)
        # Hashed names: a new build is a new URL, so an asset never changes.
        headers = {**SECURITY_HEADERS, "Cache-Control": "public, max-age=31536000, immutable"}
        return FileResponse(asset, headers=headers)
    return FileResponse(index, media_type="text/html", headers={**SECURITY_HEADERS, "Cache-Control": "no-cache"})
