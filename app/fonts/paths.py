"""Where the faces of the printed documents are looked for (no import beyond reportlab's own package,
so that ``make run``'s hint, ``app.documents.font_hint``, starts fast)."""

from pathlib import Path

import reportlab

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
_BUNDLED = Path(reportlab.__file__).parent / "fonts"
# What a Chinese face lacks, for the body and for the titles: a system face if there is one, then reportlab's own.
BODY_FALLBACKS = ("/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf", str(_BUNDLED / "Vera.ttf"))
TITLE_FALLBACKS = ("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf", str(_BUNDLED / "VeraBd.ttf"))
MARKS = str(Path(__file__).parent / "fontfiles" / "SmpsMarks.ttf")  # ■ □ (scripts/make_marks_font.py)
# The faces of the official look and the Debian packages that give them.
RECOMMENDED = {
    "/usr/share/fonts/truetype/arphic/uming.ttc": "fonts-arphic-uming",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc": "fonts-wqy-microhei",
}
