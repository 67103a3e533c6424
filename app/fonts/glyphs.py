"""Fonts tried character by character: each character is drawn by the first face whose glyph table has it.

A Chinese font often lacks Latin letters and digits (Droid Sans Fallback has none), and few have the
decision marks ■ □; a :class:`FontChain` puts Latin and mark faces after the Chinese one, so every
character is drawn by a font that has it, and a character no face has is found before anything is drawn
(``missing``) rather than printed blank.
"""

import unicodedata
from dataclasses import dataclass
from xml.sax.saxutils import escape

from reportlab.pdfbase.pdfmetrics import getFont


@dataclass(frozen=True, slots=True)
class Face:
    """A registered TrueType face: reportlab's name for it, its file, its family and its glyph table."""

    name: str
    file: str
    family: str
    glyphs: frozenset[int]


def drawn(ch: str) -> bool:
    """Whether a character leaves a mark to look for: control and format characters (a tab, a zero-width
    space) print nothing and are left out."""
    return unicodedata.category(ch) not in ("Cc", "Cf")


def code_point(ch: str) -> str:
    return f"U+{ord(ch):04X}"


class FontChain:
    """Faces tried in order for each character; widths and runs come from the face that draws it."""

    def __init__(self, faces: tuple[Face, ...]) -> None:
        self.faces = faces
        self._face: dict[str, Face | None] = {}
        self._width: dict[str, float] = {}  # advance of a character at 1 pt

    @property
    def first(self) -> str:
        return self.faces[0].name

    def face_of(self, ch: str) -> Face | None:
        face = self._face.get(ch, self)  # self: not looked up yet
        if face is self:
            point = ord(ch)
            face = self._face[ch] = next((f for f in self.faces if point in f.glyphs), None)
        return face  # type: ignore[return-value]

    def missing(self, text: str) -> list[str]:
        """The characters of ``text`` that print and that no face has, in code point order."""
        return sorted(ch for ch in set(text) if self.face_of(ch) is None and drawn(ch))

    def runs(self, text: str) -> list[tuple[str, str]]:
        """``text`` cut into (registered font name, characters) runs; non-printing characters left out.
        Text is checked with ``missing`` before it is drawn: a character no face has raises ``LookupError``."""
        runs: list[tuple[str, str]] = []
        name, chars = "", list[str]()
        for ch in text:
            face = self.face_of(ch)
            if face is None:
                if drawn(ch):
                    raise LookupError(code_point(ch))
                continue
            if face.name != name and chars:
                runs.append((name, "".join(chars)))
                chars = []
            name = face.name
            chars.append(ch)
        if chars:
            runs.append((name, "".join(chars)))
        return runs

    def width(self, text: str, size: float) -> float:
        total = 0.0
        widths = self._width
        for ch in text:
            w = widths.get(ch)
            if w is None:
                face = self.face_of(ch)
                w = widths[ch] = getFont(face.name).stringWidth(ch, 1) if face is not None else 0.0
            total += w
        return total * size

    def markup(self, text: str) -> str:
        """``text`` as Paragraph markup, each run in the face that has its glyphs."""
        return "".join(f'<font face="{name}">{escape(chars)}</font>' for name, chars in self.runs(text))

    def draw(self, canvas: object, x: float, y: float, text: str, size: float, align: str = "left") -> None:
        """Draws one line at ``(x, y)`` (its left end, right end or centre as ``align`` says)."""
        if align == "right":
            x -= self.width(text, size)
        elif align == "center":
            x -= self.width(text, size) / 2
        out = canvas.beginText(x, y)  # type: ignore[attr-defined]
        for name, chars in self.runs(text):
            out.setFont(name, size)
            out.textOut(chars)
        canvas.drawText(out)  # type: ignore[attr-defined]
