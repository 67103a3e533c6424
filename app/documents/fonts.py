"""Finding a font with Chinese glyphs that reportlab can embed (TrueType outlines; CFF-based OTF won't do)."""

import threading
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from app.core.errors import AppError
from app.core.i18n import Text

# TrueType-outline CJK fonts of common distributions, best first.
CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/usr/share/fonts/wqy-microhei/wqy-microhei.ttc",
    "/usr/share/fonts/google-droid/DroidSansFallback.ttf",
    "/System/Library/Fonts/STHeiti Light.ttc",
    "C:/Windows/Fonts/simhei.ttf",
    # CFF-based: reportlab refuses them, tried last in case a build accepts them.
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
)


class FontUnavailable(AppError):
    status = 503
    code = "font_unavailable"
    title = Text("缺少中文字体，无法生成文件", "No Chinese font available to render the document")


_lock = threading.Lock()
_registered: dict[str, str] = {}


def _register(path: Path) -> str | None:
    key = str(path)
    if key in _registered:
        return _registered[key]
    if not path.is_file():
        return None
    name = f"SmpsCJK{len(_registered)}"
    try:
        pdfmetrics.registerFont(TTFont(name, key, subfontIndex=0) if key.lower().endswith(".ttc") else TTFont(name, key))
    except Exception:  # noqa: BLE001 — unreadable or PostScript-outline font: try the next one
        return None
    _registered[key] = name
    return name


def cjk_font(configured: Path | None) -> str:
    """The registered font name to draw Chinese text with; 503 ``font_unavailable`` when there is none."""
    with _lock:
        paths = [configured] if configured else [Path(p) for p in CANDIDATES]
        for path in paths:
            name = _register(path)
            if name:
                return name
    raise FontUnavailable(Text("服务器未安装可嵌入的中文字体（可设置 SMPS_CJK_FONT）",
                               "The server has no embeddable Chinese font (set SMPS_CJK_FONT)"))
