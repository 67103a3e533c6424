"""The ReDoc page served from this server only.

fastapi-offline ships ReDoc's bundle, whose sidebar footer loads the Redocly logo from cdn.redoc.ly; the
bundle is served here with that image replaced by a link in words, so opening `/redoc` fetches nothing remote."""

from functools import cache
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html
from starlette.responses import HTMLResponse, Response

REMOTE_LOGO = b"https://cdn.redoc.ly/redoc/logo-mini.svg"
# A one-pixel transparent GIF: the footer keeps its layout, nothing is fetched.
BLANK = b"data:image/gif;base64,R0lGODlhAQABAAAAACH5BAEKAAEALAAAAAABAAEAAAICTAEAOw=="
BUNDLE_PATH = "/docs-assets/redoc.standalone.js"


@cache
def _bundle() -> bytes:
    source = (Path(fastapi_offline.__file__).parent / "static" / "redoc.standalone.js").read_bytes()
    return source.replace(REMOTE_LOGO, BLANK)


def install(app: FastAPI, static_url: str = "/static-offline-docs") -> None:
    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{BUNDLE_PATH}",
            with_google_fonts=False,
            redoc_favicon_url=f"{root}{static_url}/favicon.png",
        )

    @app.get(BUNDLE_PATH, include_in_schema=False)
    async def redoc_bundle() -> Response:
        return Response(_bundle(), media_type="text/javascript", headers={"Cache-Control": "public, max-age=3600"})
