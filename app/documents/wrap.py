"""Breaking Chinese text into lines the way it is set on paper.

reportlab's CJK wrapping may break after any character, so a standard code (``GB/T 32169.1-2015``), a
document number (``国标委发〔2023〕5号``), an amount (``1,200,000 元``) or a bracketed phrase could be torn
across two lines. Text is therefore cut into units that must stay whole, and lines are filled here with
the font's own metrics; the paragraph then only ever receives lines that fit.
"""

import re

from reportlab.pdfbase.pdfmetrics import stringWidth

_OPEN = "（(〔《【[「『〈“‘"
_CLOSE = "）)〕》】]」』〉”’"
# Characters that may not start a line (标点禁则): they stay with what precedes them.
_NO_START = _CLOSE + "，。、；：？！,.;:?!…—%％·～~"
# A bracketed phrase short enough to keep on one line; longer ones may break inside.
_GROUP = re.compile(rf"[{re.escape(_OPEN)}][^{re.escape(_OPEN + _CLOSE)}\n]{{0,30}}[{re.escape(_CLOSE)}]")
_ASCII = re.compile(r"[!-~]+")
_SPACE = re.compile(r"[ \t\u3000]+")


def _atoms(text: str) -> list[str]:
    atoms: list[str] = []
    i = 0
    while i < len(text):
        for pattern in (_GROUP, _ASCII, _SPACE):
            m = pattern.match(text, i)
            if m:
                atoms.append(m.group())
                i = m.end()
                break
        else:
            atoms.append(text[i])
            i += 1
    return atoms


def _is_ascii(atom: str) -> bool:
    return bool(_ASCII.fullmatch(atom))


def units(text: str) -> list[str]:
    """The text as a list of pieces no line break may fall inside (spaces are pieces of their own)."""
    out: list[str] = []
    atoms = _atoms(text)
    i = 0
    while i < len(atoms):
        atom = atoms[i]
        prev = out[-1] if out else ""
        joined = False
        if out and not prev.isspace():
            if atom[0] in _NO_START and not _GROUP.fullmatch(atom):
                joined = True  # closing punctuation hangs on the previous unit
            elif prev[-1] in _OPEN and not _GROUP.fullmatch(prev):
                joined = True  # an opening bracket never ends a line
            elif (_is_ascii(atom) and (prev[-1] in _CLOSE or _is_ascii(prev[-1:]))) or (
                    atom[0] in _OPEN and _is_ascii(prev[-1:])):
                joined = True  # 〔2023〕5号, GB/T32169: brackets and codes glued to their digits
        # "GB/T 32169.1-2015", "ISO 9001", "1,200,000 元": a space inside a code or before a unit is no break.
        if (atom.isspace() and atom.startswith(" ") and out and _is_ascii(prev.split(" ")[-1] or "-")
                and i + 1 < len(atoms)):
            nxt = atoms[i + 1]
            code = prev[-1].isalpha() or prev[-1] == "/"
            if (code and nxt[0].isdigit() and _is_ascii(nxt)) or (prev[-1].isdigit() and not _is_ascii(nxt[0])):
                out[-1] = prev + " " + nxt
                i += 2
                continue
        if joined:
            out[-1] = prev + atom
        else:
            out.append(atom)
        i += 1
    return out


def _split_long(unit: str, font: str, size: float, width: float) -> list[str]:
    """A unit wider than a line (a 200-character code) broken where it must be."""
    pieces, line = [], ""
    for ch in unit:
        if line and stringWidth(line + ch, font, size) > width:
            pieces.append(line)
            line = ""
        line += ch
    return [*pieces, line] if line else pieces


def wrap_lines(text: str, font: str, size: float, width: float) -> list[str]:
    """``text`` filled into lines no wider than ``width`` points; its own line breaks are kept."""
    lines: list[str] = []
    for paragraph in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line, line_width = "", 0.0
        for unit in units(paragraph):
            w = stringWidth(unit, font, size)
            if line and line_width + w > width:
                lines.append(line.rstrip())
                line, line_width = "", 0.0
            if not line and unit.isspace():
                continue
            if w > width:
                *full, unit = _split_long(unit, font, size, width)
                lines.extend(full)
                w = stringWidth(unit, font, size)
            line += unit
            line_width += w
        lines.append(line.rstrip())
    return lines
