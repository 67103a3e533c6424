"""Breaking Chinese text into lines the way it is set on paper.

reportlab's CJK wrapping may break after any character, so a standard code (``GB/T 32169.1-2015``), a
document number (``国标委发〔2023〕5号``), an amount (``1,200,000 元``) or a bracketed phrase could be torn
across two lines. Text is therefore cut into units that must stay whole, and lines are filled here with
the metrics of the faces that draw them (``app.documents.lines`` draws them as they are).
"""

import re

from app.fonts.glyphs import FontChain

_OPEN = re.escape("（(〔《【[「『〈“‘")
_CLOSE = re.escape("）)〕》】]」』〉”’")
# Characters that may not start a line (标点禁则): they stay with what precedes them.
_NO_START = _CLOSE + re.escape("，。、；：？！…—%％·～")
# A bracketed phrase short enough to keep on one line; longer ones may break inside.
_GROUP = rf"[{_OPEN}][^{_OPEN}{_CLOSE}\n]{{0,30}}[{_CLOSE}]"
# A code: printable ASCII, with a space kept where digits follow a letter or slash ("GB/T 32169", "ISO 9001").
_CODE = r"[!-~]+(?:(?<=[A-Za-z/]) (?=\d)[!-~]+)*"
# Codes and brackets glued to each other (〔2023〕5), and a number to its unit ("1,200,000 元", "5号", "第1条").
_WORD = rf"(?:{_GROUP}|{_CODE})+(?:(?<=\d) ?[^\x00-\x7f\s{_OPEN}])?"
_UNIT = re.compile(rf"[ \t\u3000]+|[{_OPEN}]*?(?:{_WORD}|.)[{_NO_START}]*")


def units(text: str) -> list[str]:
    """The text as a list of pieces no line break may fall inside (spaces are pieces of their own)."""
    return _UNIT.findall(text)


def wrap_lines(text: str, font: FontChain, size: float, width: float) -> list[str]:
    """``text`` filled into lines no wider than ``width`` points, each character measured in the face
    that draws it; its own line breaks are kept."""
    measure = font.width
    lines: list[str] = []
    for paragraph in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line: list[str] = []
        line_width = 0.0
        for unit in units(paragraph):
            w = measure(unit, size)
            if line and line_width + w > width:
                lines.append("".join(line).rstrip())
                line, line_width = [], 0.0
            if not line and unit.isspace():
                continue
            if w > width:  # a unit wider than a line (a 100-character code) breaks where it must
                for ch in unit:
                    cw = measure(ch, size)
                    if line and line_width + cw > width:
                        lines.append("".join(line))
                        line, line_width = [], 0.0
                    line.append(ch)
                    line_width += cw
                continue
            line.append(unit)
            line_width += w
        lines.append("".join(line).rstrip())
    return lines
