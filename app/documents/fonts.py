"""Finding fonts with Chinese glyphs that reportlab can embed (TrueType outlines; CFF-based OTF won't do).

The form is set like an official paper: a 宋体/明体-style serif for the body (AR PL UMing, Debian
``fonts-arphic-uming``) and a heavier 黑体-style face for titles and headings (WenQuanYi Micro Hei,
``fonts-wqy-microhei``). Noto Serif CJK (``fonts-noto-cjk``) would look the part but ships CFF outlines,
which reportlab cannot embed.
"""

import threading
from dataclasses import dataclass
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from app.core.errors import AppError
from app.core.i18n import Text

# Serif (宋体/明体) TrueType CJK fonts of common distributions, best first; sans faces after them
# so that a machine with only a sans font still prints.
BODY_CANDIDATES = (
    "/usr/share/fonts/truetype/arphic/uming.ttc",  # index 0: AR PL UMing CN (simplified forms)
    "/usr/share/fonts/truetype/arphic-gbsn00lp/gbsn00lp.ttf",
    "/System/Library/Fonts/Supplemental/Songti.ttc",
    "C:/Windows/Fonts/simsun.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/wqy-microhei/wqy-microhei.ttc",
    "/usr/share/fonts/google-droid/DroidSansFallback.ttf",
    "/System/Library/Fonts/STHeiti Light.ttc",
    "C:/Windows/Fonts/simhei.ttf",
    # CFF-based: reportlab refuses them, tried last in case a build accepts them.
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
)
# Heavier faces (黑体) for the title and headings; without one the body face is used.
TITLE_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/wqy-microhei/wqy-microhei.ttc",
    "/System/Library/Fonts/STHeiti Medium.ttc",
    "C:/Windows/Fonts/simhei.ttf",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
)


class FontUnavailable(AppError):
    status = 503
    code = "font_unavailable"
    title = Text("缺少中文字体，无法生成文件", "No Chinese font available to render the document")


@dataclass(frozen=True, slots=True)
class FormFonts:
    """Registered reportlab font names, and the files they came from (part of the rendered form's cache key)."""

    body: str
    title: str
    files: tuple[str, str]


_lock = threading.Lock()
_registered: dict[str, str] = {}
# The faces chosen for each configuration (looking them up walks the candidate paths: most of a stored
# form's request, ``python -m bench.form_pdf``). Not kept when there is none, so a font installed later is found.
_chosen: dict[tuple[Path | None, Path | None], FormFonts] = {}


def _register(path: Path) -> str | None:
    key = str(path)
    if key in _registered:
        return _registered[key]
    if not path.is_file():
        return None
    name = f"SmpsCJK{len(_registered)}"
    try:
        pdfmetrics.registerFont(
            TTFont(name, key, subfontIndex=0) if key.lower().endswith(".ttc") else TTFont(name, key)
        )
    except Exception:  # noqa: BLE001 — unreadable or PostScript-outline font: try the next one
        return None
    _registered[key] = name
    return name


def _first(paths: list[Path]) -> tuple[str, str] | None:
    for path in paths:
        name = _register(path)
        if name:
            return name, str(path)
    return None


def form_fonts(configured: Path | None, configured_title: Path | None = None) -> FormFonts:
    """The body and title faces; 503 ``font_unavailable`` when there is no body face.

    A configured body font (``SMPS_CJK_FONT``) is used as given; the title face is ``SMPS_CJK_TITLE_FONT``,
    else the first heavier face found, else the body face.
    """
    chosen = _chosen.get((configured, configured_title))
    if chosen is not None:  # a face once found stays: fonts change with a deployment, which restarts
        return chosen
    with _lock:
        body = _first([configured] if configured else [Path(p) for p in BODY_CANDIDATES])
        if body is None:
            raise FontUnavailable(
                Text(
                    "服务器未安装可嵌入的中文字体（可设置 SMPS_CJK_FONT）",
                    "The server has no embeddable Chinese font (set SMPS_CJK_FONT)",
                )
            )
        title = _first([configured_title] if configured_title else [Path(p) for p in TITLE_CANDIDATES]) or body
        chosen = _chosen[(configured, configured_title)] = FormFonts(body[0], title[0], (body[1], title[1]))
    return chosen


def cjk_font(configured: Path | None) -> str:
    """The registered font name to draw Chinese text with; 503 ``font_unavailable`` when there is none."""
    return form_fonts(configured).body
