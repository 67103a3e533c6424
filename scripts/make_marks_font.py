"""Builds app/fonts/fontfiles/SmpsMarks.ttf: the decision marks ■ □ drawn as plain squares.

The form ticks its choices with ■ and □; a machine whose only Chinese font lacks them (Droid Sans
Fallback) still prints them from this font, which ships with the service. Run once when the glyphs
change (fontTools is needed only here): ``.venv-tools/bin/uv run --no-project --with fonttools python
scripts/make_marks_font.py``.
"""

from pathlib import Path

from fontTools.fontBuilder import FontBuilder
from fontTools.pens.ttGlyphPen import TTGlyphPen

EM = 1000
OUTER = (120, -40, 880, 720)  # x0, y0, x1, y1: a full-width square on the baseline, as CJK fonts set it
STROKE = 70


def _square(pen: TTGlyphPen, x0: int, y0: int, x1: int, y1: int, clockwise: bool) -> None:
    points = [(x0, y0), (x0, y1), (x1, y1), (x1, y0)] if clockwise else [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
    pen.moveTo(points[0])
    for point in points[1:]:
        pen.lineTo(point)
    pen.closePath()


def _glyph(hollow: bool | None) -> object:
    pen = TTGlyphPen(None)
    if hollow is not None:
        _square(pen, *OUTER, clockwise=True)
        if hollow:
            x0, y0, x1, y1 = OUTER
            _square(pen, x0 + STROKE, y0 + STROKE, x1 - STROKE, y1 - STROKE, clockwise=False)
    return pen.glyph()


def build(path: Path) -> None:
    order = [".notdef", "space", "filledSquare", "whiteSquare"]
    fb = FontBuilder(EM, isTTF=True)
    fb.setupGlyphOrder(order)
    fb.setupCharacterMap({0x20: "space", 0x25A0: "filledSquare", 0x25A1: "whiteSquare"})
    fb.setupGlyf(
        {".notdef": _glyph(None), "space": _glyph(None), "filledSquare": _glyph(False), "whiteSquare": _glyph(True)}
    )
    fb.setupHorizontalMetrics({name: (EM if name != "space" else EM // 3, 0) for name in order})
    fb.setupHorizontalHeader(ascent=880, descent=-120)
    fb.setupNameTable({"familyName": "SMPS Marks", "styleName": "Regular"})
    fb.setupOS2(sTypoAscender=880, sTypoDescender=-120, usWinAscent=880, usWinDescent=120)
    fb.setupPost()
    fb.save(str(path))


if __name__ == "__main__":
    build(Path(__file__).resolve().parent.parent / "app" / "fonts" / "fontfiles" / "SmpsMarks.ttf")
